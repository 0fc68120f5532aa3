"""The generalisation bound in the number of demonstration tokens (Ren & Liu 2024, §5 of our notes):
the empirical gap of the dual model's alignment loss against N, with the Rademacher bound."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style
from .._common import add_reconstruction_caption as add_caption

__all__ = ["make", "plot_generalization"]


def plot_generalization(study, path):
    """(a) the uniform gap, the one-step gap and the bound against N; (b) gap·√N."""
    N = study.context_lengths
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), constrained_layout=True)
        ax = axes[0]
        u = study.uniform_gap
        m = u.mean(axis=1)
        se = u.std(axis=1, ddof=1) / np.sqrt(u.shape[1])
        s = study.slopes["uniform_gap"]
        ax.errorbar(N, m, yerr=se, color="C0", marker="o", ms=3, capsize=1.5,
                    label=rf"uniform gap $\sup_{{\|W\|\leq B_W}}(L-\hat L_N)$, slope "
                          f"{s['mean']:.2f} ± {s['stderr']:.2f}")
        ax.plot(N, np.exp(s["intercept_of_mean"]) * N ** s["of_mean"], color="C0", ls="--",
                lw=0.8)
        one = study.one_step_gap.mean(axis=1)
        pos = one > 0
        ax.plot(N[pos], one[pos], color="C2", marker="^", ms=3, lw=1.0,
                label=r"gap of the one-step $W_1$ (rescaled to $\|W\|_F=B_W$)")
        ax.plot(N, study.bound, color="C3", lw=1.3,
                label=rf"Rademacher bound (9), $\delta={study.constants['delta']:g}$")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("demonstration tokens $N$")
        ax.set_ylabel("generalisation gap")
        low = min(m.min(), one[pos].min() if pos.any() else m.min())
        ax.set_ylim(low / 2, study.bound.max() * 60)
        ax.legend(frameon=False, loc="upper right", fontsize=6.3)
        panel_label(ax, "a")
        ax2 = axes[1]
        ax2.errorbar(N, m * np.sqrt(N), yerr=se * np.sqrt(N), color="C0", marker="o", ms=3,
                     capsize=1.5, label=r"uniform gap $\times\sqrt{N}$")
        ax2.plot(N, study.bound * np.sqrt(N), color="C3", label=r"bound $\times\sqrt{N}$")
        ax2.set_xscale("log", base=2)
        ax2.set_yscale("log")
        ax2.set_xlabel("demonstration tokens $N$")
        ax2.set_ylabel(r"gap $\times \sqrt{N}$")
        ax2.legend(frameon=False, loc="center right")
        panel_label(ax2, "b")
        c = study.constants
        p = study.parameters
        add_caption(fig, (
            f"Per-token loss l(W; h) = -(W_V h)^T W phi(W_K h) with tokens uniform on the sphere "
            f"of radius {p['token_radius']} in R^{p['dim']}, d_r = {p['n_features']} positive "
            f"random features, B_W = {c['B_W']:g}, B_V = {c['B_V']:.3g}, B_phi = "
            f"{c['B_phi']:.3g}; population means from {p['n_population']} fresh tokens; mean ± "
            f"1 s.e. over {p['n_seeds']} draws of the N demonstrations. The bound holds at every "
            f"N and, like the gap, falls as N^-1/2 (constant in (b)); the one-step weights "
            f"align with the population direction, so their gap falls faster (N where its mean "
            f"is <= 0 are not drawn). The paper's "
            f"exact bound and constants are unavailable: (9) is the standard Rademacher bound "
            f"for this linear class."), width=120)
        return save_figure(fig, path)


@register_figure("dual-generalization", "Generalisation gap of the dual model against the "
                 "number of demonstration tokens with the Rademacher bound (reconstruction)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    from ...dual.studies import generalization_study

    settings = dict(dim=4, n_features=32, n_seeds=12 if quick else 40,
                    n_population=100_000 if quick else 1_000_000,
                    context_lengths=[2 ** k for k in range(3, 10 if quick else 13)])
    settings.update(options)
    study = generalization_study(rng=rng, progress=progress, **settings)
    out_dir = Path(out_dir)
    files = study.save(out_dir, "dual_generalization")
    png = plot_generalization(study, out_dir / "dual_generalization.png")
    return [files["npz"], files["json"], png]
