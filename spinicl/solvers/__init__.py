"""Finite-size solvers for the marginals of the spin glass: cavity/TAP, li2024 AMP, BP, direct.

>>> import spinicl
>>> model = spinicl.SpinGlass.random(dim=3, rng=0)
>>> res = spinicl.solve_tap(model, beta=100.0)
>>> res.converged, bool(abs(res.mean - model.boltzmann(100.0).mean).max() < 1e-8)
(True, True)
"""
from .amp import initial_state, solve_tap
from .batch import solve_li2024_batch
from .bp import solve_bp
from .direct import solve_cg, solve_cholesky
from .dispatch import METHODS, solve
from .preconditioners import (PRECONDITIONERS, JacobiPreconditioner, KroneckerPreconditioner,
                              make_preconditioner)
from .result import BatchSolverResult, SolverResult

__all__ = ["solve", "solve_tap", "solve_li2024_batch", "solve_bp", "solve_cholesky", "solve_cg",
           "initial_state", "SolverResult", "BatchSolverResult", "METHODS", "PRECONDITIONERS",
           "JacobiPreconditioner", "KroneckerPreconditioner", "make_preconditioner"]
