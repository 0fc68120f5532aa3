"""Appendix figures p. 26-27 of Ren & Liu 2024, reconstructed: random-feature attention against
exact softmax attention as the number of features d_r grows (heat maps; MSE and MAE)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import register_figure
from ._style import panel_label, plt, save_figure, style
from .dual_common import add_caption

__all__ = ["make_heatmaps", "make_errors", "plot_heatmaps", "plot_errors"]


def plot_heatmaps(study, path):
    """Panels (a)-(d): Â for four d_r (seed 0); (e): the exact attention matrix."""
    mats = list(study.heatmaps) + [study.exact_attention]
    titles = [rf"$d_r = {d}$" for d in study.heatmap_features] + ["exact softmax"]
    vmax = float(np.quantile(study.exact_attention, 0.995))
    with style():
        fig, axes = plt.subplots(1, len(mats), figsize=(1.75 * len(mats) + 0.6, 2.2),
                                 constrained_layout=True)
        for i, (ax, mat, title) in enumerate(zip(axes, mats, titles)):
            im = ax.imshow(mat, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel("query token $j$")
            ax.set_xlabel("key token $i$")
            panel_label(ax, "abcdefgh"[i])
        cb = fig.colorbar(im, ax=axes, shrink=0.85, pad=0.01)
        cb.set_label("attention weight $A_{ji}$")
        p = study.parameters
        mae = [np.mean(np.abs(m - study.exact_attention)) for m in study.heatmaps]
        add_caption(fig, (
            "Attention matrices (mode 'full', T = N+1 = " + f"{p['context_length'] + 1} tokens, "
            f"d_i = d_o = {p['dim']}, token scale {p['token_scale']}) from positive random "
            "features against the exact softmax matrix; the colour scale is clipped at the "
            "exact matrix's 99.5% quantile. Mean absolute errors: " +
            ", ".join(f"{v:.2g}" for v in mae) + "."), width=125)
        return save_figure(fig, path)


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


def _study(quick, rng, progress, options):
    from ..dual.studies import approximation_study

    settings = dict(dim=8, context_length=15, n_seeds=4 if quick else 10,
                    n_features=[2 ** k for k in range(2, 13 if quick else 17)],
                    heatmap_features=(4, 32, 256, 4096))
    settings.update(options)
    return approximation_study(rng=rng, progress=progress, **settings)


@register_figure("dual-heatmaps", "Ren & Liu p. 26: random-feature attention matrices for "
                 "several d_r and the exact softmax matrix (reconstruction)")
def make_heatmaps(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    options = {"n_features": [4, 16], "n_seeds": 2, "fit_min": 4, **options}
    study = _study(quick, rng, progress, options)
    out_dir = Path(out_dir)
    files = study.save(out_dir, "dual_heatmaps")
    png = plot_heatmaps(study, out_dir / "dual_heatmaps.png")
    return [files["npz"], files["json"], png]


@register_figure("dual-mse-mae", "Ren & Liu p. 27: MSE and MAE of random-feature attention "
                 "and output matrices against d_r, with fitted slopes (reconstruction)")
def make_errors(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    study = _study(quick, rng, progress, options)
    out_dir = Path(out_dir)
    files = study.save(out_dir, "dual_mse_mae")
    png = plot_errors(study, out_dir / "dual_mse_mae.png")
    return [files["npz"], files["json"], png]
