"""The separate and rank-r transformers' Boltzmann measures over (P/D², β), beside the merged one.

For each D (one row) heat maps of ⟨cos∠(W, I)⟩_β and the ICL error e(⟨W⟩) of the separate model
(W = W_Qᵀ W_K), the ICL error of the rank-r model, and the multimodality diagnostics: the worst
R̂ between chains started at different minima of H, with the smallest PT swap rate written in
each cell. White contours: e = 1 (the zero predictor's error) for the sampled model (solid) and
for the merged exact Gaussian on the same prompts (dashed); grey line P = D(D+1). Data:
:func:`spinicl.experiments.separate_measure.separate_phase_diagram` (resumable sweeps under
``<out>/separate-phase-sweep/``).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import cell_edges, sweep_outputs_beside
from .._style import panel_label, plt, save_figure, style
from ...experiments.separate_measure import ICL_LEVEL, separate_phase_diagram

__all__ = ["make"]


def _contour(ax, x, y, z, **kw):
    if z.shape[0] >= 2 and z.shape[1] >= 2 and np.nanmin(z) < ICL_LEVEL < np.nanmax(z):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ax.contour(x, y, z.T, levels=[ICL_LEVEL], colors="w", linewidths=1.0, **kw)


@register_figure("separate-phase-diagram",
                 "Separate / rank-r attention's Boltzmann measure over (P/D², β): cos∠(W, I), "
                 "ICL error, R̂ and PT swaps, with the merged threshold")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, dims=None,
         rank: int | None = None, l2: float = 1e-2, method: str = "pt",
         executor: str = "process", workers=None):
    """Data: :func:`spinicl.experiments.separate_measure.separate_phase_diagram`."""
    out_dir = Path(out_dir)
    run = separate_phase_diagram(out_dir, quick=quick, rng=rng, progress=progress, dims=dims,
                                 rank=rank, l2=l2, method=method, executor=executor,
                                 workers=workers)
    dims, rank = run["dims"], run["rank"]
    outputs = []
    with style():
        fig, axes = plt.subplots(len(dims), 4, figsize=(12.5, 2.9 * len(dims)),
                                 constrained_layout=True, squeeze=False)
        for row, dim in zip(axes, dims):
            by_model = run["results"][dim]
            for result in by_model.values():
                outputs += sweep_outputs_beside(result, out_dir)
            sep, low = "separate", f"rank-{rank}"
            first = by_model[sep]
            tau = np.asarray(first.coords["n_prompts"]) / dim**2
            lb = np.log10(np.asarray(first.coords["beta"], dtype=float))
            xe, ye = cell_edges(tau), cell_edges(lb)

            def grid(name, model):
                return by_model[model].mean(name)              # (n_prompts, beta)

            exact = grid("exact_icl_error", sep)
            panels = [
                (grid("thermal_contrast_ratio", sep), dict(cmap="magma", vmin=0,
                                                           vmax=np.sqrt(dim / (dim + 1))),
                 r"$\langle\cos\angle(W, I)\rangle_\beta$, separate", None),
                (np.log10(grid("icl_error", sep)), dict(cmap="viridis_r", vmin=-1, vmax=1),
                 r"$\log_{10} e(\langle W\rangle)$, separate", grid("icl_error", sep)),
                (np.log10(grid("icl_error", low)), dict(cmap="viridis_r", vmin=-1, vmax=1),
                 rf"$\log_{{10}} e(\langle W\rangle)$, rank {rank}", grid("icl_error", low)),
                (np.maximum(grid("r_hat", sep), grid("r_hat", low)),
                 dict(cmap="Reds", vmin=1.0, vmax=1.5), r"worst $\hat R$ (both models)", None),
            ]
            for j, (ax, (z, kw, label, err)) in enumerate(zip(row, panels)):
                mesh = ax.pcolormesh(xe, ye, z.T, shading="flat", rasterized=True, **kw)
                fig.colorbar(mesh, ax=ax, pad=0.02).set_label(label, fontsize=7.5)
                ax.axvline((dim + 1) / dim, color="0.6", lw=0.8)
                if err is not None:
                    _contour(ax, tau, lb, err)
                    _contour(ax, tau, lb, exact, linestyles="--")
                ax.set_xlabel(r"task diversity $P/D^2$")
                ax.set_ylabel(r"$\log_{10}\beta$")
                ax.set_title(f"D={dim}, N={2 * dim}", fontsize=8)
                panel_label(ax, "abcd"[j])
            swaps = np.minimum(grid("swap_min", sep), grid("swap_min", low))
            if np.isfinite(swaps).any():
                for i, t in enumerate(tau):
                    for k, b in enumerate(lb):
                        row[3].text(t, b, f"{swaps[i, k]:.2f}", ha="center", va="center",
                                    fontsize=5.5)
        fig.suptitle(rf"$\lambda_0={run['l2']:g}$, sampler {method.upper()}; white: $e=1$ "
                     r"(solid: sampled model, dashed: merged exact); numbers: min PT swap rate",
                     fontsize=8.5)
        png = save_figure(fig, out_dir / "separate-phase-diagram.png")
    return [*outputs, png]
