"""Random-feature attention against exact softmax attention (Ren & Liu 2024, pp. 26-27).

The settings of the reconstructed appendix figures around
:func:`spinicl.dual.studies.approximation_study`: D = 8, N = 15, d_r = 4 … 2¹⁶ (2¹² with
``quick``) and heat maps at d_r ∈ {4, 32, 256, 4096}.
"""
from __future__ import annotations

__all__ = ["approximation_settings", "run_approximation_study"]


def approximation_settings(*, quick: bool = False, **options) -> dict:
    """The study's keyword arguments: our defaults, overridden by ``options``."""
    settings = dict(dim=8, context_length=15, n_seeds=4 if quick else 10,
                    n_features=[2 ** k for k in range(2, 13 if quick else 17)],
                    heatmap_features=(4, 32, 256, 4096))
    settings.update(options)
    return settings


def run_approximation_study(*, quick: bool = False, rng=0, progress: bool = True, **options):
    """:func:`spinicl.dual.studies.approximation_study` with :func:`approximation_settings`."""
    from ..dual.studies import approximation_study

    return approximation_study(rng=rng, progress=progress,
                               **approximation_settings(quick=quick, **options))
