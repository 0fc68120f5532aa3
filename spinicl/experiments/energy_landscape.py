"""The energy landscape of one spin glass without projections (Li, Bai & Huang 2024, Fig. 3).

H is quadratic with Hessian A = SᵀS/P + λ0 I ⪰ λ0 I, so it is convex for every P and has exactly
one minimum A⁻¹h. :func:`energy_landscape` returns what distinguishes few prompts from many: the
spectrum of A on the live spins (its flat directions), and exact energies along lines and a plane
through the minimum.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_int, check_real, child_seed

__all__ = ["energy_landscape", "landscapes_over_prompts"]


def energy_landscape(model, *, n_directions: int = 20, n_curvature: int = 2000,
                     span: float = 3.0, n_points: int = 61, grid: int = 81, rng=None) -> dict:
    """Projection-free landscape data of one spin glass with positive-definite Hessian.

    Returns a dict with the live-spin spectrum, the minimum, energy profiles along random and
    eigen-directions (evaluated with :meth:`SpinGlass.energy`, not from the quadratic form) and the
    energy on the (flattest, stiffest) plane.
    """
    n_directions = check_int("n_directions", n_directions, minimum=1)
    n_curvature = check_int("n_curvature", n_curvature, minimum=1)
    span = check_real("span", span, minimum=0.0, strict_min=True)
    gen = np.random.default_rng(as_seed_sequence(rng))
    live = ~model.dead_spins
    A = model.hessian()
    evals, evecs = np.linalg.eigh(A[np.ix_(live, live)])
    minimum = model.boltzmann(1.0).mean
    e_min = model.energy(minimum)

    def embed(vectors):
        out = np.zeros((vectors.shape[0], model.n_spins))
        out[:, live] = vectors
        return out

    t = np.linspace(-span, span, n_points)
    random_dirs = gen.standard_normal((n_directions, int(live.sum())))
    random_dirs /= np.linalg.norm(random_dirs, axis=1, keepdims=True)
    eigen_dirs = evecs[:, [0, -1]].T
    dirs = embed(np.vstack([random_dirs, eigen_dirs]))
    points = minimum[None, None, :] + t[None, :, None] * dirs[:, None, :]
    profiles = model.energy(points) - e_min
    u = gen.standard_normal((n_curvature, int(live.sum())))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    curvature = np.einsum("ki,ij,kj->k", u, A[np.ix_(live, live)], u)
    s = np.linspace(-span, span, grid)
    a, b = np.meshgrid(s, s, indexing="xy")
    plane = (minimum[None, None, :] + a[..., None] * dirs[-2][None, None, :]
             + b[..., None] * dirs[-1][None, None, :])
    return {"live_eigenvalues": evals, "minimum": minimum, "t": t,
            "random_profiles": profiles[:n_directions], "flat_profile": profiles[-2],
            "stiff_profile": profiles[-1], "curvature": curvature, "plane_axis": s,
            "plane_energy": model.energy(plane) - e_min}


def landscapes_over_prompts(dim: int, context_length: int, prompt_counts, *, l2: float,
                            n_directions: int, n_curvature: int, span: float = 3.0,
                            rng=None) -> dict:
    """:func:`energy_landscape` of one fresh disorder draw per prompt count.

    Returns ``{P: (model, landscape)}``; prompt count k draws its disorder from child 2k of
    ``rng`` and its random directions from child 2k + 1.
    """
    from .disorder_blocks import draw_disorder

    out = {}
    for k, P in enumerate(prompt_counts):
        model = draw_disorder(dim, context_length, P, l2=l2, normalization="model",
                              rng=child_seed(rng, 2 * k))
        out[P] = model, energy_landscape(model, n_directions=n_directions,
                                         n_curvature=n_curvature, span=span,
                                         rng=child_seed(rng, 2 * k + 1))
    return out
