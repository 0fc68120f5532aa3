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

from . import register_figure
from ._style import panel_label, plt, style
from .._progress import progress_bar
from .._validation import as_seed_sequence, check_int
from ..observables import hessian_spectrum, zero_mode_ratio, zero_mode_ratio_theory
from .paper_fig1 import WorkLog, add_caption, draw_disorder, write_outputs

__all__ = ["mean_hessian_eigenvalue", "make"]

PAPER = {100: {"zero_fraction": 0.773, "max_eigenvalue": 7.4},
         500: {"zero_fraction": 0.0476, "max_eigenvalue": 2.3},
         1500: {"zero_fraction": 0.0476, "max_eigenvalue": 1.6}, "mean_eigenvalue": 0.106}


def _zero_tolerance(evals) -> float:
    """The rank tolerance of :func:`spinicl.observables.zero_mode_ratio` (relative to max|λ|)."""
    return max(np.abs(evals).max(), np.finfo(float).tiny) * evals.size * np.finfo(float).eps * 10


def mean_hessian_eigenvalue(dim: int, context_length: int) -> float:
    """E[tr(SᵀS/P)]/(D+1)² for single-instance prompts with the 1/N prefactor (any P)."""
    dim = check_int("dim", dim, minimum=1)
    N = check_int("context_length", context_length, minimum=1)
    top = dim * (1.0 + (dim + 1) / N)            # D² spins with E[s²] = (1/D)(1 + (D+1)/N)
    last = dim * (1.0 + 2.0 / dim) * (1.0 + 2.0 / N)  # D spins with E[s²] = (1+2/D)(1+2/N)
    return (top + last) / (dim + 1) ** 2


@register_figure("figS7", "Li et al. Fig. S7: Hessian spectrum of -J and its zero-mode ratio")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S7 (D=20, N=100, P ∈ {100, 500, 1500}); ``quick``: 3 repeats and a small (D, P) grid.

    Options: ``dim``, ``context_length``, ``prompt_counts``, ``repeats``, ``grid_dims``,
    ``grid_prompts``, ``grid_repeats``, ``checkpoint`` (a path, or None; full runs default to
    ``out_dir/.figS7.checkpoint.npz``, resumed when present and removed when done).
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
    # rank(SᵀS) is fixed for generic prompts, so one repeat per cell already gives the ratio
    grid_repeats = check_int("grid_repeats", options.pop("grid_repeats", 1), minimum=1)

    checkpoint = options.pop("checkpoint",
                             None if quick else Path(out_dir) / ".figS7.checkpoint.npz")
    if options:
        raise TypeError(f"unknown option(s) for figS7: {', '.join(sorted(options))}")

    seed = as_seed_sequence(rng)
    seed_main, seed_grid = seed.spawn(2)
    n = (dim + 1) ** 2
    arrays = {"spectra": np.zeros((len(prompt_counts), repeats, n)),
              "zero_fraction": np.zeros((len(prompt_counts), repeats)),
              "grid": np.zeros((len(grid_dims), len(grid_prompts), grid_repeats))}
    spectra, zero_fraction, grid = arrays["spectra"], arrays["zero_fraction"], arrays["grid"]
    # one unit of work per (P, repeat) of panel (a) and per (D, P, repeat) of panel (b), each with
    # its own child seed
    units = [("main", i, r, child, P)
             for i, (P, s) in enumerate(zip(prompt_counts, seed_main.spawn(len(prompt_counts))))
             for r, child in enumerate(s.spawn(repeats))]
    cells = seed_grid.spawn(len(grid_dims) * len(grid_prompts))
    units += [("grid", (a, b), r, child, (D, P))
              for a, D in enumerate(grid_dims) for b, P in enumerate(grid_prompts)
              for r, child in enumerate(cells[a * len(grid_prompts) + b].spawn(grid_repeats))]
    config = dict(figure="figS7", dim=dim, context_length=N, prompt_counts=prompt_counts,
                  repeats=repeats, grid_dims=grid_dims, grid_prompts=grid_prompts,
                  grid_repeats=grid_repeats, entropy=seed.entropy,
                  spawn_key=list(seed.spawn_key))
    log = WorkLog(checkpoint, config, arrays, len(units))
    with progress_bar(total=len(units), desc="figS7 spectra", enabled=progress) as bar:
        bar.update(log.resumed)
        try:
            for u, (kind, where, r, child, setting) in enumerate(units):
                if log.done[u]:
                    continue
                if kind == "main":
                    model = draw_disorder(dim, N, setting, rng=child)
                    spectra[where, r] = ev = hessian_spectrum(model)
                    zero_fraction[where, r] = np.mean(np.abs(ev) <= _zero_tolerance(ev))
                else:
                    D, P = setting
                    grid[where + (r,)] = zero_mode_ratio(draw_disorder(D, N, P, rng=child))
                log.mark(u)
                bar.update(1)
        except BaseException:
            log.flush()
            raise
    log.finish()
    theory_grid = np.array([[zero_mode_ratio_theory(D, P) for P in grid_prompts]
                            for D in grid_dims])
    mean_theory = mean_hessian_eigenvalue(dim, N)
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
