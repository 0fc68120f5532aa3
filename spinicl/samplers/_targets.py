"""What a sampler samples: the spin glass's H (dense or matrix-free), or a user potential.

A target evaluates H and ∇H for a batch of walkers stacked in rows, (B, n) → (B,), (B, n); the
kernels multiply by each walker's own β. Quadratic targets also hand the numba kernels their
operator arrays (see :mod:`spinicl.samplers._kernels`).
"""
from __future__ import annotations

import hashlib

import numpy as np

from .._validation import check_dense_allocation
from . import _kernels as K

__all__ = ["QuadraticTarget", "PotentialTarget", "make_target", "OPERATORS"]

OPERATORS = ("auto", "dense", "matrix-free")
_PLACEHOLDER = np.zeros((1, 1))
# Above this many spins the dense n×n Hessian (128 MiB at 4096) is not built unless asked for.
_DENSE_MAX = 4096


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=float)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


class QuadraticTarget:
    """H(σ) = ½σᵀAσ − h·σ of a :class:`~spinicl.SpinGlass`.

    ``operator="dense"`` multiplies by the Hessian A; ``"matrix-free"`` (models built from prompts
    only) uses ``model.hessian_matvec(method="factored")`` for batched gradients and the feature
    matrix S (P×n, formed on first use) in the spin-by-spin and NUTS kernels, so the n×n
    couplings are never formed. ``"auto"`` is dense up to 4096 spins (D = 63; A is then at most
    128 MiB, and one GEMM beats the factored product) and matrix-free beyond, for factored models.
    """

    quadratic = True

    def __init__(self, model, operator: str = "auto"):
        if operator not in OPERATORS:
            raise ValueError(f"operator must be one of {OPERATORS}, got {operator!r}")
        self.model = model
        self.n_spins = model.n_spins
        if operator == "matrix-free" and not model.is_factored:
            raise ValueError("operator='matrix-free' needs a model built with "
                             "SpinGlass.from_prompts (a dense model has no factored form)")
        if operator == "auto":
            operator = ("matrix-free" if model.is_factored and model.n_spins > _DENSE_MAX
                        else "dense")
        self.operator = operator
        self.fields = np.ascontiguousarray(model.fields, dtype=float)
        self.diag = np.ascontiguousarray(model.self_couplings, dtype=float)
        if not (np.all(np.isfinite(self.fields)) and np.all(np.isfinite(self.diag))):
            raise ValueError("model has non-finite fields or self_couplings")
        if np.any(self.diag <= 0):
            raise ValueError("model has self_couplings <= 0: exp(-beta*H) is not normalisable "
                             "along those spins")
        if operator == "dense":
            A = np.ascontiguousarray(model.hessian(), dtype=float)
            if not np.all(np.isfinite(A)):
                raise ValueError("model has non-finite couplings")
            self.mode, self.A = K.DENSE, A
            self.S = self.St = _PLACEHOLDER
            self.inv_P, self.l2 = 1.0, 0.0
        else:
            # S and Sᵀ (2·P·n doubles) are formed only when a numba kernel asks for them
            # (kernel_args: Gibbs, Metropolis, NUTS); the batched kernels (HMC, MALA, ULA) use
            # the factored product alone and never hold more than the model's factors.
            self.mode, self.A = K.FEATURES, _PLACEHOLDER
            self.S = self.St = None
            self.inv_P, self.l2 = 1.0 / model.n_prompts, float(model.l2)

    def _features(self):
        if self.S is None:
            # the kernels walk S by rows and by columns, so both S and Sᵀ are kept
            check_dense_allocation("the matrix-free sampler's features S and Sᵀ",
                                   (self.model.n_prompts, self.n_spins), count=2,
                                   hint="use fewer prompts, or method='hmc', 'mala' or 'ula', "
                                   "whose gradients use only the factored product (no S)")
            S = np.ascontiguousarray(self.model.feature_matrix(), dtype=float)
            self.S, self.St = S, np.ascontiguousarray(S.T)
        return self.S, self.St

    @property
    def kernel_args(self) -> tuple:
        """(mode, A, S, Sᵀ, 1/P, λ0, h): the operator as the numba kernels take it."""
        S, St = (self.S, self.St) if self.mode == K.DENSE else self._features()
        return (self.mode, self.A, S, St, self.inv_P, self.l2, self.fields)

    def hessian_product(self, X) -> np.ndarray:
        """X A for walkers in rows (B, n): one GEMM (dense) or the factored product."""
        if self.mode == K.DENSE:
            return X @ self.A
        return self.model.hessian_matvec(np.ascontiguousarray(X.T), method="factored").T

    def energy_gradient(self, X):
        AX = self.hessian_product(X)
        E = 0.5 * np.einsum("bi,bi->b", X, AX) - X @ self.fields
        return E, AX - self.fields

    def energy(self, X):
        return self.energy_gradient(X)[0]

    def fingerprint(self) -> str:
        probe = np.linspace(-1.0, 1.0, self.n_spins)
        return _digest(self.fields, self.diag, self.hessian_product(probe[None, :]))

    def default_init_scale(self, beta: float) -> np.ndarray:
        return 1.0 / np.sqrt(beta * self.diag)


class PotentialTarget:
    """A user potential: any object with ``energy(X)`` and ``gradient(X)`` for X of shape (B, n)
    (returning (B,) and (B, n)) and an ``n_spins`` attribute. The Boltzmann weight is
    exp(−β·energy). Used for non-quadratic extensions such as double wells."""

    quadratic = False
    operator = "potential"

    def __init__(self, potential):
        n = getattr(potential, "n_spins", None)
        if n is None or int(n) < 1:
            raise TypeError("a custom potential needs an integer n_spins attribute >= 1, and "
                            "energy(X) and gradient(X) methods for X of shape (walkers, n_spins)")
        self.potential = potential
        self.n_spins = int(n)
        # (numba function, args) for the samplers whose trajectory runs in numba (NUTS)
        numba_eg = getattr(potential, "numba_energy_gradient", None)
        if numba_eg is not None and not (isinstance(numba_eg, tuple) and len(numba_eg) == 2
                                         and isinstance(numba_eg[1], tuple)):
            raise TypeError("a potential's numba_energy_gradient must be None or a pair "
                            "(numba function f(x, args) -> (H, grad H), args tuple), got "
                            f"{type(numba_eg).__name__}")
        self.numba_energy_gradient = numba_eg

    def python_energy_gradient(self, x, args=()):
        """(H(x), ∇H(x)) of one spin vector, through the potential's batched methods."""
        E, G = self.energy_gradient(x[None, :])
        return float(E[0]), G[0]

    def energy_gradient(self, X):
        E = np.asarray(self.potential.energy(X), dtype=float).reshape(X.shape[0])
        G = np.asarray(self.potential.gradient(X), dtype=float).reshape(X.shape)
        return E, G

    def energy(self, X):
        return np.asarray(self.potential.energy(X), dtype=float).reshape(X.shape[0])

    def fingerprint(self) -> str:
        probe = np.linspace(-1.0, 1.0, self.n_spins)[None, :]
        E, G = self.energy_gradient(probe)
        return _digest(E, G, np.array([self.n_spins]))

    def default_init_scale(self, beta: float) -> np.ndarray:
        return np.full(self.n_spins, 1.0 / np.sqrt(beta))


def make_target(model, operator: str = "auto"):
    """A :class:`QuadraticTarget` for a SpinGlass, a :class:`PotentialTarget` for a potential."""
    if hasattr(model, "hessian") and hasattr(model, "fields") and hasattr(model,
                                                                          "self_couplings"):
        return QuadraticTarget(model, operator)
    if callable(getattr(model, "energy", None)) and callable(getattr(model, "gradient", None)):
        if operator not in OPERATORS:
            raise ValueError(f"operator must be one of {OPERATORS}, got {operator!r}")
        return PotentialTarget(model)
    raise TypeError("model must be a spinicl.SpinGlass or a potential with energy(X), "
                    f"gradient(X) and n_spins, got {type(model).__name__}")
