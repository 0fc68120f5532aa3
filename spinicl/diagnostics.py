"""MCMC diagnostics in plain numpy: R̂, bulk/tail ESS, integrated autocorrelation time, MCSE.

Conventions follow ArviZ (data shaped (chain, draw)) and Vehtari, Gelman, Simpson, Carpenter &
Bürkner, "Rank-normalization, folding, and localization: an improved R̂" (Bayesian Analysis 16,
2021): split chains, rank-normalise, and report

* ``rhat``: the maximum of the rank-normalised split-R̂ of the draws and of their folded values
  |x − median| (sensitive to location and to scale differences between chains);
* ``ess_bulk``: the ESS of the rank-normalised split chains (Geyer's initial monotone sequence,
  chains combined through the within/between variance, as in Stan);
* ``ess_tail``: the smaller ESS of the indicators x ≤ q5% and x ≤ q95%;
* ``ess_mean`` and ``mcse_mean``: the ESS of the raw split chains and the Monte-Carlo standard
  error of the mean, √(Var/ESS).

``integrated_time`` is the windowed estimator of Sokal (1989) with the automatic window
M ≥ c·τ(M) used by emcee (Goodman & Weare 2010, Foreman-Mackey et al. 2013): the normalised
autocorrelation is averaged over chains before summing (emcee issue #209).

:class:`Stats` is one observable's summary, shaped after NetKet's ``Stats``: its repr reads
``mean ± err [R̂=…, ESS=…]``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats.mstats import mquantiles

from ._validation import check_finite_array, check_real

__all__ = ["autocorrelation", "integrated_time", "ess", "ess_bulk", "ess_tail", "ess_mean",
           "rhat", "mcse_mean", "Stats", "summarize", "RHAT_THRESHOLD", "MIN_ESS_PER_CHAIN"]

#: R̂ above this means the chains have not mixed (Vehtari et al. 2021).
RHAT_THRESHOLD = 1.01
#: Bulk and tail ESS below this many per chain make the R̂ and ESS estimates themselves unreliable.
MIN_ESS_PER_CHAIN = 100


def _as_chains(x, name="x") -> np.ndarray:
    """(chain, draw) array from a 1-D series (one chain) or a 2-D array."""
    arr = check_finite_array(name, x, ndim=(1, 2))
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape[1] < 4:
        raise ValueError(f"{name} needs at least 4 draws per chain, got shape {arr.shape}")
    return arr


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain cut into two halves (the middle draw of an odd chain is dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance of each chain (row) at lags 0..N−1, by FFT with zero padding."""
    n = x.shape[1]
    size = 1 << int(np.ceil(np.log2(2 * n)))
    centred = x - x.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spec * np.conj(spec), n=size, axis=1)[:, :n] / n


def autocorrelation(x) -> np.ndarray:
    """Normalised autocorrelation function of each chain, shape (chain, draw).

    A constant chain has no defined autocorrelation and gets NaN.
    """
    acov = _autocovariance(_as_chains(x))
    var = acov[:, :1]
    out = np.full_like(acov, np.nan)
    ok = var[:, 0] > 0
    out[ok] = acov[ok] / var[ok]
    return out


def integrated_time(x, *, c: float = 5.0) -> float:
    """Integrated autocorrelation time τ = 1 + 2 Σ_{t≥1} ρ(t), Sokal's automatic window.

    The autocorrelation is averaged over chains; the sum stops at the first window M with
    M ≥ c·τ(M). Returns NaN for constant chains. A chain shorter than about 50τ gives a biased
    estimate: :func:`summarize` and ``Samples.summary`` say so.
    """
    c = check_real("c", c, minimum=0.0, strict_min=True)
    rho = autocorrelation(x)
    if np.isnan(rho).any():
        return float("nan")
    f = rho.mean(axis=0)
    taus = 2.0 * np.cumsum(f) - 1.0
    window = np.arange(taus.size) >= c * taus
    m = int(np.argmax(window)) if window.any() else taus.size - 1
    return float(taus[m])


def ess(x) -> float:
    """Effective sample size of (chain, draw) draws, without splitting or rank normalisation.

    Stan's estimator (``posterior::ess_basic``, ArviZ's ``_ess``), reproduced step by step: the
    multi-chain autocorrelation ρ_t = 1 − (W − mean_c γ_c(t)) / var⁺ is summed in pairs
    P_k = ρ_2k + ρ_2k+1 while they stay positive (Geyer's initial positive sequence), the
    pairs are made non-increasing (initial monotone sequence), and the first lag ρ_2K of the
    pair that stopped the sum is added when it is positive,
    τ = −1 + 2 Σ_{k<K} P_k + ρ_2K. That last term is what keeps antithetic chains (NUTS and HMC
    produce them, ρ_1 < 0) from having their ESS overestimated. τ is floored at 1/log10(MN),
    so ESS ≤ MN·log10(MN). Returns NaN for constant draws.
    """
    return _ess(_as_chains(x))


def _ess(x: np.ndarray) -> float:
    """:func:`ess` of a validated (chain, draw) array with at least 2 draws per chain (split
    halves of 4-draw chains have 2)."""
    m, n = x.shape
    acov = _autocovariance(x)
    within = acov[:, 0].mean() * n / (n - 1.0)
    var_plus = within * (n - 1.0) / n
    if m > 1:
        var_plus += x.mean(axis=1).var(ddof=1)
    if not var_plus > 0:
        return float("nan")
    rho = 1.0 - (within - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    # Stan's loop examines the pairs P_1 .. P_K while the one before is positive, with
    # K = k_max set by its bound t < n − 3 on t = 2k − 1.
    k_max = max(0, -(-(n - 2) // 2) - 1)
    pairs = rho[: 2 * k_max + 2].reshape(k_max + 1, 2).sum(axis=1)
    if pairs[0] <= 0.0:
        stop = 0
    else:
        non_positive = np.flatnonzero(pairs[1:] <= 0.0)
        stop = int(non_positive[0]) + 1 if non_positive.size else k_max
    positive_sum = np.minimum.accumulate(pairs[:stop]).sum() if stop else 0.0
    # The first lag of the pair that ended the sum: Stan keeps that pair when its sum is >= 0
    # and, either way, its first lag when that lag alone is positive.
    first_lag = rho[2 * stop]
    last_first_lag = first_lag if (first_lag > 0.0 or pairs[stop] >= 0.0) else 0.0
    tau = -1.0 + 2.0 * positive_sum + last_first_lag
    tau = max(tau, 1.0 / np.log10(m * n))
    return float(m * n / tau)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..N of the flattened values, ties sharing their average rank."""
    _, inverse, counts = np.unique(x.ravel(), return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    return (upper - 0.5 * (counts - 1))[inverse].reshape(x.shape)


def _rank_normalise(x: np.ndarray) -> np.ndarray:
    ranks = _average_ranks(x)
    return ndtri((ranks - 0.375) / (x.size + 0.25))


def ess_bulk(x) -> float:
    """Bulk ESS: the ESS of the rank-normalised split chains."""
    return _ess(_rank_normalise(_split(_as_chains(x))))


def ess_tail(x) -> float:
    """Tail ESS: the smaller ESS of the indicators x ≤ q5% and x ≤ q95% (split chains).

    The quantiles are the type-7 (linear) quantiles of all draws, before splitting, as in Stan
    and ArviZ (the indicator of x ≤ q95% has the ESS of x > q95%). They are computed with the
    same arithmetic as ArviZ (``mquantiles``): when (N − 1)·p is an integer the quantile is a
    draw, and a one-ulp difference would move that draw across the threshold.
    """
    x = _as_chains(x)
    lo, hi = mquantiles(x.ravel(), [0.05, 0.95], alphap=1.0, betap=1.0)
    return min(_ess(_split((x <= lo).astype(float))), _ess(_split((x <= hi).astype(float))))


def ess_mean(x) -> float:
    """ESS for the mean: the ESS of the split chains on the original scale."""
    return _ess(_split(_as_chains(x)))


def _rhat_plain(s: np.ndarray) -> float:
    m, n = s.shape
    within = s.var(axis=1, ddof=1).mean()
    between = n * s.mean(axis=1).var(ddof=1)
    if not within > 0:
        return float("nan")
    return float(np.sqrt(((n - 1.0) / n * within + between / n) / within))


def rhat(x) -> float:
    """Rank-normalised split-R̂: max of the bulk and the folded (scale) R̂ (Vehtari et al. 2021)."""
    s = _split(_as_chains(x))
    folded = np.abs(s - np.median(s))
    return max(_rhat_plain(_rank_normalise(s)), _rhat_plain(_rank_normalise(folded)))


def mcse_mean(x) -> float:
    """Monte-Carlo standard error of the mean, √(Var / ESS_mean)."""
    x = _as_chains(x)
    e = ess_mean(x)
    return float(np.sqrt(x.var(ddof=1) / e)) if e > 0 else float("nan")


def _round_pair(mean: float, err: float) -> str:
    """``mean ± err`` with the error to two significant digits and the mean to match."""
    if not np.isfinite(err) or err <= 0:
        return f"{mean:.6g} ± {err:.2g}"
    digits = max(0, 1 - int(np.floor(np.log10(err))))
    if digits > 12 or abs(mean) >= 1e6 or (abs(mean) < 1e-4 and mean != 0):
        return f"{mean:.6e} ± {err:.2e}"
    return f"{mean:.{digits}f} ± {err:.{digits}f}"


@dataclass(frozen=True)
class Stats:
    """Summary of one observable over (chain, draw) samples.

    Attributes
    ----------
    mean, error_of_mean : float
        The sample mean and its Monte-Carlo standard error √(Var/ESS_mean).
    variance : float
        The pooled sample variance.
    tau_corr : float
        Integrated autocorrelation time (Sokal window, chains averaged).
    R_hat : float
        Rank-normalised split-R̂ (NaN with a single draw block or constant draws).
    ess_bulk, ess_tail, ess_mean : float
    n_chains, n_draws : int
        Draws per chain.
    """

    mean: float
    error_of_mean: float
    variance: float
    tau_corr: float
    R_hat: float
    ess_bulk: float
    ess_tail: float
    ess_mean: float
    n_chains: int
    n_draws: int

    @property
    def converged(self) -> bool:
        """R̂ ≤ 1.01 and bulk and tail ESS ≥ 100 per chain (Vehtari et al. 2021)."""
        return not self.problems()

    def problems(self) -> list[str]:
        """Plain-language descriptions of what is wrong, empty when nothing is."""
        out = []
        if not np.isfinite(self.R_hat):
            out.append("R-hat undefined (constant draws?)")
        elif self.R_hat > RHAT_THRESHOLD:
            out.append(f"R-hat {self.R_hat:.3f} > {RHAT_THRESHOLD}: chains disagree")
        need = MIN_ESS_PER_CHAIN * self.n_chains
        low = [f"{k} ESS {v:.0f}" for k, v in (("bulk", self.ess_bulk), ("tail", self.ess_tail))
               if not v >= need]
        if low:
            out.append(", ".join(low) + f" < {need} ({MIN_ESS_PER_CHAIN} per chain)")
        if np.isfinite(self.tau_corr) and self.n_draws < 50 * self.tau_corr:
            out.append(f"chains are shorter than 50 tau (tau = {self.tau_corr:.1f})")
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        rh = f"{self.R_hat:.3f}" if np.isfinite(self.R_hat) else "nan"
        return (f"{_round_pair(self.mean, self.error_of_mean)} "
                f"[R̂={rh}, ESS={self.ess_bulk:.0f}]")


def summarize(x) -> Stats:
    """:class:`Stats` of (chain, draw) draws of one scalar observable (a 1-D array is one chain)."""
    x = _as_chains(x)
    m, n = x.shape
    if np.ptp(x) == 0:
        nan = float("nan")
        return Stats(mean=float(x[0, 0]), error_of_mean=0.0, variance=0.0, tau_corr=nan,
                     R_hat=nan, ess_bulk=nan, ess_tail=nan, ess_mean=nan, n_chains=m,
                     n_draws=n)
    e_mean = ess_mean(x)
    return Stats(mean=float(x.mean()), error_of_mean=float(np.sqrt(x.var(ddof=1) / e_mean)),
                 variance=float(x.var(ddof=1)), tau_corr=integrated_time(x),
                 R_hat=rhat(x) if n >= 4 else float("nan"), ess_bulk=ess_bulk(x),
                 ess_tail=ess_tail(x), ess_mean=e_mean, n_chains=m, n_draws=n)
