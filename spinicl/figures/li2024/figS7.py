"""Fig. S7 of Li, Bai & Huang (arXiv:2408.02288): the spectrum of the Hessian −J = SᵀS/P.

(a) Eigenvalue densities (log scale) of −J at D=20, N=100 for P ∈ {100, 500, 1500}, pooled over
repeats. rank(SᵀS) = min(P, D(D+1)), so a fraction max(1 − P/(D+1)², 1/(D+1)) of the eigenvalues
is exactly zero: the flat directions of the energy (the plateau 1/(D+1) is the dead column).
The mean eigenvalue tr(−J)/(D+1)² is fixed by the population moments,
[D(1 + (D+1)/N) + D(1 + 2/D)(1 + 2/N)]/(D+1)², whatever P.
(b) The zero-mode ratio over (D, P) (the paper's 3-D inset, drawn as curves) against the exact
formula (§4.3 of our notes).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import panel_label, plt, style
from ..._validation import check_int
from ...experiments.hessian_spectra import hessian_spectra
from ...observables import zero_mode_ratio_theory

__all__ = ["make"]

PAPER = {100: {"zero_fraction": 0.773, "max_eigenvalue": 7.4},
         500: {"zero_fraction": 0.0476, "max_eigenvalue": 2.3},
         1500: {"zero_fraction": 0.0476, "max_eigenvalue": 1.6}, "mean_eigenvalue": 0.106}


@register_figure("figS7", "Li et al. Fig. S7: Hessian spectrum of -J and its zero-mode ratio")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S7 (D=20, N=100, P ∈ {100, 500, 1500}); ``quick``: 3 repeats and a small (D, P) grid.

    Options: ``dim``, ``context_length``, ``prompt_counts``, ``repeats``, ``grid_dims``,
    ``grid_prompts``, ``grid_repeats``, ``checkpoint`` (the sweeps' folder, or None; full runs
    default to ``out_dir/.figS7-sweep``: a rerun reuses every finished draw), ``executor``,
    ``workers``. Data: :func:`spinicl.experiments.hessian_spectra.hessian_spectra`.
    """
    dim = check_int("dim", options.pop("dim", 20), minimum=1)
    N = check_int("context_length", options.pop("context_length", 100), minimum=1)
    prompt_counts = [check_int("prompt_counts", p, minimum=1)
                     for p in options.pop("prompt_counts", (100, 500, 1500))]
    repeats = check_int("repeats", options.pop("repeats", 3 if quick else 2000), minimum=1)
    grid_dims = [check_int("grid_dims", d, minimum=1) for d in options.pop(
        "grid_dims", (4, 8, 12) if quick else tuple(range(10, 41, 5)))]
    grid_prompts = [check_int("grid_prompts", p, minimum=1) for p in options.pop(
        "grid_prompts", np.linspace(10, 250, 9).astype(int) if quick
        else np.linspace(25, 2000, 80).astype(int))]
    grid_repeats = check_int("grid_repeats", options.pop("grid_repeats", 1), minimum=1)
    checkpoint = options.pop("checkpoint", None if quick else Path(out_dir) / ".figS7-sweep")
    executor = options.pop("executor", "serial")
    workers = options.pop("workers", None)
    if options:
        raise TypeError(f"unknown option(s) for figS7: {', '.join(sorted(options))}")

    res = hessian_spectra(dim=dim, context_length=N, prompt_counts=prompt_counts,
                          repeats=repeats, grid_dims=grid_dims, grid_prompts=grid_prompts,
                          grid_repeats=grid_repeats, rng=rng, store=checkpoint,
                          executor=executor, workers=workers, progress=progress)
    spectra, zero_fraction, grid = res["spectra"], res["zero_fraction"], res["grid_zero_ratio"]
    theory_grid = res["grid_zero_ratio_theory"]
    mean_theory = res["mean_eigenvalue_theory"]
    n = spectra.shape[-1]
    numbers = {"mean_eigenvalue_theory": mean_theory,
               "paper": {str(k): v for k, v in PAPER.items()}}
    for i, P in enumerate(prompt_counts):
        numbers[f"P={P}"] = {
            "zero_fraction": float(zero_fraction[i].mean()),
            "zero_fraction_theory": zero_mode_ratio_theory(dim, P),
            "max_eigenvalue_pooled": float(spectra[i].max()),
            "max_eigenvalue_mean_per_draw": float(spectra[i].max(axis=1).mean()),
            "mean_eigenvalue": float(spectra[i].mean()),
            "mean_eigenvalue_stderr": float(spectra[i].mean(axis=1).std(ddof=1) / np.sqrt(repeats))
            if repeats > 1 else float("nan"),
        }
    numbers["grid_max_abs_deviation"] = float(np.abs(grid.mean(axis=2) - theory_grid).max())
    parameters = dict(dim=dim, context_length=N, prompt_counts=prompt_counts, repeats=repeats,
                      grid_dims=grid_dims, grid_prompts=grid_prompts, grid_repeats=grid_repeats,
                      zero_tolerance="observables.zero_mode_ratio default (relative)",
                      normalization="model", rng=str(rng), quick=quick)

    colours = ["#3b7dbf", "#e08a2c", "#8e6bb5"]
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.0), constrained_layout=True,
                                      gridspec_kw={"width_ratios": [1.35, 1.0]})
        top = max(spectra.max(), 1.0)
        bins = np.linspace(-0.05, top * 1.02, 160 if repeats * n > 20000 else 80)
        for i, P in enumerate(prompt_counts):
            nums = numbers[f"P={P}"]
            ax.hist(spectra[i].ravel(), bins=bins, density=True, log=True, histtype="stepfilled",
                    alpha=0.55, color=colours[i % 3], edgecolor=colours[i % 3], lw=0.6,
                    label=rf"$P={P}$: zeros {nums['zero_fraction']:.3f}, "
                          rf"max {nums['max_eigenvalue_pooled']:.2f}")
        ax.axvline(mean_theory, color="0.3", ls=":", lw=0.8)
        ax.text(mean_theory, 0.02, rf" mean $={mean_theory:.3f}$", fontsize=7, color="0.3",
                transform=ax.get_xaxis_transform())
        ax.set_xlabel(r"eigenvalue of $-J = S^\top S/P$")
        ax.set_ylabel("density")
        ax.set_title(rf"Hessian spectrum, $D={dim}$, $N={N}$")
        ax.legend(frameon=False, loc="upper right", fontsize=7)
        panel_label(ax, "a")

        cmap = plt.cm.viridis(np.linspace(0.05, 0.9, len(grid_dims)))
        for a, D in enumerate(grid_dims):
            ax2.plot(grid_prompts, grid[a].mean(axis=1), "o", ms=2.2, color=cmap[a],
                     label=rf"$D={D}$")
            fine = np.linspace(min(grid_prompts), max(grid_prompts), 400)
            ax2.plot(fine, np.maximum(1 - fine / (D + 1) ** 2, 1 / (D + 1)), color=cmap[a],
                     lw=0.8, ls="--")
        for i, P in enumerate(prompt_counts):
            if dim in grid_dims:
                ax2.plot(P, zero_fraction[i].mean(), "*", ms=8, color=colours[i % 3], zorder=5)
        ax2.plot([], [], "k--", lw=0.8, label=r"$\max(1-\frac{P}{(D+1)^2}, \frac{1}{D+1})$")
        ax2.set_xlabel(r"number of prompts $P$")
        ax2.set_ylabel("zero-mode ratio")
        ax2.set_ylim(0, 1.02)
        ax2.set_title("flat directions of the energy")
        ax2.legend(frameon=False, fontsize=6.5, ncol=2 if len(grid_dims) > 4 else 1,
                   loc="upper right")
        panel_label(ax2, "b")
        caption = (
            f"Li et al. Fig. S7 regenerated. (a) Eigenvalues of -J = S^T S/P for D={dim}, N={N}, "
            f"P in {prompt_counts}, {repeats} disorder draws each (paper: 2000); legend: zero "
            f"fraction and largest eigenvalue (paper: 0.773/0.0476/0.0476 and 7.4/2.3/1.6); "
            f"dotted: "
            f"exact mean eigenvalue {mean_theory:.4f} (paper 0.106). (b) Zero-mode ratio (points, "
            f"{grid_repeats} draw(s) per cell, N={N}) against max(1 - P/(D+1)^2, 1/(D+1)) "
            f"(dashed); largest deviation {numbers['grid_max_abs_deviation']:.3g}. Zeros: "
            f"|eigenvalue| <= 10 n eps max|eigenvalue|.")
        add_caption(fig, caption)
        arrays = {"prompt_counts": np.array(prompt_counts), "spectra": spectra,
                  "zero_fraction": zero_fraction, "grid_dims": np.array(grid_dims),
                  "grid_prompts": np.array(grid_prompts), "grid_zero_ratio": grid,
                  "grid_zero_ratio_theory": theory_grid}
        return write_outputs(out_dir, "figS7", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
