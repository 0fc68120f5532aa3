"""Warm-up adaptation: dual-averaging step sizes and windowed mass-matrix estimation.

* :class:`DualAveraging`: Nesterov dual averaging of log ε towards a target acceptance
  (Hoffman & Gelman 2014, Algorithm 5; γ = 0.05, t0 = 10, κ = 0.75), one step size per walker;
  after warm-up the averaged iterate ε̄ is frozen.
* :func:`metric_windows`: Stan's warm-up schedule: a fast initial phase (15%), slow windows that
  double in length (first 25 iterations) in which the mass matrix is re-estimated, and a fast
  terminal phase (10%) in which only the step size moves.
* :class:`Metric`: the inverse mass matrix M⁻¹ (diagonal or dense), estimated from the draws of a
  window with Stan's shrinkage (w/(w+5))·Σ̂ + 10⁻³·(5/(w+5))·s·I, w the number of draws and s
  the mean variance (Stan uses s = 1; relative jitter suits spins of any scale).
"""
from __future__ import annotations

import numpy as np

__all__ = ["DualAveraging", "Metric", "metric_windows"]


class DualAveraging:
    """Per-walker dual averaging of log step sizes towards ``target`` acceptance."""

    gamma = 0.05
    t0 = 10.0
    kappa = 0.75

    def __init__(self, step_size, target: float):
        step_size = np.asarray(step_size, dtype=float)
        self.target = float(target)
        self.restart(step_size)

    def restart(self, step_size):
        """Start over around ``step_size`` (after the mass matrix changed)."""
        step_size = np.asarray(step_size, dtype=float)
        self.mu = np.log(10.0 * step_size)
        self.log_step = np.log(step_size)
        self.log_step_bar = np.zeros_like(self.log_step)
        self.h_bar = np.zeros_like(self.log_step)
        self.count = 0

    def update(self, accept_prob, mask=None):
        """One iteration with the observed acceptance statistics (per walker)."""
        accept_prob = np.nan_to_num(np.asarray(accept_prob, dtype=float), nan=0.0)
        self.count += 1
        t = self.count
        w = 1.0 / (t + self.t0)
        h_bar = (1.0 - w) * self.h_bar + w * (self.target - accept_prob)
        log_step = self.mu - np.sqrt(t) / self.gamma * h_bar
        eta = t ** (-self.kappa)
        log_bar = eta * log_step + (1.0 - eta) * self.log_step_bar
        if mask is None:
            mask = np.ones(h_bar.shape, dtype=bool)
        self.h_bar = np.where(mask, h_bar, self.h_bar)
        self.log_step = np.where(mask, log_step, self.log_step)
        self.log_step_bar = np.where(mask, log_bar, self.log_step_bar)

    @property
    def step_size(self) -> np.ndarray:
        """The step size to use at the next warm-up iteration."""
        return np.exp(self.log_step)

    @property
    def final_step_size(self) -> np.ndarray:
        """The averaged step size ε̄ frozen after warm-up."""
        return np.exp(self.log_step_bar) if self.count else np.exp(self.log_step)

    def state(self) -> dict:
        return {"da_mu": self.mu, "da_log_step": self.log_step,
                "da_log_step_bar": self.log_step_bar, "da_h_bar": self.h_bar,
                "da_count": np.array(self.count)}

    def set_state(self, arrays: dict):
        self.mu = arrays["da_mu"].copy()
        self.log_step = arrays["da_log_step"].copy()
        self.log_step_bar = arrays["da_log_step_bar"].copy()
        self.h_bar = arrays["da_h_bar"].copy()
        self.count = int(arrays["da_count"])


def metric_windows(n_warmup: int, *, initial: int = 75, terminal: int = 50,
                   first: int = 25) -> list[tuple[int, int]]:
    """[start, end) iteration windows of warm-up in which the mass matrix is estimated.

    Stan's schedule, scaled down (15% / 75% / 10%) when warm-up is shorter than 150 iterations;
    the last window absorbs the remainder so the slow phase is used completely.
    """
    if n_warmup < 20:
        return []
    if n_warmup < initial + terminal + first:
        initial = int(0.15 * n_warmup)
        terminal = int(0.1 * n_warmup)
        first = n_warmup - initial - terminal
    end_slow = n_warmup - terminal
    windows = []
    start, size = initial, first
    while start < end_slow:
        stop = start + size
        if stop + 2 * size > end_slow:
            stop = end_slow
        windows.append((start, stop))
        start, size = stop, 2 * size
    return windows


class Metric:
    """The inverse mass matrix M⁻¹ (kind ``"identity"``, ``"diag"`` or ``"dense"``).

    Attributes
    ----------
    inv_mass_diag : array (n,)
        Diagonal of M⁻¹ (used when not dense).
    inv_mass : array (n, n) or (1, 1)
        Dense M⁻¹ (a placeholder unless dense).
    chol_mass : array (n, n) or (1, 1)
        Lower Cholesky factor of M (momenta are p = chol_mass · ξ).
    """

    def __init__(self, kind: str, n: int):
        self.kind = kind
        self.n = n
        self.version = 0
        self.set_covariance(np.ones(n) if kind != "dense" else np.eye(n))

    @property
    def dense(self) -> bool:
        return self.kind == "dense"

    def set_covariance(self, cov):
        # kernels that cache something derived from M⁻¹ (NUTS's whitened Hessian) key it on this
        self.version += 1
        if self.dense:
            cov = 0.5 * (cov + cov.T)
            self.inv_mass = np.ascontiguousarray(cov)
            self.inv_mass_diag = np.diag(cov).copy()
            mass = np.linalg.inv(cov)
            self.chol_mass = np.ascontiguousarray(np.linalg.cholesky(0.5 * (mass + mass.T)))
        else:
            self.inv_mass_diag = np.ascontiguousarray(cov, dtype=float)
            self.inv_mass = np.zeros((1, 1))
            self.chol_mass = np.zeros((1, 1))

    def set_from_moments(self, cov: np.ndarray, count: int):
        """Set M⁻¹ from a window's sample covariance (dense) or variances (diag) of ``count``
        draws.

        Dense: with fewer draws than spins the sample covariance is rank-deficient, and a
        near-zero direction of M⁻¹ freezes that direction (NUTS then never sees a U-turn), so it
        is first shrunk towards its own diagonal, α·Σ̂ + (1 − α)·diag Σ̂ with α = w/(w + n)
        (a Ledoit–Wolf-type target). Both kinds then get Stan's regularisation
        (w/(w+5))·Σ + 10⁻³·(5/(w+5))·s·I, with s the mean variance so the jitter follows the
        spins' own scale.
        """
        if self.kind == "identity" or count < 3:
            return
        shrink = count / (count + 5.0)
        jitter = 1e-3 * 5.0 / (count + 5.0)
        if self.dense:
            alpha = count / (count + self.n)
            var = np.diag(cov).copy()
            cov = alpha * cov
            cov[np.diag_indices_from(cov)] += (1.0 - alpha) * var
            scale = float(np.mean(var))
            self.set_covariance(shrink * cov + jitter * scale * np.eye(self.n))
        else:
            scale = float(np.mean(cov))
            self.set_covariance(shrink * cov + jitter * scale)

    def velocity(self, P: np.ndarray) -> np.ndarray:
        """M⁻¹p for momenta stacked in rows (B, n)."""
        if self.dense:
            return P @ self.inv_mass
        return P * self.inv_mass_diag

    def momenta(self, noise: np.ndarray) -> np.ndarray:
        """p ~ N(0, M) from standard normal rows."""
        if self.dense:
            return noise @ self.chol_mass.T
        return noise / np.sqrt(self.inv_mass_diag)

    def state(self) -> dict:
        if self.dense:
            return {"metric_cov": self.inv_mass}
        return {"metric_cov": self.inv_mass_diag}

    def set_state(self, arrays: dict):
        self.set_covariance(arrays["metric_cov"].copy())
