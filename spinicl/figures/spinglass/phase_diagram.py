"""The main job's figure: contrast ratio and ICL error of the exact measure over (N/D, P/D²)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import cell_edges as _edges
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot_phase_diagram", "make"]


def _contrast_map(ax, fig, diagram):
    D = diagram.dim
    mesh = ax.pcolormesh(_edges(diagram.prompt_ratios), _edges(diagram.context_ratios),
                         diagram.mean("contrast_ratio"), cmap="magma", vmin=0,
                         vmax=np.sqrt(D / (D + 1)), shading="flat", rasterized=True)
    cb = fig.colorbar(mesh, ax=ax, pad=0.02)
    cb.set_label(r"contrast ratio $\cos\angle(\langle W\rangle, I)$")
    ax.set_title("exact Boltzmann mean")


def plot_phase_diagram(diagram, path=None, *, ax=None):
    """Three panels: (a) contrast ratio, (b) log10 ICL error, (c) ICL error against P/D².

    The interpolation threshold P = D(D+1) is marked in every panel; (c) also shows the Gibbs
    error ⟨e⟩_β and the P → ∞ population error e(g).

    Parameters
    ----------
    diagram : spinicl.experiments.PhaseDiagram
    path : path, optional
        Save the three-panel figure there and return the path (else return the figure).
    ax : matplotlib.axes.Axes, optional
        Draw only panel (a), the contrast-ratio map, on this axis and return the axis.
    """
    x = diagram.prompt_ratios
    y = diagram.context_ratios
    thr = diagram.threshold_ratio
    p = diagram.parameters
    D = diagram.dim
    if ax is not None:
        _contrast_map(ax, ax.figure, diagram)
        ax.axvline(thr, color="w", ls="--", lw=1.0)
        ax.set_xlabel(r"task diversity $P/D^2$")
        ax.set_ylabel(r"context length $N/D$")
        return ax
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(10.2, 3.1), constrained_layout=True)
        ax = axes[0]
        _contrast_map(ax, fig, diagram)
        ax2 = axes[1]
        err = np.log10(diagram.mean("icl_error"))
        mesh2 = ax2.pcolormesh(_edges(x), _edges(y), err, cmap="viridis_r", shading="flat",
                               rasterized=True)
        cb2 = fig.colorbar(mesh2, ax=ax2, pad=0.02)
        cb2.set_label(r"$\log_{10}\, e_{\mathrm{ICL}}$ (fresh tasks)")
        ax2.set_title("in-context test error")
        for a, letter in ((ax, "a"), (ax2, "b")):
            a.axvline(thr, color="w", ls="--", lw=1.0)
            a.text(thr, y[-1], r" $P=D(D+1)$", color="w", va="top", ha="left", fontsize=7.5)
            a.set_xlabel(r"task diversity $P/D^2$")
            a.set_ylabel(r"context length $N/D$")
            panel_label(a, letter)
        ax3 = axes[2]
        rows = sorted(set(np.linspace(0, y.size - 1, min(4, y.size)).round().astype(int)))
        colours = plt.cm.viridis(np.linspace(0.1, 0.85, len(rows)))
        e_pop = diagram.population_error()
        for colour, i in zip(colours, rows):
            ax3.errorbar(x, diagram.mean("icl_error")[i], yerr=diagram.stderr("icl_error")[i],
                         color=colour, marker="o", ms=2.5, lw=1.0, capsize=1.5,
                         label=rf"$N/D={y[i]:.2g}$")
            if i == rows[-1]:
                ax3.plot(x, diagram.mean("gibbs_error")[i], color=colour, ls=":", lw=1.0)
            ax3.axhline(e_pop[i], color=colour, ls="--", lw=0.7)
        ax3.axvline(thr, color="0.3", ls="--", lw=1.0)
        ax3.set_yscale("log")
        ax3.set_xlabel(r"task diversity $P/D^2$")
        ax3.set_ylabel(r"test error")
        # one Gibbs curve (largest N/D) keeps the panel readable; its colour says which
        ax3.plot([], [], color=colours[-1], ls=":",
                 label=rf"Gibbs $\langle e\rangle_\beta$, $N/D={y[rows[-1]]:.2g}$")
        ax3.plot([], [], color="0.3", ls="--", lw=0.7, label=r"$e(g)$, $P\to\infty$")
        ax3.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
        panel_label(ax3, "c")
        fig.suptitle(rf"Linear-attention spin glass, $D={D}$, $\lambda_0={p.get('l2', 0):g}$, "
                     rf"$\beta={p.get('beta', 0):g}$, {p.get('repeats', 1)} disorder draws "
                     rf"per cell",
                     fontsize=9)
        if path is None:
            return fig
        return save_figure(fig, path)


@register_figure("phase-diagram", "Exact-measure contrast ratio and ICL error over (N/D, P/D²)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Compute the main job's phase diagram and write npz, JSON and PNG into ``out_dir``."""
    from ...experiments.phase_diagram import exact_phase_diagram

    if quick:
        options = {"dim": 4, "repeats": 2, "context_ratios": np.linspace(0.5, 4, 5),
                   "prompt_ratios": np.linspace(0.25, 3, 8), **options}
    diagram = exact_phase_diagram(rng=rng, progress=progress, **options)
    out_dir = Path(out_dir)
    files = diagram.save(out_dir)
    png = plot_phase_diagram(diagram, out_dir / "phase_diagram.png")
    return [files["npz"], files["json"], png]
