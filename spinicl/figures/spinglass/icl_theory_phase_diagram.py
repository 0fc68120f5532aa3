"""ICL error of the exact Boltzmann mean over (N/D, P/D²) at finite D, with the replica-symmetric
theory's contours (D → ∞) drawn on top. Runs as a resumable sweep under ``<out>/icl-theory-sweep``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import cell_edges as _edges
from .._common import sweep_outputs_beside
from .._style import panel_label, plt, save_figure, style
from ...experiments.phase_sweeps import icl_theory_phase_diagram

__all__ = ["make"]


@register_figure("icl-theory-phase-diagram",
                 "ICL error over (N/D, P/D²): finite-D exact measure with replica-theory contours")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
         dim: int | None = None, l2: float = 1e-2, repeats: int | None = None,
         executor: str = "process", workers=None):
    """Data: :func:`spinicl.experiments.phase_sweeps.icl_theory_phase_diagram`."""
    out_dir = Path(out_dir)
    data = icl_theory_phase_diagram(out_dir, quick=quick, rng=rng, progress=progress, dim=dim,
                                    l2=l2, repeats=repeats, executor=executor, workers=workers)
    result, dim = data["result"], data["dim"]
    spec = result.spec
    a, t = data["alpha"], data["tau"]
    a_fine, t_fine = data["alpha_fine"], data["tau_fine"]
    finite = result.mean("icl_error")
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.2), constrained_layout=True)
        levels = np.round(np.geomspace(0.25, 2.0, 7), 2)
        mesh = ax.pcolormesh(_edges(t), _edges(a), np.log10(finite), cmap="viridis_r",
                             vmin=np.log10(levels[0]), vmax=np.log10(levels[-1]),
                             shading="flat", rasterized=True)
        cs = ax.contour(t_fine, a_fine, data["theory_icl"], levels=levels, colors="w",
                        linewidths=0.8)
        ax.clabel(cs, fmt="%.2g", fontsize=6.5)
        fig.colorbar(mesh, ax=ax, pad=0.02).set_label(
            rf"$\log_{{10}} e_{{\mathrm{{ICL}}}}$, exact measure, $D={dim}$")
        ax.axvline(1.0, color="w", ls=":", lw=0.8)
        ax.set_xlabel(r"task diversity $\tau = P/D^2$")
        ax.set_ylabel(r"context length $\alpha = N/D$")
        ax.set_title("finite size (colour) vs replica theory (contours)")
        panel_label(ax, "a")
        rows = sorted(set(np.linspace(0, a.size - 1, min(3, a.size)).round().astype(int)))
        colours = plt.cm.viridis(np.linspace(0.1, 0.8, len(rows)))
        for colour, i in zip(colours, rows):
            ax2.errorbar(t, finite[i], yerr=np.std(result.data["icl_error"][i], -1, ddof=1)
                         / np.sqrt(spec.repeats), fmt="o", ms=2.5, color=colour, capsize=1.5,
                         label=rf"$\alpha={a[i]:.2g}$, $D={dim}$")
            ax2.plot(t_fine, data["theory_rows"][i], color=colour, lw=1.1)
        ax2.plot([], [], color="0.3", label=r"replica theory, $D\to\infty$")
        ax2.set_yscale("log")
        ax2.set_xlabel(r"$\tau = P/D^2$")
        ax2.set_ylabel(r"$e_{\mathrm{ICL}}$ of the Boltzmann mean")
        ax2.legend(frameon=False, fontsize=7)
        panel_label(ax2, "b")
        fig.suptitle(rf"ICL phase diagram: $\lambda_0={l2:g}$ ($\lambda=D\lambda_0$ in the "
                     rf"theory), fresh tasks, {spec.repeats} disorder draws", fontsize=8.5)
        png = save_figure(fig, out_dir / "icl-theory-phase-diagram.png")
    return [*sweep_outputs_beside(result, out_dir), png]
