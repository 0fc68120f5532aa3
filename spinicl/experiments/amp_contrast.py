"""The contrast ratio of the authors' AMP over (P, N) at D = 20 (Li, Bai & Huang 2024, Fig. 4a).

Settings (spin_glass_icl.md §5): P ∈ linspace(20, 1000, 50), N ∈ linspace(2, 100, 50),
10 repeats, λ0 = 1, β = 100, the authors' AMP variant (sweep cell ``amp-li2024``: damping 0.9 on
the old value, 100 iterations, N(0,1) start, 1/(N+1) features). A resumable sweep: rerunning
after an interruption reuses every finished (N, repeat) unit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["fig4a_spec", "amp_contrast_sweep"]


def fig4a_spec(*, quick: bool = False, seed: int = 0, dim: int = 20, repeats: int | None = None,
               variant_kind: str = "amp-li2024"):
    """The sweep behind Fig. 4(a) (the full grid, or a coarse one with ``quick``).

    Parameters
    ----------
    quick : bool
        10 × 10 grid and 2 repeats instead of 50 × 50 and 10.
    seed : int
        Master seed of the sweep.
    dim : int
    repeats : int, optional
    variant_kind : str
        The cell kind (another solver's cell draws the same grid).
    """
    from ..sweep import SweepSpec

    n_points = 10 if quick else 50
    prompts = np.unique(np.linspace(20, 1000, n_points).astype(int))
    contexts = np.unique(np.linspace(2, 100, n_points).astype(int))
    params = {"dim": dim, "l2": 1.0, "beta": 100.0, "normalization": "li2024"}
    return SweepSpec(kind=variant_kind, name="fig4a" if variant_kind == "amp-li2024" else
                     f"fig4a-{variant_kind}", parameters=params, seed=seed,
                     repeats=repeats or (2 if quick else 10),
                     axes={"context_length": contexts, "n_prompts": prompts})


def amp_contrast_sweep(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                       executor: str = "process", workers=None, **options):
    """Run :func:`fig4a_spec`'s sweep in ``out_dir/NAME-sweep``; returns its SweepResult.

    ``options`` go to :func:`fig4a_spec` (``dim``, ``repeats``, ``variant_kind``).
    """
    from ..sweep import run_sweep
    from ._sweep_runner import sweep_seed

    spec = fig4a_spec(quick=quick, seed=sweep_seed(rng), **options)
    return run_sweep(spec, Path(out_dir) / f"{spec.name}-sweep", executor=executor,
                     workers=workers, progress=progress)
