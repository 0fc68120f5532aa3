"""Random-matrix laws of the prompt statistics: the Marchenko–Pastur density of C = XXᵀ/N.

With X of size D×N and N(0, 1) entries the eigenvalues of C follow, for q = D/N ≤ 1,

    ρ(λ) = √((λ₊ − λ)(λ − λ₋)) / (2π q λ),   λ± = (1 ± √q)²,

which concentrates at 1 as N/D grows (so the in-context solution C⁻¹ → I).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_real

__all__ = ["marchenko_pastur_density"]


def marchenko_pastur_density(x, ratio: float) -> np.ndarray:
    """Marchenko–Pastur density of ``XXᵀ/N`` (unit-variance entries) for ratio q = D/N <= 1."""
    q = check_real("ratio", ratio, minimum=0.0, maximum=1.0, strict_min=True)
    x = np.asarray(x, dtype=float)
    lo, hi = (1 - np.sqrt(q)) ** 2, (1 + np.sqrt(q)) ** 2
    inside = (x > lo) & (x < hi) & (x > 0)
    out = np.zeros_like(x)
    xi = x[inside]
    out[inside] = np.sqrt((hi - xi) * (xi - lo)) / (2 * np.pi * q * xi)
    return out
