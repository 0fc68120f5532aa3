"""The thermal contrast ratio ⟨cos∠(W, I)⟩_β over (P/D², β) from an MCMC sampler (HMC with
mass-matrix adaptation), checked cell by cell against exact draws. Runs as a resumable sweep
under ``<out>/thermal-sweep``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import cell_edges as _edges
from .._common import sweep_outputs_beside
from .._style import panel_label, plt, save_figure, style
from ...experiments.phase_sweeps import thermal_phase_diagram

__all__ = ["make"]


@register_figure("thermal-phase-diagram",
                 "Thermal contrast ratio over (P/D², β) from HMC, checked against exact draws")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
         dim: int | None = None, l2: float = 1e-2, method: str = "hmc",
         executor: str = "process", workers=None):
    """Data: :func:`spinicl.experiments.phase_sweeps.thermal_phase_diagram`."""
    out_dir = Path(out_dir)
    result = thermal_phase_diagram(out_dir, quick=quick, rng=rng, progress=progress, dim=dim,
                                   l2=l2, method=method, executor=executor, workers=workers)
    spec = result.spec
    dim = spec.parameters["dim"]
    t = spec.axes["n_prompts"] / dim**2
    b = spec.axes["beta"]
    cr = result.data["contrast_ratio"][..., 0]
    exact = result.data["exact_contrast_ratio"][..., 0]
    z = (cr - exact) / np.hypot(result.data["contrast_ratio_mcse"][..., 0],
                                result.data["exact_contrast_ratio_se"][..., 0])
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.2, 3.1), constrained_layout=True)
        mesh = ax.pcolormesh(_edges(t), _edges(np.log10(b)), cr.T, cmap="magma", vmin=0,
                             vmax=np.sqrt(dim / (dim + 1)), shading="flat", rasterized=True)
        fig.colorbar(mesh, ax=ax, pad=0.02).set_label(
            r"$\langle\cos\angle(W, I)\rangle_\beta$ (HMC)")
        ax.axvline((dim + 1) / dim, color="w", ls="--", lw=0.9)
        ax.set_xlabel(r"task diversity $P/D^2$")
        ax.set_ylabel(r"$\log_{10}\beta$")
        ax.set_title(f"thermal ICL order parameter, D={dim}")
        panel_label(ax, "a")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mesh2 = ax2.pcolormesh(_edges(t), _edges(np.log10(b)), z.T, cmap="RdBu_r", vmin=-4,
                                   vmax=4, shading="flat", rasterized=True)
        fig.colorbar(mesh2, ax=ax2, pad=0.02).set_label("(sampler − exact) / combined s.e.")
        ax2.set_xlabel(r"task diversity $P/D^2$")
        ax2.set_ylabel(r"$\log_{10}\beta$")
        ax2.set_title(f"check against exact draws ({method.upper()})")
        panel_label(ax2, "b")
        fig.suptitle(rf"$N={4 * dim}$, $\lambda_0={l2:g}$; dashed: $P=D(D+1)$", fontsize=8.5)
        png = save_figure(fig, out_dir / "thermal-phase-diagram.png")
    return [*sweep_outputs_beside(result, out_dir), png]
