"""Parallel tempering (replica exchange) and simulated annealing schedules.

Parallel tempering (Swendsen & Wang 1986; Geyer 1991; Hukushima & Nemoto 1996) runs R replicas of
each chain at inverse temperatures β_1 < … < β_R = β, each moved by the base kernel, and after
every iteration proposes to exchange the *states* of neighbouring replicas (r, r+1) with
probability min(1, exp((β_{r+1} − β_r)(H_{r+1} − H_r))), which leaves the product of the
Boltzmann measures invariant (detailed balance). Even and odd pairs alternate (the deterministic
even–odd scheme of Okabe et al. 2001). Only the β_R replica is recorded as the sample; the
per-pair swap acceptance is reported.

Simulated annealing (Kirkpatrick et al. 1983) raises β geometrically from ``beta_start`` to β
during warm-up, then samples at β.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_finite_array, check_int, check_real

__all__ = ["make_ladder", "annealing_schedule", "swap_replicas"]


def make_ladder(beta: float, *, ladder=None, n_replicas: int = 8,
                beta_min: float | None = None) -> np.ndarray:
    """The increasing β ladder ending at ``beta`` (default: geometric from beta_min = β/10)."""
    if ladder is not None:
        ladder = check_finite_array("ladder", ladder, ndim=1)
        if ladder.size < 2:
            raise ValueError("ladder must hold at least 2 inverse temperatures, "
                             f"got {ladder.size}")
        if np.any(ladder <= 0) or np.any(np.diff(ladder) <= 0):
            raise ValueError("ladder must be positive and strictly increasing")
        if not np.isclose(ladder[-1], beta, rtol=1e-12, atol=0.0):
            raise ValueError(f"ladder must end at the target beta={beta:g}, got {ladder[-1]:g}")
        out = ladder.copy()
        out[-1] = beta
        return out
    n_replicas = check_int("n_replicas", n_replicas, minimum=2)
    beta_min = check_real("beta_min", beta / 10.0 if beta_min is None else beta_min,
                          minimum=0.0, strict_min=True)
    if beta_min >= beta:
        raise ValueError(f"beta_min must be < beta={beta:g}, got {beta_min:g}")
    out = np.geomspace(beta_min, beta, n_replicas)
    out[-1] = beta
    return out


def annealing_schedule(beta: float, beta_start: float, n_steps: int) -> np.ndarray:
    """Geometric β from ``beta_start`` to ``beta`` over ``n_steps`` iterations."""
    if n_steps <= 0:
        return np.zeros(0)
    if n_steps == 1:
        return np.array([beta])
    out = np.geomspace(beta_start, beta, n_steps)
    out[-1] = beta
    return out


def swap_replicas(X, cache, energies, ladder, n_chains, parity, uniforms, active, attempts,
                  accepts):
    """One round of neighbour exchanges, in place.

    Walker w = c·R + r holds replica r of chain c. Pairs (r, r+1) with r ≡ parity (mod 2) are
    proposed; ``uniforms`` is (n_chains, R−1); ``attempts``/``accepts`` (R−1,) are incremented.
    """
    R = ladder.size
    for r in range(parity, R - 1, 2):
        lo = np.arange(n_chains) * R + r
        hi = lo + 1
        ok = active[lo] & active[hi]
        with np.errstate(over="ignore", invalid="ignore"):
            log_alpha = (ladder[r + 1] - ladder[r]) * (energies[hi] - energies[lo])
            with np.errstate(divide="ignore"):
                take = ok & (np.log(uniforms[:, r]) < log_alpha)
        attempts[r] += int(ok.sum())
        accepts[r] += int(take.sum())
        if take.any():
            a, b = lo[take], hi[take]
            X[a], X[b] = X[b].copy(), X[a].copy()
            for arr in cache.values():
                arr[a], arr[b] = arr[b].copy(), arr[a].copy()
