"""``solve(model, beta, *, method=...)``: one entry point for every finite-size solver."""
from __future__ import annotations

import inspect

from .._validation import check_choice

__all__ = ["solve", "METHODS"]

METHODS = {
    "tap": "cavity/TAP with the full Onsager term (fixed point A⁻¹h; cavity variances)",
    "li2024": "the authors' AMP update (Onsager term in the denominator only; biased means)",
    "bp": "Gaussian belief propagation (exact means when it converges)",
    "cholesky": "dense Cholesky factorisation (exact means and variances)",
    "cg": "conjugate gradients, matrix-free for models from prompts (means only)",
}


def _solver(method):
    if method in ("tap", "li2024"):
        from .amp import solve_tap

        return solve_tap
    if method == "bp":
        from .bp import solve_bp

        return solve_bp
    from .direct import solve_cg, solve_cholesky

    return solve_cholesky if method == "cholesky" else solve_cg


def _check_options(method, function, options):
    """Refuse an option the chosen method does not take, naming it and the method's options."""
    accepted = [name for name, p in inspect.signature(function).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("variant", "rng")]
    foreign = sorted(set(options) - set(accepted))
    if not foreign:
        return
    if method == "cholesky" and set(foreign) & {"callbacks", "callback"}:
        raise TypeError("callbacks do not apply to method='cholesky': a dense factorisation has "
                        "no iterations to report or stop; use an iterative method ('cg' for the "
                        "exact mean, 'tap', 'bp') to monitor a solve")
    raise TypeError(f"option(s) {foreign} do not apply to method={method!r}; it takes "
                    f"{accepted}")


def solve(model, beta: float, *, method: str = "tap", rng=None, **options):
    """Marginals of exp(−βH) by the chosen ``method`` (see :data:`METHODS`).

    ``options`` go to the solver: :func:`~spinicl.solvers.solve_tap` (``"tap"``, ``"li2024"``),
    :func:`~spinicl.solvers.solve_bp`, :func:`~spinicl.solvers.solve_cholesky`,
    :func:`~spinicl.solvers.solve_cg`; an option the method does not take is a TypeError naming
    it. ``callbacks=`` (:mod:`spinicl.callbacks`) is taken by the iterative methods (tap,
    li2024, bp, cg: called after every iteration with ``info.metrics["error"]`` and
    ``info.state``); ``"cholesky"`` refuses it. ``rng`` seeds the random start of
    tap/li2024 and is accepted (and unused) by the deterministic methods, so a sweep can pass it
    to any method. Returns a :class:`~spinicl.solvers.SolverResult`.
    """
    check_choice("method", method, tuple(METHODS))
    function = _solver(method)
    _check_options(method, function, options)
    if method in ("tap", "li2024"):
        return function(model, beta, variant=method, rng=rng, **options)
    return function(model, beta, **options)
