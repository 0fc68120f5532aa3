"""The solver on synthetic disorder (Li, Bai & Huang 2024, Fig. S3).

Fields and couplings are drawn from the block Gaussians of Fig. 1 for a (D+1)×(D+1) weight matrix
(:meth:`spinicl.SpinGlass.random`), and the authors' AMP (``variant="li2024"``: damping 0.9, at
most 100 iterations, random start) and the TAP fixed point are set beside the exact Boltzmann
marginals N(A⁻¹h, (βA)⁻¹).
"""
from __future__ import annotations

from .._validation import check_int, check_real, child_seed
from ..hamiltonian import SpinGlass

__all__ = ["solve_synthetic_disorder"]


def _solve_tap():
    """The package's cavity solver, or None while :mod:`spinicl.solvers` is unavailable."""
    try:
        from ..solvers import solve_tap
    except ImportError:
        return None
    return solve_tap


def solve_synthetic_disorder(dim: int = 10, *, beta: float = 100.0, rng=None) -> dict:
    """One synthetic spin glass, its exact marginals, the li2024 AMP and the TAP solution.

    Parameters
    ----------
    dim : int
        D (the weights are (D+1)×(D+1)).
    beta : float
        Inverse temperature (> 0).
    rng : seed, optional
        Split into the model's draw and AMP's random start.

    Returns
    -------
    dict
        ``model`` (:class:`~spinicl.SpinGlass`), ``exact`` (its Boltzmann measure), and ``amp``
        and ``tap`` (solver results, or None when :mod:`spinicl.solvers` is unavailable).
    """
    dim = check_int("dim", dim, minimum=1)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    seed_model, seed_init = child_seed(rng, 0), child_seed(rng, 1)
    model = SpinGlass.random(dim, rng=seed_model)
    out = {"model": model, "exact": model.boltzmann(beta), "amp": None, "tap": None}
    solve_tap = _solve_tap()
    if solve_tap is not None:
        out["amp"] = solve_tap(model, beta, variant="li2024", damping=0.9, max_iter=100,
                               rng=seed_init)
        out["tap"] = solve_tap(model, beta, variant="tap")
    return out
