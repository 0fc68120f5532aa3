"""Eigenvalues of the context covariance C = XXᵀ/N (Li, Bai & Huang 2024, Fig. S5).

C is drawn from its exact law, the Wishart distribution W_D(N, I/N) (Bartlett decomposition,
O(D²) per matrix instead of O(D²N)); the Marchenko–Pastur limit is
:func:`spinicl.theory.random_matrix.marchenko_pastur_density`.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import wishart

from .._validation import as_seed_sequence, check_int, child_seed
from ..theory.random_matrix import marchenko_pastur_density

__all__ = ["covariance_eigenvalues", "covariance_spectra", "marchenko_pastur_density"]


def covariance_eigenvalues(dim: int, context_length: int, n_matrices: int, *, rng=None):
    """Eigenvalues of ``n_matrices`` draws of C = XXᵀ/N, X of shape (D, N) with N(0,1) entries.

    Returns an array of shape (n_matrices, D). Needs N >= D (a Wishart law of full rank).
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=dim)
    n_matrices = check_int("n_matrices", n_matrices, minimum=1)
    gen = np.random.default_rng(as_seed_sequence(rng))
    C = wishart(df=context_length, scale=np.eye(dim) / context_length).rvs(
        size=n_matrices, random_state=gen)
    C = np.asarray(C).reshape(n_matrices, dim, dim)
    return np.linalg.eigvalsh(C)


def covariance_spectra(dim: int, ratios, n_matrices: int, *, rng=None,
                       progress: bool = False) -> np.ndarray:
    """Eigenvalues of C for every N/D in ``ratios``: shape (len(ratios), n_matrices, D).

    Ratio i draws from child i of ``rng``.
    """
    from .._progress import progress_bar

    ratios = [check_int("ratios", r, minimum=1) for r in ratios]
    seeds = [child_seed(rng, i) for i in range(len(ratios))]
    eig = np.empty((len(ratios), check_int("n_matrices", n_matrices, minimum=1),
                    check_int("dim", dim, minimum=1)))
    with progress_bar(total=len(ratios), desc="figS5 Wishart spectra", enabled=progress) as bar:
        for i, (r, seed) in enumerate(zip(ratios, seeds)):
            eig[i] = covariance_eigenvalues(dim, r * dim, n_matrices, rng=seed)
            bar.update(1)
    return eig
