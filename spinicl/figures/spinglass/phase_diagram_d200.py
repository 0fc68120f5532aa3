"""The exact ICL phase diagram at D = 200 (40,401 spins), matrix-free, on one 2-core machine.

Data: :func:`spinicl.experiments.large_scale.large_phase_diagram` (a resumable sweep of
``"matrix-free-mean"`` cells: the Boltzmann mean A⁻¹h by preconditioned CG, never an n×n
matrix). Panels: (a) log10 e_ICL of the mean over (P/D², N/D); (b) the contrast ratio
cos∠(⟨W⟩, I); (c) e_ICL against P/D² for every N/D with the P → ∞ error e(g); (d) the measured
peak resident memory of every cell (annotated with its wall time), against the 4 GiB budget.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np

from ..._io import save_json_atomic
from .. import register_figure
from .._common import cell_edges
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot", "make", "caption", "QUICK_OPTIONS", "STEM"]

STEM = "phase_diagram_d200"

#: --quick: D = 6 on the same 4 × 5 grid of ratios (a second or so).
QUICK_OPTIONS = dict(dim=6)


def caption(diagram) -> str:
    """A caption stating every setting of the run and its measured cost."""
    p = diagram.parameters
    s = diagram.memory_summary()
    D = diagram.dim
    return (f"Exact (matrix-free) ICL phase diagram of the linear-attention spin glass at D = {D} "
            f"(n = {(D + 1) ** 2:,} spins), λ0 = {p['l2']:g}, fresh task per prompt, "
            f"{p['repeats']} disorder draw(s) per point, seed {p['seed']}. The Boltzmann mean "
            f"A⁻¹h (independent of β) is solved by {p['preconditioner']}-preconditioned CG to "
            f"relative residual {p['tol']:g} (largest true residual "
            f"{s['max_relative_residual']:.1e}, at most {s['max_cg_iterations']} iterations), "
            "warm-started along the nested P axis; e_ICL is its exact fresh-task error. "
            f"Peak resident memory per cell {s['min_peak_rss_mib']:.0f}–"
            f"{s['max_peak_rss_mib']:.0f} MiB (measured, budget {s['memory_budget_mib']:.0f} "
            f"MiB); {s['total_cell_seconds']:.0f} s of cell time in all, on executor "
            f"{p['executor']}. Dashed: the interpolation threshold P = D(D+1).")


def plot(diagram, path=None):
    """Draw the four panels of a :class:`~spinicl.experiments.large_scale.LargePhaseDiagram`."""
    x, y = diagram.prompt_ratios, diagram.context_ratios
    D = diagram.dim
    thr = diagram.threshold_ratio
    icl = diagram.mean("icl_error")
    budget = float(diagram.parameters["memory_budget_mib"])
    with style():
        fig, axes = plt.subplots(2, 2, figsize=(7.6, 6.0), layout="constrained")
        (ax_a, ax_b), (ax_c, ax_d) = axes
        # one equal cell per grid point (the ratios are far from evenly spaced)
        xi, yi = cell_edges(np.arange(x.size)), cell_edges(np.arange(y.size))
        mesh = ax_a.pcolormesh(xi, yi, np.log10(icl), cmap="viridis_r",
                               shading="flat", rasterized=True)
        fig.colorbar(mesh, ax=ax_a, pad=0.02).set_label(r"$\log_{10} e_{\mathrm{ICL}}$")
        ax_a.set_title("in-context test error of the mean")
        mesh = ax_b.pcolormesh(xi, yi, diagram.mean("contrast_ratio"),
                               cmap="magma", vmin=0, vmax=np.sqrt(D / (D + 1)), shading="flat",
                               rasterized=True)
        fig.colorbar(mesh, ax=ax_b, pad=0.02).set_label(
            r"contrast ratio $\cos\angle(\langle W\rangle, I)$")
        ax_b.set_title("alignment with the identity")
        for ax, letter in ((ax_a, "a"), (ax_b, "b")):
            ax.axvline(np.interp(thr, x, np.arange(x.size)), color="w", ls="--", lw=1.0)
            ax.set_xticks(np.arange(x.size))
            ax.set_xticklabels([f"{v:g}" for v in x])
            ax.set_yticks(np.arange(y.size))
            ax.set_yticklabels([f"{v:g}" for v in y])
            ax.set_xlabel(r"task diversity $P/D^2$")
            ax.set_ylabel(r"context length $N/D$")
            panel_label(ax, letter)
        colours = plt.cm.viridis(np.linspace(0.1, 0.85, y.size))
        e_pop = diagram.population_error()
        se = diagram.stderr("icl_error") if diagram.coords["repeat"].size > 1 else None
        for i, colour in enumerate(colours):
            ax_c.errorbar(x, icl[i], yerr=None if se is None else se[i], color=colour,
                          marker="o", ms=3, lw=1.0, capsize=1.5, label=rf"$N/D={y[i]:g}$")
            ax_c.axhline(e_pop[i], color=colour, ls=":", lw=0.8)
        ax_c.plot([], [], color="0.3", ls=":", lw=0.8, label=r"$e(g)$, $P\to\infty$")
        ax_c.axvline(thr, color="0.3", ls="--", lw=1.0)
        ax_c.set_yscale("log")
        ax_c.set_xlabel(r"task diversity $P/D^2$")
        ax_c.set_ylabel(r"$e_{\mathrm{ICL}}$ of the Boltzmann mean")
        ax_c.legend(frameon=False, fontsize=6.5)
        panel_label(ax_c, "c")
        peak = diagram["peak_rss_mib"].max(axis=(1, 2))
        seconds = diagram["cell_seconds"][:, 0].max(axis=-1)
        ax_d.barh(np.arange(y.size), peak, color=colours, height=0.6)
        ax_d.axvline(budget, color="C3", ls="--", lw=1.0, label=f"budget {budget:.0f} MiB")
        for i in range(y.size):
            ax_d.text(peak[i], i, f" {peak[i]:.0f} MiB, {seconds[i]:.3g} s", va="center",
                      fontsize=6.5)
        ax_d.set_yticks(np.arange(y.size))
        ax_d.set_yticklabels([f"N/D={v:g}" for v in y])
        ax_d.set_xlim(0, budget * 1.15)
        ax_d.set_xlabel("measured peak RSS per cell (MiB)")
        ax_d.set_title(r"cost of one row (all $P$ nested)")
        ax_d.legend(frameon=False, loc="lower right", fontsize=6.5)
        panel_label(ax_d, "d")
        fig.suptitle(rf"Exact ICL phase diagram at $D={D}$ ($n={(D + 1) ** 2:,}$ spins), "
                     rf"matrix-free, $\lambda_0={diagram.parameters['l2']:g}$", fontsize=9)
        fig.text(0.0, -0.005, "\n".join(textwrap.wrap(caption(diagram), width=140)),
                 ha="left", va="top", fontsize=5.8, color="0.25")
        return fig if path is None else save_figure(fig, path)


@register_figure("phase-diagram-d200",
                 "Exact ICL phase diagram at D = 200 (40,401 spins), matrix-free CG, peak "
                 "memory per cell measured")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Run :func:`~spinicl.experiments.large_scale.large_phase_diagram` and plot it.

    Writes ``phase_diagram_d200.{npz,json,png}`` into ``out_dir``; the sweep's unit files live
    in ``out_dir/.phase_diagram_d200-sweep`` (a rerun resumes there). The json holds the run
    record, the caption and the measured memory and time (``numbers``).
    """
    from ...experiments.large_scale import large_phase_diagram

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    options.setdefault("checkpoint", out_dir / f".{STEM}-sweep")
    diagram = large_phase_diagram(rng=rng, progress=progress, **options)
    files = diagram.save(out_dir, STEM)
    record = json.loads(Path(files["json"]).read_text())
    record.update(caption=caption(diagram), numbers=diagram.memory_summary(), quick=quick)
    save_json_atomic(files["json"], record)
    png = plot(diagram, out_dir / f"{STEM}.png")
    return [files["npz"], files["json"], png]
