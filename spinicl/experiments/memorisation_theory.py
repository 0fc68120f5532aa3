"""The replica theory beside the memorisation → ICL phase diagram (trained over (k, P)).

The theory (D → ∞) is evaluated at the experiment's α = N/D, label noise and ridge λ = Dλ0
(λ0 the weight decay's equivalent, :func:`spinicl.training.equivalent_l2`), with the task-pool
size k entering as κ = k/D: on a fine (log₂ k, τ) grid for contours, on τ at κ = ∞ (a fresh task
per prompt), and along k at one τ for a cut.
"""
from __future__ import annotations

import numpy as np

__all__ = ["memorisation_theory"]


def memorisation_theory(parameters: dict, *, log2_k_range, tau_range, cut_tau: float,
                        n_k: int = 70, n_tau: int = 70) -> dict:
    """Theory curves for a result of :func:`spinicl.experiments.memorisation_phase_diagram`.

    Parameters
    ----------
    parameters : dict
        The result's parameters (``dim``, ``context_length``, ``label_noise``,
        ``equivalent_l2``).
    log2_k_range, tau_range : (float, float)
        The ranges of log₂ k and of τ = P/D² to cover (τ on a geometric grid).
    cut_tau : float
        The τ of the cut along k.
    n_k, n_tau : int
        Grid sizes.

    Returns
    -------
    dict
        ``log2_k`` and ``tau`` (the fine grids), ``grid`` (theory over τ × κ), ``fresh`` (over
        τ at κ = ∞), ``cut`` (along k at ``cut_tau``) and ``cut_fresh`` (κ = ∞ at ``cut_tau``).
    """
    from .. import theory

    D, N = parameters["dim"], parameters["context_length"]
    common = dict(alpha=N / D, noise=parameters["label_noise"] ** 2,
                  l2=D * parameters["equivalent_l2"])
    x_f = np.linspace(log2_k_range[0], log2_k_range[1], n_k)
    t_f = np.geomspace(tau_range[0], tau_range[1], n_tau)
    return {"log2_k": x_f, "tau": t_f,
            "grid": theory.solve_grid(tau=t_f[:, None], kappa=(2.0**x_f / D)[None, :], **common),
            "fresh": theory.solve_grid(tau=t_f, kappa=np.inf, **common),
            "cut": theory.solve_grid(kappa=2.0**x_f / D, tau=cut_tau, **common),
            "cut_fresh": theory.solve_saddle_point(kappa=np.inf, tau=cut_tau, **common)}
