"""The replica-symmetric theory (D → ∞) against the exact finite-size measure.

For a sweep in τ = P/D² at fixed α = N/D, λ = Dλ0 and β̂ = β/D², every (D, τ) cell draws
``repeats`` disorder samples and evaluates the exact Boltzmann measure's observables
(:func:`spinicl.theory.finite_size.exact_observables`, via the sweep cell
:func:`finite_size_cell`); the theory is solved on a dense τ grid and at the cells, and the
ridgeless family (λ = 0, β = ∞) for several task diversities κ is set beside Lu et al.'s closed
forms. The cells run through the sweep engine: resumable unit by unit (unit u draws from child u
of the master seed, so a resumed run is bitwise the uninterrupted one) and the same bits on every
executor.

:func:`finite_size_scaling` carries the comparison to D = 200 (40,401 spins), where no dense
n×n matrix fits: the observables of the Boltzmann mean (the ICL error, the identity overlap and
the norm; the mean A⁻¹h does not depend on β) are computed matrix-free by conjugate gradients
(:func:`finite_size_cg_cell`, through :mod:`spinicl.experiments.large_scale`), the gap to the
RS theory at the same (α, τ, λ) is averaged over τ, and gap(D) is fitted by a/D and by
a/D + b/D².
"""
from __future__ import annotations

import numpy as np

__all__ = ["OBSERVED", "FINITE_SIZE_CELL", "finite_size_cell", "theory_vs_finite_size",
           "SCALING_OBSERVED", "FINITE_SIZE_CG_CELL", "finite_size_cg_cell", "finite_size_scaling",
           "fit_inverse_powers", "DEFAULT_SCALING_DIMS"]

#: The observables of every cell (and of the theory).
OBSERVED = ("icl_error", "gibbs_error", "free_energy", "identity_overlap", "norm", "idg_error")

FINITE_SIZE_CELL = f"{__name__}:finite_size_cell"

#: The observables of the Boltzmann mean compared with the theory up to D = 200 (matrix-free).
SCALING_OBSERVED = ("icl_error", "identity_overlap", "norm")

FINITE_SIZE_CG_CELL = f"{__name__}:finite_size_cg_cell"

#: The dimensions of the full figure's finite-size scaling (D = 200: 40,401 spins).
DEFAULT_SCALING_DIMS = (10, 20, 40, 100, 200)


def finite_size_cell(*, dim: int, tau: float, alpha: float, l2: float, beta: float,
                     draws: int, rng=None) -> dict:
    """``draws`` disorder samples at (D, τ): each observable of :data:`OBSERVED` per draw."""
    from ..theory import finite_size

    out = finite_size.exact_observables(int(dim), alpha, float(tau), l2=l2, beta=beta,
                                        repeats=draws, rng=rng)
    return {k: np.asarray(out[k], dtype=float) for k in OBSERVED}


def finite_size_cg_cell(*, dim: int, tau, alpha: float, l2: float, tol: float = 1e-8,
                        rng=None) -> dict:
    """Observables of the Boltzmann mean at (D, τ) for nested τ, matrix-free (any D).

    The theory's units (α = N/D, τ = P/D², λ = Dλ0) are turned into (N, P, λ0) by
    :func:`spinicl.theory.finite_size.finite_size_settings`; one draw of the largest P serves
    every τ (nested prefixes), each mean solved by CG
    (:func:`spinicl.experiments.large_scale.matrix_free_cell`). Returns each of
    :data:`SCALING_OBSERVED` and the CG/memory diagnostics of
    :data:`~spinicl.experiments.large_scale.MATRIX_FREE_OBSERVABLES`, over τ.
    """
    from ..theory.finite_size import finite_size_settings
    from .large_scale import matrix_free_cell

    taus = np.atleast_1d(np.asarray(tau, dtype=float))
    settings = [finite_size_settings(int(dim), alpha, t, l2=l2) for t in taus]
    if float(l2) <= 0:
        raise ValueError(f"l2 must be > 0 for the matrix-free cell (CG needs a positive-definite "
                         f"Hessian), got {l2}")
    out = matrix_free_cell(dim=int(dim), context_length=settings[0]["context_length"],
                           counts=np.array([c["n_prompts"] for c in settings]),
                           l2=settings[0]["l2"], tol=tol, preconditioner="jacobi",
                           normalization="model", rng=rng)
    return out if np.ndim(tau) else {k: float(v[0]) for k, v in out.items()}


finite_size_cg_cell.nested_axis = "tau"


def fit_inverse_powers(dims, gaps, errors=None, *, powers=(1, 2)) -> dict:
    """Weighted least squares gap(D) = Σ_k a_k / D^{p_k}.

    Parameters
    ----------
    dims : array_like
        D values.
    gaps : array_like
        The gap at each D.
    errors : array_like, optional
        Standard errors of ``gaps`` (weights 1/error²); ``None``: unweighted.
    powers : sequence of int
        The inverse powers p_k.

    Returns
    -------
    dict
        ``coefficients`` (a_k), ``standard_errors`` (from the weighted normal equations, scaled
        by the reduced χ² when it exceeds 1), ``chi2_per_dof`` (NaN without degrees of freedom),
        ``powers``.
    """
    dims = np.asarray(dims, dtype=float)
    gaps = np.asarray(gaps, dtype=float)
    if dims.shape != gaps.shape or dims.ndim != 1:
        raise ValueError(f"dims and gaps must be 1-d of one length, got {dims.shape}, "
                         f"{gaps.shape}")
    powers = tuple(int(p) for p in powers)
    if len(powers) > dims.size:
        raise ValueError(f"fitting {len(powers)} coefficients needs at least as many dims, "
                         f"got {dims.size}")
    sigma = np.ones_like(gaps) if errors is None else np.asarray(errors, dtype=float)
    if sigma.shape != gaps.shape or np.any(~(sigma > 0)):
        raise ValueError("errors must be positive, one per gap")
    design = np.stack([dims ** -p for p in powers], axis=1) / sigma[:, None]
    target = gaps / sigma
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    dof = dims.size - len(powers)
    chi2 = float(np.sum((design @ coefficients - target) ** 2))
    chi2_per_dof = chi2 / dof if dof > 0 else np.nan
    covariance = np.linalg.inv(design.T @ design)
    if errors is None:
        covariance *= chi2_per_dof if dof > 0 else np.nan
    elif dof > 0 and chi2_per_dof > 1:
        covariance *= chi2_per_dof
    return dict(coefficients=coefficients, standard_errors=np.sqrt(np.diag(covariance)),
                chi2_per_dof=chi2_per_dof, powers=np.array(powers))


def finite_size_scaling(*, dims=DEFAULT_SCALING_DIMS, alpha=2.0,
                        taus=(0.3, 0.6, 0.9, 1.2, 1.6, 2.2, 3.0), l2=0.1, repeats=2,
                        tol=1e-8, rng=1, progress=True, checkpoint=None,
                        executor: str = "serial", workers=None) -> dict:
    """The gap between the exact Boltzmann mean and the RS theory, D = 10 … 200, matrix-free.

    Parameters
    ----------
    dims : sequence of int
        The dimensions (at least two; three for the two-term fit).
    alpha, taus, l2
        α = N/D, the τ = P/D² of the cells, λ = Dλ0 > 0.
    repeats : int
        Disorder draws per (D, τ) (each a sweep repeat: one draw of the largest P, nested τ).
    tol : float
        CG's relative residual.
    rng : int
        Master seed of the sweep.
    progress, checkpoint, executor, workers
        As in :func:`theory_vs_finite_size`.

    Returns
    -------
    dict
        ``scaling_KEY`` (D × τ × repeats) for each of :data:`SCALING_OBSERVED`,
        ``scaling_theory_KEY`` (τ), ``scaling_gap`` (D × τ, mean over repeats − theory),
        ``scaling_gap_mean``/``scaling_gap_se`` (D: the gap averaged over τ and its s.e., from
        the draw-to-draw spread of D × gap pooled over every D; ``scaling_gap_se_per_dim`` is
        each D's own two-draw estimate),
        ``scaling_fit1_*`` (a/D) and ``scaling_fit2_*`` (a/D + b/D²) coefficients, standard
        errors and χ²/dof, the cells' ``scaling_peak_rss_mib``, ``scaling_cell_seconds`` and
        ``scaling_cg_iterations``, and the axes.
    """
    from .. import theory
    from .._validation import check_int
    from ._sweep_runner import run_cells

    dims = np.asarray(dims, dtype=int)
    taus = np.asarray(taus, dtype=float)
    if dims.ndim != 1 or dims.size < 2:
        raise ValueError(f"dims must hold at least two dimensions, got {dims.tolist()}")
    repeats = check_int("repeats", repeats, minimum=2)
    result = run_cells(kind=FINITE_SIZE_CG_CELL, name="finite-size-scaling",
                       axes={"dim": dims, "tau": taus},
                       parameters={"alpha": float(alpha), "l2": float(l2), "tol": float(tol)},
                       repeats=repeats, rng=rng, store=checkpoint, executor=executor,
                       workers=workers, progress=progress)
    th = theory.solve_grid(alpha, taus, l2=l2)
    data = dict(scaling_dims=dims, scaling_taus=taus, scaling_repeats=np.array(repeats),
                scaling_theory_converged=np.asarray(th.converged))
    for k in SCALING_OBSERVED:
        data[f"scaling_{k}"] = np.asarray(result.data[k], dtype=float)
        data[f"scaling_theory_{k}"] = np.asarray(getattr(th, k), dtype=float)
    finite = data["scaling_icl_error"]
    gap = finite.mean(axis=-1) - data["scaling_theory_icl_error"][None, :]
    # s.e. of the τ-average: the repeats are independent draws, the τ of one draw are not
    # (nested prompts), so the spread of the per-draw τ-averages gives it directly
    per_draw = (finite - data["scaling_theory_icl_error"][None, :, None]).mean(axis=1)
    gap_mean = per_draw.mean(axis=-1)
    raw_se = per_draw.std(axis=-1, ddof=1) / np.sqrt(repeats)
    # A two-draw spread is a poor error bar on its own (one D can come out with a tiny one and
    # dominate a weighted fit). The draw-to-draw spread of a self-averaging error scales as 1/D,
    # so D·spread is pooled over every D (Σ (repeats − 1) degrees of freedom) and scaled back.
    pooled_spread = np.sqrt(np.mean((dims * per_draw.std(axis=-1, ddof=1)) ** 2))
    gap_se = pooled_spread / dims / np.sqrt(repeats)
    data.update(scaling_gap=gap, scaling_gap_mean=gap_mean, scaling_gap_se=gap_se,
                scaling_gap_se_per_dim=raw_se,
                scaling_gap_times_dim=gap_mean * dims,
                scaling_gap_times_dim_se=gap_se * dims)
    for name, powers in (("fit1", (1,)), ("fit2", (1, 2))):
        if dims.size >= len(powers):
            fit = fit_inverse_powers(dims, gap_mean, np.maximum(gap_se, 1e-12), powers=powers)
            data[f"scaling_{name}_coefficients"] = fit["coefficients"]
            data[f"scaling_{name}_standard_errors"] = fit["standard_errors"]
            data[f"scaling_{name}_chi2_per_dof"] = np.array(fit["chi2_per_dof"])
    for k in ("peak_rss_mib", "cell_seconds", "cg_iterations", "relative_residual",
              "converged"):
        data[f"scaling_{k}"] = np.asarray(result.data[k], dtype=float)
    return data


def theory_vs_finite_size(*, dims=(10, 20, 40), alpha=2.0,
                          taus=(0.3, 0.6, 0.9, 1.2, 1.6, 2.2, 3.0), l2=0.1, beta=2.0, repeats=4,
                          kappas=(0.5, 1.0, 2.0, np.inf), rng=0, progress=True, checkpoint=None,
                          executor: str = "serial", workers=None, scaling_dims=(),
                          scaling_repeats=2, scaling_rng=1) -> dict:
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
    scaling_dims : sequence of int
        Dimensions of the matrix-free finite-size scaling (:func:`finite_size_scaling`, same
        α, τ, λ), e.g. :data:`DEFAULT_SCALING_DIMS` = 10 … 200; empty (default): none.
    scaling_repeats : int
        Disorder draws per (D, τ) of the scaling (>= 2, for its standard errors).
    scaling_rng : int
        Master seed of the scaling sweep (its own streams, apart from the dense cells').

    Returns
    -------
    dict
        ``finite_KEY`` (D × τ × repeats), ``theory_KEY`` (dense τ), ``theory_at_cells_KEY``,
        ``family_icl`` (κ × ridgeless τ), ``lu_markers``, ``theory_converged`` and the axes;
        with ``scaling_dims``, the ``scaling_*`` arrays of :func:`finite_size_scaling` too.
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
    if len(scaling_dims):
        from pathlib import Path

        data.update(finite_size_scaling(
            dims=scaling_dims, alpha=alpha, taus=taus, l2=l2, repeats=scaling_repeats,
            rng=scaling_rng, progress=progress, executor=executor, workers=workers,
            checkpoint=None if checkpoint is None else Path(checkpoint) / "finite-size-scaling"))
    return data
