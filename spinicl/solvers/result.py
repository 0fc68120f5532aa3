"""Result objects of the solvers, shaped like :class:`scipy.optimize.OptimizeResult`.

Solvers never raise on non-convergence: they return a result with ``converged=False`` and a
message saying what happened, and sweep code masks such runs (as Li et al. record them as NaN).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._result import Status, deprecated_alias, result_repr

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
        True when the stopping criterion was met (``success`` in scipy's naming): the
        convergence error of an iteration fell to ``settings["tol"]`` or below (tap, li2024, bp,
        cg), or the factorisation succeeded (cholesky). Equivalent to
        ``status is Status.CONVERGED``.
    n_iter : int
        Iterations (sweeps, CG steps) performed; 0 for a direct factorisation (``nit``).
    residuals : ndarray
        The convergence error after each iteration.
    message : str
        How the run ended, in words.
    method : str
        Which solver produced it ("tap", "li2024", "bp", "cholesky", "cg").
    status : Status
        ``"converged"``, ``"max_iter"`` (max_iter reached), ``"diverged"`` (rolled back),
        ``"non_finite"`` (rolled back), ``"stopped"`` (by the callback) or ``"failed"`` (e.g. the
        Hessian is not positive definite); :attr:`status_code` is the integer code 0…5 of the
        compiled loops. An int given to the constructor is converted.
    beta : float
        The inverse temperature the variances refer to.
    settings : dict
        The options that ran (damping, tolerance, schedule, ...); ``info`` is its deprecated
        old name.
    seconds : float
        Wall-clock time of the solve.
    """

    mean: np.ndarray
    variance: np.ndarray | None
    converged: bool
    n_iter: int
    residuals: np.ndarray
    message: str
    method: str
    status: Status
    beta: float
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        self.status = Status.coerce(self.status)
        self.converged = bool(self.converged)
        self.n_iter = int(self.n_iter)
        self.seconds = float(self.seconds)

    info = deprecated_alias("settings", "info")

    @property
    def status_code(self) -> int:
        """The integer status code (0 converged … 5 failed) of the compiled loops."""
        return self.status.code

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
                "status", "beta", "settings", "seconds"]

    def __repr__(self) -> str:
        return result_repr(self, {"method": self.method},
                           {"error": self.error, "n_spins": self.mean.size, "beta": self.beta})


@dataclass(repr=False)
class BatchSolverResult:
    """Results of many independent instances solved together (rows are instances).

    Attributes
    ----------
    mean, variance : ndarray (B, n)
        Final states (also of unconverged runs; see :attr:`masked_mean`).
    converged : ndarray of bool (B,)
        Per instance, the criterion of :class:`SolverResult`: the error fell to ``tol``.
    n_iter : ndarray of int (B,)
    status : ndarray of Status (B,), dtype object
        As in :class:`SolverResult`; :attr:`status_code` holds the integer codes. An int array
        given to the constructor is converted.
    error : ndarray (B,)
        The last convergence error of each run (``final_error`` is its deprecated old name;
        :attr:`SolverResult.error` is the same quantity for one instance).
    residuals : ndarray (B, max_iter)
        Per-iteration errors, NaN beyond each run's n_iter.
    method, message : str
    beta : float
    settings : dict
        The options that ran (``info`` is its deprecated old name).
    seconds : float
        Wall-clock time of the whole batch.
    """

    mean: np.ndarray
    variance: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray
    error: np.ndarray
    residuals: np.ndarray
    method: str
    message: str
    beta: float
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        status = np.asarray(self.status)
        self.status = np.empty(status.shape, dtype=object)
        for index, value in np.ndenumerate(status):
            self.status[index] = Status.coerce(value.item() if hasattr(value, "item")
                                               else value)
        self.converged = np.asarray(self.converged, dtype=bool)
        self.seconds = float(self.seconds)

    info = deprecated_alias("settings", "info")
    final_error = deprecated_alias("error", "final_error")

    @property
    def status_code(self) -> np.ndarray:
        """The integer status codes (B,) of the compiled loop."""
        return np.array([s.code for s in self.status.ravel()],
                        dtype=np.int64).reshape(self.status.shape)

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
        tol = self.settings.get("tol", np.nan)
        status = self.status[index]
        # the batch's time shared evenly: the instances ran together
        return SolverResult(mean=self.mean[index].copy(), variance=self.variance[index].copy(),
                            converged=bool(self.converged[index]), n_iter=k, residuals=res,
                            message=status_message(status.code, k, float(self.error[index]),
                                                   tol),
                            method=self.method, status=status, beta=self.beta,
                            settings=dict(self.settings), seconds=self.seconds / len(self))

    def __repr__(self) -> str:
        return result_repr(self, {"method": self.method, "n_instances": len(self)},
                           {"n_spins": self.mean.shape[1], "beta": self.beta})
