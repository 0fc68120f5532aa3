"""Ren & Liu 2024, appendix p. 27, reconstructed: MSE and MAE of random-feature attention and
output matrices against the number of features d_r, with fitted slopes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import add_reconstruction_caption as add_caption
from .._style import panel_label, plt, save_figure, style
from ...experiments.dual_approximation import run_approximation_study

__all__ = ["make", "plot_errors"]


def plot_errors(study, path):
    """(a) attention matrix, (b) output matrix: MSE and MAE against d_r with fitted slopes."""
    d = study.n_features.astype(float)
    fit = d >= study.parameters["fit_min"]
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8), constrained_layout=True)
        for ax, what, letter in ((axes[0], "attention", "a"), (axes[1], "output", "b")):
            for metric, colour, marker in (("mse", "C0", "o"), ("mae", "C3", "s")):
                name = f"{what}_{metric}"
                m, se = study.mean(name), study.stderr(name)
                s = study.slopes[name]
                ax.errorbar(d, m, yerr=se, color=colour, marker=marker, ms=3, lw=1.0, capsize=1.5,
                            label=f"{metric.upper()}: slope {s['mean']:.2f} ± {s['stderr']:.2f}")
                ax.plot(d[fit], np.exp(s["intercept_of_mean"]) * d[fit] ** s["of_mean"],
                        color=colour, ls="--", lw=0.8)
            ref = study.mean(f"{what}_mae")[fit][0] * (d[fit] / d[fit][0]) ** -0.5
            ax.plot(d[fit], ref * 0.5, color="0.5", ls=":", lw=0.9, label=r"$\propto d_r^{-1/2}$")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("number of random features $d_r$")
            ax.set_ylabel("error against exact softmax")
            ax.set_title("attention matrix $A$" if what == "attention" else
                         r"output matrix $W_V H A^\top$")
            ax.legend(frameon=False, loc="lower left")
            panel_label(ax, letter)
        p = study.parameters
        add_caption(fig, (
            f"Mean squared and mean absolute error of random-feature attention (mode 'full') "
            f"against exact softmax attention, mean ± 1 s.e. over {p['n_seeds']} feature draws "
            f"({'block-orthogonal' if p['orthogonal'] else 'i.i.d.'} features, d_i = d_o = "
            f"{p['dim']}, N = {p['context_length']}, token scale {p['token_scale']}). Slopes are "
            f"log-log fits per seed over d_r >= {p['fit_min']} (mean ± s.e.); dashed: fit of the "
            f"mean. The asymptotic rates are -1 (MSE) and -1/2 (MAE); the log-normal tails of "
            f"the feature estimates make the approach slow when keys and queries are large."),
            width=120)
        return save_figure(fig, path)


@register_figure("dual-mse-mae", "Ren & Liu p. 27: MSE and MAE of random-feature attention "
                 "and output matrices against d_r, with fitted slopes (reconstruction)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    study = run_approximation_study(quick=quick, rng=rng, progress=progress, **options)
    out_dir = Path(out_dir)
    files = study.save(out_dir, "dual_mse_mae")
    png = plot_errors(study, out_dir / "dual_mse_mae.png")
    return [files["npz"], files["json"], png]
