"""The replica-symmetric theory (D → ∞) against the exact finite-size measure.

For a sweep in τ = P/D² at fixed α = N/D, λ = Dλ0 and β̂ = β/D², every (D, τ) cell draws
``repeats`` disorder samples and evaluates the exact Boltzmann measure's observables
(:func:`spinicl.theory.finite_size.exact_observables`, via the sweep cell
:func:`finite_size_cell`); the theory is solved on a dense τ grid and at the cells, and the
ridgeless family (λ = 0, β = ∞) for several task diversities κ is set beside Lu et al.'s closed
forms. The cells run through the sweep engine: resumable unit by unit (unit u draws from child u
of the master seed, so a resumed run is bitwise the uninterrupted one) and the same bits on every
executor.
"""
from __future__ import annotations

import numpy as np

__all__ = ["OBSERVED", "FINITE_SIZE_CELL", "finite_size_cell", "theory_vs_finite_size"]

#: The observables of every cell (and of the theory).
OBSERVED = ("icl_error", "gibbs_error", "free_energy", "identity_overlap", "norm", "idg_error")

FINITE_SIZE_CELL = f"{__name__}:finite_size_cell"


def finite_size_cell(*, dim: int, tau: float, alpha: float, l2: float, beta: float,
                     draws: int, rng=None) -> dict:
    """``draws`` disorder samples at (D, τ): each observable of :data:`OBSERVED` per draw."""
    from ..theory import finite_size

    out = finite_size.exact_observables(int(dim), alpha, float(tau), l2=l2, beta=beta,
                                        repeats=draws, rng=rng)
    return {k: np.asarray(out[k], dtype=float) for k in OBSERVED}


def theory_vs_finite_size(*, dims=(10, 20, 40), alpha=2.0,
                          taus=(0.3, 0.6, 0.9, 1.2, 1.6, 2.2, 3.0), l2=0.1, beta=2.0, repeats=4,
                          kappas=(0.5, 1.0, 2.0, np.inf), rng=0, progress=True, checkpoint=None,
                          executor: str = "serial", workers=None) -> dict:
    """Theory curves and finite-size cells, as a dict of arrays.

    Parameters
    ----------
    dims : sequence of int
        The finite dimensions D.
    alpha : float
        N/D.
    taus : sequence of float
        The τ = P/D² of the cells.
    l2, beta : float
        λ = Dλ0 and β̂ = β/D².
    repeats : int
        Disorder draws per cell.
    kappas : sequence of float
        Task diversities of the ridgeless family (``inf``: a fresh task per prompt).
    rng : int or SeedSequence
        Master seed; cell (i, j) draws from child ``i * len(taus) + j``.
    progress : bool
    checkpoint : path, optional
        The sweep's folder of unit files; a rerun reuses every finished cell (a cell computed
        with other settings is never reused). ``None``: a temporary folder.
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.

    Returns
    -------
    dict
        ``finite_KEY`` (D × τ × repeats), ``theory_KEY`` (dense τ), ``theory_at_cells_KEY``,
        ``family_icl`` (κ × ridgeless τ), ``lu_markers``, ``theory_converged`` and the axes.
    """
    from .. import theory
    from .._validation import check_int
    from ._sweep_runner import run_cells

    dims = np.asarray(dims, dtype=int)
    taus = np.asarray(taus, dtype=float)
    repeats = check_int("repeats", repeats, minimum=1)
    result = run_cells(kind=FINITE_SIZE_CELL, name="theory-vs-finite-size",
                       axes={"dim": dims, "tau": taus},
                       parameters={"alpha": float(alpha), "l2": float(l2), "beta": float(beta),
                                   "draws": repeats},
                       rng=rng, store=checkpoint, executor=executor, workers=workers,
                       progress=progress)
    # the sweep's own repeat axis has length 1 (each cell draws ``repeats`` samples itself)
    cells = {k: result.data[k][:, :, 0] for k in OBSERVED}

    dense = np.linspace(min(0.05, taus.min()), max(3.2, taus.max() * 1.05), 400)
    curve = theory.solve_grid(alpha, dense, l2=l2, beta=beta)
    at_cells = theory.solve_grid(alpha, taus, l2=l2, beta=beta)
    ridgeless_taus = np.concatenate([np.linspace(0.05, 0.985, 150), np.linspace(1.015, 4.0, 150)])
    kappas = np.asarray(kappas, dtype=float)
    family = theory.solve_grid(alpha, ridgeless_taus[None, :], kappa=kappas[:, None])
    marker_taus = np.array([0.3, 0.6, 0.8, 1.3, 2.0, 3.0])
    lu_markers = np.array([[theory.lu_icl_error(alpha, t, kappa=k) for t in marker_taus]
                           for k in kappas])
    data = dict(dims=dims, taus=taus, alpha=np.array(alpha), l2=np.array(l2),
                beta=np.array(beta), repeats=np.array(repeats), dense_taus=dense,
                ridgeless_taus=ridgeless_taus, kappas=kappas, marker_taus=marker_taus,
                lu_markers=lu_markers, family_icl=family.icl_error,
                family_converged=family.converged)
    for k in OBSERVED:
        data[f"finite_{k}"] = cells[k]
        data[f"theory_{k}"] = getattr(curve, k)
        data[f"theory_at_cells_{k}"] = getattr(at_cells, k)
    data["theory_converged"] = curve.converged & at_cells.converged.all()
    return data
