"""Ren & Liu 2024, appendix p. 26, reconstructed: random-feature attention matrices for several
numbers of features d_r beside the exact softmax matrix (heat maps)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import add_reconstruction_caption as add_caption
from .._style import panel_label, plt, save_figure, style
from ...experiments.dual_approximation import run_approximation_study

__all__ = ["make", "plot_heatmaps"]


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


@register_figure("dual-heatmaps", "Ren & Liu p. 26: random-feature attention matrices for "
                 "several d_r and the exact softmax matrix (reconstruction)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    options = {"n_features": [4, 16], "n_seeds": 2, "fit_min": 4, **options}
    study = run_approximation_study(quick=quick, rng=rng, progress=progress, **options)
    out_dir = Path(out_dir)
    files = study.save(out_dir, "dual_heatmaps")
    png = plot_heatmaps(study, out_dir / "dual_heatmaps.png")
    return [files["npz"], files["json"], png]
