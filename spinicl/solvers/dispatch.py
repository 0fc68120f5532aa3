"""``solve(model, beta, *, method=...)``: one entry point for every finite-size solver."""
from __future__ import annotations

from .._validation import check_choice

__all__ = ["solve", "METHODS"]

METHODS = {
    "tap": "cavity/TAP with the full Onsager term (fixed point A⁻¹h; cavity variances)",
    "li2024": "the authors' AMP update (Onsager term in the denominator only; biased means)",
    "bp": "Gaussian belief propagation (exact means when it converges)",
    "cholesky": "dense Cholesky factorisation (exact means and variances)",
    "cg": "conjugate gradients, matrix-free for models from prompts (means only)",
}


def solve(model, beta: float, *, method: str = "tap", rng=None, **options):
    """Marginals of exp(−βH) by the chosen ``method`` (see :data:`METHODS`).

    ``options`` go to the solver: :func:`~spinicl.solvers.solve_tap` (``"tap"``, ``"li2024"``),
    :func:`~spinicl.solvers.solve_bp`, :func:`~spinicl.solvers.solve_cholesky`,
    :func:`~spinicl.solvers.solve_cg`. ``rng`` seeds the random start of tap/li2024 and is
    accepted (and unused) by the deterministic methods, so a sweep can pass it to any method.
    Returns a :class:`~spinicl.solvers.SolverResult`.
    """
    check_choice("method", method, tuple(METHODS))
    if method in ("tap", "li2024"):
        from .amp import solve_tap

        return solve_tap(model, beta, variant=method, rng=rng, **options)
    if method == "bp":
        from .bp import solve_bp

        return solve_bp(model, beta, **options)
    from .direct import solve_cg, solve_cholesky

    return (solve_cholesky if method == "cholesky" else solve_cg)(model, beta, **options)
