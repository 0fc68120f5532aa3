"""The spectrum of the Hessian −J = SᵀS/P and its zero modes (Li, Bai & Huang 2024, Fig. S7).

rank(SᵀS) = min(P, D(D+1)), so a fraction max(1 − P/(D+1)², 1/(D+1)) of the eigenvalues is
exactly zero: the flat directions of the energy (the plateau 1/(D+1) is the dead column). The
mean eigenvalue tr(−J)/(D+1)² is fixed by the population moments whatever P
(:func:`mean_hessian_eigenvalue`).

:func:`hessian_spectra` runs two sweeps of pure cells: the spectra at fixed D over prompt counts
(:func:`spectrum_cell`, one unit per (P, repeat)) and the zero-mode ratio over a (D, P) grid
(:func:`zero_mode_cell`). Each is resumable and gives the same bits on every executor.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import check_int, child_seed
from ..observables import hessian_spectrum, zero_mode_ratio, zero_mode_ratio_theory
from .disorder_blocks import draw_disorder

__all__ = ["mean_hessian_eigenvalue", "spectrum_cell", "zero_mode_cell", "hessian_spectra",
           "SPECTRUM_CELL", "ZERO_MODE_CELL"]

SPECTRUM_CELL = f"{__name__}:spectrum_cell"
ZERO_MODE_CELL = f"{__name__}:zero_mode_cell"


def _zero_tolerance(evals) -> float:
    """The rank tolerance of :func:`spinicl.observables.zero_mode_ratio` (relative to max|λ|)."""
    return max(np.abs(evals).max(), np.finfo(float).tiny) * evals.size * np.finfo(float).eps * 10


def mean_hessian_eigenvalue(dim: int, context_length: int) -> float:
    """E[tr(SᵀS/P)]/(D+1)² for single-instance prompts with the 1/N prefactor (any P).

    Equals [D(1 + (D+1)/N) + D(1 + 2/D)(1 + 2/N)]/(D+1)².
    """
    dim = check_int("dim", dim, minimum=1)
    N = check_int("context_length", context_length, minimum=1)
    top = dim * (1.0 + (dim + 1) / N)            # D² spins with E[s²] = (1/D)(1 + (D+1)/N)
    last = dim * (1.0 + 2.0 / dim) * (1.0 + 2.0 / N)  # D spins with E[s²] = (1+2/D)(1+2/N)
    return (top + last) / (dim + 1) ** 2


def spectrum_cell(*, dim: int, context_length: int, n_prompts: int, rng=None) -> dict:
    """One disorder draw: the eigenvalues of −J and the fraction that is numerically zero."""
    model = draw_disorder(dim, context_length, n_prompts, rng=rng)
    ev = hessian_spectrum(model)
    return {"spectrum": ev, "zero_fraction": float(np.mean(np.abs(ev) <= _zero_tolerance(ev)))}


def zero_mode_cell(*, dim: int, context_length: int, n_prompts: int, rng=None) -> dict:
    """One disorder draw: the zero-mode ratio of its Hessian."""
    return {"zero_mode_ratio": zero_mode_ratio(draw_disorder(dim, context_length, n_prompts,
                                                             rng=rng))}


def _panel_seed(rng, panel: int) -> int:
    # the two sweeps need different master seeds (else unit u of both would share a stream):
    # each is a 32-bit word drawn from its own child of ``rng``
    return int(child_seed(rng, panel).generate_state(1)[0])


def hessian_spectra(*, dim: int = 20, context_length: int = 100,
                    prompt_counts=(100, 500, 1500), repeats: int = 2000,
                    grid_dims=tuple(range(10, 41, 5)), grid_prompts=None, grid_repeats: int = 1,
                    rng=0, store=None, executor: str = "serial", workers=None,
                    progress: bool = True) -> dict:
    """Spectra of −J over prompt counts and zero-mode ratios over a (D, P) grid.

    Parameters
    ----------
    dim, context_length : int
        D and N of the spectra.
    prompt_counts : sequence of int
        The P of the spectra.
    repeats : int
        Disorder draws per P.
    grid_dims, grid_prompts : sequence of int
        The (D, P) grid of the zero-mode ratio (default P: 80 values from 25 to 2000).
    grid_repeats : int
        Draws per grid cell (rank(SᵀS) is fixed for generic prompts, so one is enough).
    rng : int or SeedSequence
    store : path, optional
        Folder for the two sweeps' unit files (``spectra/`` and ``zero-modes/``); a rerun reuses
        every finished unit. ``None``: temporary folders.
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.
    progress : bool

    Returns
    -------
    dict
        ``spectra`` (P × repeats × (D+1)²), ``zero_fraction`` (P × repeats), ``grid_zero_ratio``
        (D × P × grid_repeats), ``grid_zero_ratio_theory`` (D × P) and the axes.
    """
    from ._sweep_runner import run_cells

    dim = check_int("dim", dim, minimum=1)
    N = check_int("context_length", context_length, minimum=1)
    prompt_counts = [check_int("prompt_counts", p, minimum=1) for p in prompt_counts]
    repeats = check_int("repeats", repeats, minimum=1)
    grid_dims = [check_int("grid_dims", d, minimum=1) for d in grid_dims]
    if grid_prompts is None:
        grid_prompts = np.linspace(25, 2000, 80).astype(int)
    grid_prompts = [check_int("grid_prompts", p, minimum=1) for p in grid_prompts]
    grid_repeats = check_int("grid_repeats", grid_repeats, minimum=1)
    store = None if store is None else Path(store)
    main = run_cells(kind=SPECTRUM_CELL, name="figS7-spectra", rng=_panel_seed(rng, 0),
                     axes={"n_prompts": prompt_counts},
                     parameters={"dim": dim, "context_length": N}, repeats=repeats,
                     store=None if store is None else store / "spectra", executor=executor,
                     workers=workers, progress=progress)
    grid = run_cells(kind=ZERO_MODE_CELL, name="figS7-zero-modes", rng=_panel_seed(rng, 1),
                     axes={"dim": grid_dims, "n_prompts": grid_prompts},
                     parameters={"context_length": N}, repeats=grid_repeats,
                     store=None if store is None else store / "zero-modes", executor=executor,
                     workers=workers, progress=progress)
    theory_grid = np.array([[zero_mode_ratio_theory(D, P) for P in grid_prompts]
                            for D in grid_dims])
    return {"prompt_counts": np.array(prompt_counts), "spectra": main.data["spectrum"],
            "zero_fraction": main.data["zero_fraction"], "grid_dims": np.array(grid_dims),
            "grid_prompts": np.array(grid_prompts),
            "grid_zero_ratio": grid.data["zero_mode_ratio"],
            "grid_zero_ratio_theory": theory_grid,
            "mean_eigenvalue_theory": mean_hessian_eigenvalue(dim, N)}
