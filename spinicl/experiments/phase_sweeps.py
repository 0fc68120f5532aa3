"""Two phase diagrams as sweeps: the ICL error against replica theory, and the thermal order.

* :func:`icl_theory_phase_diagram`: the ICL error of the exact Boltzmann mean over (N/D, P/D²)
  at finite D (sweep cell ``exact``), with the replica-symmetric theory (D → ∞) on a fine grid.
* :func:`thermal_phase_diagram`: the thermal contrast ratio ⟨cos∠(W, I)⟩_β over (P/D², β) from
  an MCMC sampler (sweep cell ``sampled``: HMC with mass-matrix adaptation by default), checked
  cell by cell against exact draws.

Each runs as a resumable sweep under ``out_dir/<name>-sweep``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["icl_theory_phase_diagram", "thermal_phase_diagram"]


def icl_theory_phase_diagram(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                             dim: int | None = None, l2: float = 1e-2, repeats: int | None = None,
                             executor: str = "process", workers=None) -> dict:
    """The finite-D sweep and the theory beside it.

    Parameters
    ----------
    out_dir : path
        The sweep runs in ``out_dir/icl-theory-sweep``.
    quick : bool
        D = 6 on a 4 × 8 grid (else D = 12 on 8 × 22).
    rng : int or SeedSequence
    dim, l2, repeats
        D, λ0 (the theory's λ = Dλ0) and disorder draws per cell.
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.

    Returns
    -------
    dict
        ``result`` (the SweepResult), ``dim``, ``l2``, ``alpha`` and ``tau`` (the cells' N/D and
        P/D²), ``alpha_fine``, ``tau_fine``, ``theory_icl`` (alpha_fine × tau_fine) and
        ``theory_rows`` (alpha × tau_fine: the theory at each cell row's α).
    """
    from .. import theory
    from ..sweep import SweepSpec, run_sweep
    from ._sweep_runner import sweep_seed

    dim = dim or (6 if quick else 12)
    alphas = np.array([0.5, 1.0, 2.0, 4.0] if quick else [0.5, 1, 1.5, 2, 3, 4, 6, 8])
    taus = np.linspace(0.2, 3.0, 8 if quick else 22)
    spec = SweepSpec(kind="exact", name="icl-theory", seed=sweep_seed(rng),
                     repeats=repeats or (2 if quick else 6),
                     parameters={"dim": dim, "l2": l2, "beta": 100.0},
                     axes={"context_length": np.unique(np.maximum(1, np.rint(alphas * dim)))
                           .astype(int),
                           "n_prompts": np.unique(np.rint(taus * dim**2)).astype(int)})
    result = run_sweep(spec, Path(out_dir) / "icl-theory-sweep", executor=executor,
                       workers=workers, progress=progress)
    a = spec.axes["context_length"] / dim
    t = spec.axes["n_prompts"] / dim**2
    a_fine = np.linspace(a.min(), a.max(), 60)
    t_fine = np.linspace(t.min(), t.max(), 120)
    grid = theory.solve_grid(alpha=a_fine[:, None], tau=t_fine[None, :], l2=dim * l2)
    rows = np.array([theory.solve_grid(alpha=ai, tau=t_fine, l2=dim * l2).icl_error for ai in a])
    return {"result": result, "dim": dim, "l2": l2, "alpha": a, "tau": t, "alpha_fine": a_fine,
            "tau_fine": t_fine, "theory_icl": grid.icl_error, "theory_rows": rows}


def thermal_phase_diagram(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                          dim: int | None = None, l2: float = 1e-2, method: str = "hmc",
                          executor: str = "process", workers=None):
    """The sampled thermal contrast ratio over (P/D², β), N = 4D; returns the SweepResult.

    Parameters
    ----------
    out_dir : path
        The sweep runs in ``out_dir/thermal-sweep``.
    quick : bool
        D = 3 on a 4 × 4 grid with shorter chains (else D = 5 on 12 × 13).
    rng : int or SeedSequence
    dim, l2 : optional
    method : str
        The sampler (see :data:`spinicl.samplers.METHODS`).
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.
    """
    from ..sweep import SweepSpec, run_sweep
    from ._sweep_runner import sweep_seed

    dim = dim or (3 if quick else 5)
    taus = np.linspace(0.25, 3.0, 4 if quick else 12)
    betas = np.geomspace(1.0, 1e4, 4 if quick else 13)
    spec = SweepSpec(kind="sampled", name="thermal", seed=sweep_seed(rng), repeats=1,
                     parameters={"dim": dim, "context_length": 4 * dim, "l2": l2,
                                 "method": method, "n_draws": 300 if quick else 600,
                                 "n_warmup": 200 if quick else 400},
                     axes={"n_prompts": np.unique(np.rint(taus * dim**2)).astype(int),
                           "beta": betas})
    return run_sweep(spec, Path(out_dir) / "thermal-sweep", executor=executor, workers=workers,
                     progress=progress)
