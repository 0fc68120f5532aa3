"""Result objects of the solvers, shaped like :class:`scipy.optimize.OptimizeResult`.

Solvers never raise on non-convergence: they return a result with ``converged=False`` and a
message saying what happened, and sweep code masks such runs (as Li et al. record them as NaN).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SolverResult", "BatchSolverResult"]


def _weights(x: np.ndarray) -> np.ndarray:
    m = int(round(np.sqrt(x.shape[-1])))
    if m * m != x.shape[-1]:
        raise ValueError("the spins of this model are not a square weight matrix")
    return x.reshape(x.shape[:-1] + (m, m))


@dataclass(repr=False)
class SolverResult:
    """The marginal means and variances found by a solver, with how the run ended.

    Attributes
    ----------
    mean : ndarray (n,)
        Marginal means m_i (``x`` in scipy's naming).
    variance : ndarray (n,) or None
        Marginal variances v_i (None for solvers that compute means only, e.g. ``cg``).
    converged : bool
        True when the stopping criterion was met (``success`` in scipy's naming).
    n_iter : int
        Iterations (sweeps, CG steps) performed; 0 for a direct factorisation (``nit``).
    residuals : ndarray
        The convergence error after each iteration.
    message : str
        How the run ended, in words.
    method : str
        Which solver produced it ("tap", "li2024", "bp", "cholesky", "cg").
    status : int
        0 converged, 1 max_iter reached, 2 diverged (rolled back), 3 non-finite (rolled back),
        4 stopped by the callback, 5 failed (e.g. the Hessian is not positive definite).
    beta : float
        The inverse temperature the variances refer to.
    info : dict
        Solver-specific extras (damping, tolerance, schedule, ...).
    """

    mean: np.ndarray
    variance: np.ndarray | None
    converged: bool
    n_iter: int
    residuals: np.ndarray
    message: str
    method: str
    status: int
    beta: float
    info: dict = field(default_factory=dict)

    # scipy OptimizeResult names
    @property
    def x(self) -> np.ndarray:
        return self.mean

    @property
    def success(self) -> bool:
        return self.converged

    @property
    def nit(self) -> int:
        return self.n_iter

    @property
    def error(self) -> float:
        """The last convergence error (NaN when no iteration ran)."""
        return float(self.residuals[-1]) if len(self.residuals) else float("nan")

    @property
    def mean_weights(self) -> np.ndarray:
        """The mean as a (D+1)×(D+1) weight matrix."""
        return _weights(self.mean)

    @property
    def variance_weights(self) -> np.ndarray:
        if self.variance is None:
            raise ValueError(f"method {self.method!r} did not compute variances")
        return _weights(self.variance)

    def __getitem__(self, key):
        return getattr(self, key)

    def keys(self):
        return ["mean", "variance", "converged", "n_iter", "residuals", "message", "method",
                "status", "beta", "info"]

    def __repr__(self) -> str:
        return (f"SolverResult(method={self.method!r}, converged={self.converged}, "
                f"n_iter={self.n_iter}, error={self.error:.3g}, n_spins={self.mean.size}, "
                f"beta={self.beta:g})\n  message: {self.message}")


@dataclass(repr=False)
class BatchSolverResult:
    """Results of many independent instances solved together (rows are instances).

    Attributes
    ----------
    mean, variance : ndarray (B, n)
        Final states (also of unconverged runs; see :attr:`masked_mean`).
    converged : ndarray of bool (B,)
    n_iter, status : ndarray of int (B,)
        As in :class:`SolverResult`.
    final_error : ndarray (B,)
        The last convergence error of each run.
    residuals : ndarray (B, max_iter)
        Per-iteration errors, NaN beyond each run's n_iter.
    method, message : str
    beta : float
    info : dict
    """

    mean: np.ndarray
    variance: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray
    final_error: np.ndarray
    residuals: np.ndarray
    method: str
    message: str
    beta: float
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.mean.shape[0]

    @property
    def masked_mean(self) -> np.ndarray:
        """The means with unconverged rows set to NaN (Li et al.'s convention for their sweeps)."""
        return np.where(self.converged[:, None], self.mean, np.nan)

    @property
    def masked_variance(self) -> np.ndarray:
        return np.where(self.converged[:, None], self.variance, np.nan)

    @property
    def mean_weights(self) -> np.ndarray:
        """Masked means as (B, D+1, D+1) weight matrices."""
        return _weights(self.masked_mean)

    def instance(self, index: int) -> SolverResult:
        """Instance ``index`` as a :class:`SolverResult`."""
        from .driver import status_message

        k = int(self.n_iter[index])
        res = self.residuals[index, :k].copy()
        tol = self.info.get("tol", np.nan)
        return SolverResult(mean=self.mean[index].copy(), variance=self.variance[index].copy(),
                            converged=bool(self.converged[index]), n_iter=k, residuals=res,
                            message=status_message(int(self.status[index]), k,
                                                   float(self.final_error[index]), tol),
                            method=self.method, status=int(self.status[index]), beta=self.beta,
                            info=dict(self.info))

    def __repr__(self) -> str:
        return (f"BatchSolverResult(method={self.method!r}, n_instances={len(self)}, "
                f"converged={int(np.sum(self.converged))}/{len(self)}, "
                f"n_spins={self.mean.shape[1]}, beta={self.beta:g})\n  message: {self.message}")
