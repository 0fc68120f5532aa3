"""Fig. 4(a) of Li, Bai & Huang: contrast ratio of the AMP mean over (P, N) at D = 20.

Data: :func:`spinicl.experiments.amp_contrast.amp_contrast_sweep` (a resumable sweep); drawn as
the mean over converged repeats only (the authors' convergence masking: cells with no converged
repeat are white).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import sweep_outputs_beside
from .._style import panel_label, plt, save_figure, style
from ...experiments.amp_contrast import amp_contrast_sweep

__all__ = ["plot_fig4a", "make"]


def plot_fig4a(result, path=None):
    """Heat map of the repeat-averaged contrast ratio; white where no repeat converged."""
    import warnings

    spec = result.spec
    D = spec.parameters["dim"]
    Ns = spec.axes["context_length"]
    Ps = spec.axes["n_prompts"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN (white)
        cr = np.nanmean(result.data["contrast_ratio"], axis=-1)
    conv = np.mean(result.data["converged"], axis=-1) if "converged" in result.data else None
    with style():
        ncols = 2 if conv is not None else 1
        fig, axes = plt.subplots(1, ncols, figsize=(3.6 * ncols + 0.6, 3.0),
                                 constrained_layout=True, squeeze=False)
        ax = axes[0, 0]
        cmap = plt.get_cmap("magma").with_extremes(bad="white")
        mesh = ax.pcolormesh(Ps, Ns, np.ma.masked_invalid(cr), cmap=cmap, shading="nearest",
                             vmin=0, vmax=np.sqrt(D / (D + 1)), rasterized=True)
        fig.colorbar(mesh, ax=ax, pad=0.02).set_label(r"contrast ratio $\cos\angle(m, I)$")
        ax.axvline(D * (D + 1), color="w", ls="--", lw=0.9)
        ax.set_xlabel(r"number of prompts $P$ (task diversity)")
        ax.set_ylabel(r"context length $N$")
        ax.set_title(f"{'AMP (li2024)' if spec.kind == 'amp-li2024' else spec.kind} mean")
        panel_label(ax, "a")
        if conv is not None:
            ax2 = axes[0, 1]
            mesh2 = ax2.pcolormesh(Ps, Ns, conv, cmap="Greys_r", vmin=0, vmax=1,
                                   shading="nearest", rasterized=True)
            fig.colorbar(mesh2, ax=ax2, pad=0.02).set_label("fraction of repeats converged")
            ax2.set_xlabel(r"number of prompts $P$")
            ax2.set_ylabel(r"context length $N$")
            ax2.set_title("AMP convergence (error < 1e-6 in 100 it.)")
            panel_label(ax2, "b")
        fig.suptitle(rf"Fig. 4(a): $D={D}$, $\lambda_0=1$, $\beta=100$, damping 0.9, "
                     rf"{spec.repeats} repeats; dashed: $P=D(D+1)$", fontsize=8.5)
        return fig if path is None else save_figure(fig, path)


@register_figure("fig4a", "Li et al. Fig. 4(a): AMP contrast ratio over (P, N), D = 20")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, executor="process",
         workers=None, **options):
    """Run the sweep (:func:`spinicl.experiments.amp_contrast.amp_contrast_sweep`) and draw it."""
    out_dir = Path(out_dir)
    result = amp_contrast_sweep(out_dir, quick=quick, rng=rng, progress=progress,
                                executor=executor, workers=workers, **options)
    spec = result.spec
    png = plot_fig4a(result, out_dir / f"{spec.name}.png")
    return [*sweep_outputs_beside(result, out_dir), png]
