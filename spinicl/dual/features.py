"""Positive random features for the softmax kernel (Performer; Choromanski et al., ICLR 2021).

The exponential kernel is an expectation over Gaussian directions w ~ N(0, I_d)::

    exp(xᵀy) = E_w[ exp(wᵀx − ‖x‖²/2) · exp(wᵀy − ‖y‖²/2) ]

so with d_r draws w_1..w_{d_r} (rows of Ω)::

    φ(x) = d_r^{-1/2} exp(−‖x‖²/2) [exp(w_1ᵀx), …, exp(w_{d_r}ᵀx)]ᵀ,    exp(xᵀy) ≈ φ(x)ᵀφ(y)

(eq. (2) of our notes on Ren & Liu, NeurIPS 2024). Every entry is positive, so random-feature
attention weights stay positive and their normaliser never vanishes.

Feature vectors are computed in log space, ``log φ = Ωx − ‖x‖²/2 − ½ log d_r``, and a shift is
subtracted before exponentiating: per column (``"column"``, one shift per query) or one shift for
a whole block of columns (``"global"``, used for keys). Attention is a ratio in which both shifts
cancel, so nothing overflows even for large scores; the shifts are returned so that unshifted
quantities can be recovered in log space.

Arrays follow the package's column convention: ``X`` has shape (d,), (d, n) or (P, d, n) and
φ(X) has shape (d_r,), (d_r, n) or (P, d_r, n).
"""
from __future__ import annotations

import numpy as np

from .._validation import (as_generator, check_choice, check_finite_array, check_int)

__all__ = ["PositiveRandomFeatures", "LinearFeatures", "draw_projection", "prf_features", "SHIFTS"]

SHIFTS = ("none", "column", "global")


def draw_projection(dim: int, n_features: int, *, orthogonal: bool = False,
                    rng=None) -> np.ndarray:
    """Draw the (d_r, d) matrix Ω whose rows are the random directions w_j.

    Parameters
    ----------
    dim : int
        d, the dimension of the inputs (>= 1).
    n_features : int
        d_r, the number of random features (>= 1).
    orthogonal : bool, optional
        False: i.i.d. N(0, I_d) rows. True: FAVOR+ block-orthogonal rows: each block of d rows is
        an orthonormal basis (QR of a Gaussian matrix, sign-corrected so it is Haar distributed),
        rescaled row by row by the norm of an independent N(0, I_d) vector so that every row is
        still marginally N(0, I_d); blocks are independent and the last one is truncated.
    rng : None, int, SeedSequence or Generator
        A fixed seed gives a fixed Ω (reproducible features).
    """
    dim = check_int("dim", dim, minimum=1)
    n_features = check_int("n_features", n_features, minimum=1)
    rng = as_generator(rng)
    if not orthogonal:
        return rng.standard_normal((n_features, dim))
    n_blocks = -(-n_features // dim)
    blocks = []
    for _ in range(n_blocks):
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        q = q * np.sign(np.diag(r))[None, :]
        norms = np.linalg.norm(rng.standard_normal((dim, dim)), axis=1)
        blocks.append(norms[:, None] * q.T)
    return np.concatenate(blocks, axis=0)[:n_features]


class PositiveRandomFeatures:
    """The feature map φ of eq. (2) for a fixed projection Ω.

    Parameters
    ----------
    projection : array (d_r, d)
        The random directions as rows (see :func:`draw_projection`).

    Use :meth:`draw` to build one from a seed. Calling the object returns φ(X) with a per-column
    shift (``shift="column"``); :meth:`log_features` returns log φ(X) exactly.
    """

    def __init__(self, projection):
        projection = check_finite_array("projection", projection, ndim=2)
        if projection.shape[0] < 1 or projection.shape[1] < 1:
            raise ValueError(f"projection must have shape (d_r, d) with d_r >= 1 and d >= 1, "
                             f"got {projection.shape}")
        self.projection = projection
        self.orthogonal = None

    @classmethod
    def draw(cls, dim: int, n_features: int, *, orthogonal: bool = False,
             rng=None) -> "PositiveRandomFeatures":
        """Draw Ω (see :func:`draw_projection`) and wrap it."""
        out = cls(draw_projection(dim, n_features, orthogonal=orthogonal, rng=rng))
        out.orthogonal = bool(orthogonal)
        return out

    @property
    def n_features(self) -> int:
        """d_r."""
        return self.projection.shape[0]

    @property
    def dim(self) -> int:
        """d, the input dimension."""
        return self.projection.shape[1]

    def __repr__(self) -> str:
        kind = {None: "given", True: "block-orthogonal", False: "i.i.d."}[self.orthogonal]
        return f"PositiveRandomFeatures(d={self.dim}, d_r={self.n_features}, {kind})"

    def _inputs(self, X, name="X") -> np.ndarray:
        X = check_finite_array(name, X, ndim=(1, 2, 3))
        axis = 0 if X.ndim == 1 else -2
        if X.shape[axis] != self.dim:
            raise ValueError(f"{name} must have {self.dim} rows (the feature map's input "
                             f"dimension d), got shape {X.shape}")
        return X

    def log_features(self, X) -> np.ndarray:
        """log φ(X) = ΩX − ‖x‖²/2 − ½ log d_r, exactly (no shift), same layout as φ(X)."""
        X = self._inputs(X)
        if X.ndim == 1:
            return self.projection @ X - 0.5 * (X @ X) - 0.5 * np.log(self.n_features)
        proj = np.matmul(self.projection, X)
        sq = 0.5 * np.sum(X * X, axis=-2, keepdims=True)
        return proj - sq - 0.5 * np.log(self.n_features)

    def features(self, X, *, shift: str = "column"):
        """Shifted features and the shift: ``(exp(log φ(X) − c), c)``.

        Parameters
        ----------
        X : array (d,), (d, n) or (P, d, n)
        shift : {"column", "global", "none"}
            ``"column"``: c is the maximum of log φ over features, one per column (shape
            (1, n) or (P, 1, n); a scalar for a single vector). ``"global"``: one c per block of
            columns (shape (1, 1) or (P, 1, 1)). ``"none"``: c = 0 (may overflow).

        Returns
        -------
        (features, shift) : the largest shifted entry of each column ("column") or block
            ("global") is exactly 1, so the features never overflow.
        """
        check_choice("shift", shift, SHIFTS)
        logf = self.log_features(X)
        if shift == "none":
            c = np.zeros(() if logf.ndim == 1 else logf.shape[:-2] + (1, 1))
        elif shift == "column" or logf.ndim == 1:
            c = logf.max(axis=-2 if logf.ndim > 1 else 0, keepdims=logf.ndim > 1)
        else:
            c = logf.max(axis=(-2, -1), keepdims=True)
        return np.exp(logf - c), c

    def __call__(self, X, *, shift: str = "none") -> np.ndarray:
        """φ(X), shifted as requested (default: exact, unshifted values)."""
        return self.features(X, shift=shift)[0]

    def kernel(self, X, Y) -> np.ndarray:
        """Random-feature estimate φ(X)ᵀφ(Y) of exp(XᵀY), evaluated in log space.

        ``X`` (d, m) and ``Y`` (d, n) give an (m, n) matrix; 1-D inputs give vectors/scalars.
        """
        fx, cx = self.features(np.atleast_2d(np.asarray(X, dtype=float).T).T, shift="global")
        fy, cy = self.features(np.atleast_2d(np.asarray(Y, dtype=float).T).T, shift="global")
        out = (fx.T @ fy) * np.exp(cx + cy)
        if np.ndim(X) == 1 and np.ndim(Y) == 1:
            return out[0, 0]
        if np.ndim(X) == 1:
            return out[0]
        if np.ndim(Y) == 1:
            return out[:, 0]
        return out


def prf_features(X, n_features: int, *, rng=None, orthogonal: bool = False,
                 stabilize: bool = True):
    """φ(X) for a freshly drawn Ω (§10 of our notes: ``prf_features(X, d_r, seed, ...)``).

    Returns ``(features, shift)`` where ``shift`` is the per-column log shift (zeros when
    ``stabilize=False``), so ``features · exp(shift)`` is the exact φ(X).
    """
    X = check_finite_array("X", X, ndim=(1, 2, 3))
    dim = X.shape[0] if X.ndim == 1 else X.shape[-2]
    prf = PositiveRandomFeatures.draw(dim, n_features, orthogonal=orthogonal, rng=rng)
    return prf.features(X, shift="column" if stabilize else "none")


class LinearFeatures:
    """The identity feature map φ(x) = x: the kernel kᵀq of *linear* attention.

    Used for the linear-attention limit of the dual model (:mod:`spinicl.dual.bridge`). It has the
    same ``features(X, shift=...)`` interface as :class:`PositiveRandomFeatures`; the shift is
    always 0 because nothing is exponentiated.
    """

    def __init__(self, dim: int):
        self._dim = check_int("dim", dim, minimum=1)
        self.orthogonal = None

    @property
    def n_features(self) -> int:
        return self._dim

    @property
    def dim(self) -> int:
        return self._dim

    def __repr__(self) -> str:
        return f"LinearFeatures(d={self._dim})"

    def features(self, X, *, shift: str = "column"):
        check_choice("shift", shift, SHIFTS)
        X = check_finite_array("X", X, ndim=(1, 2, 3))
        axis = 0 if X.ndim == 1 else -2
        if X.shape[axis] != self._dim:
            raise ValueError(f"X must have {self._dim} rows (the feature map's input dimension d), "
                             f"got shape {X.shape}")
        zero = np.zeros(() if X.ndim == 1 else X.shape[:-2] + (1, 1))
        return X.copy(), zero

    def __call__(self, X, *, shift: str = "none") -> np.ndarray:
        return self.features(X, shift=shift)[0]
