"""The result of a sampling run: draws or observables shaped (chain, draw), plus diagnostics."""
from __future__ import annotations

import warnings as _warnings

import numpy as np

from .. import diagnostics as dg
from .._result import Status, result_repr

__all__ = ["Samples"]


class _CallableArray(np.ndarray):
    """An ndarray that may still be called, as the method it used to be, with a warning.

    ``Samples.mean`` and ``Samples.variance`` were methods; the result protocol makes them
    arrays as on every other result (``SolverResult.mean``, ``BoltzmannMeasure.mean``).
    ``samples.mean()`` keeps working for one release and warns.
    """

    _name = "mean"

    def __call__(self):
        _warnings.warn(f"Samples.{self._name}() is deprecated: Samples.{self._name} is now an "
                       "array (drop the parentheses)", DeprecationWarning, stacklevel=2)
        return self.view(np.ndarray)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        # arithmetic on the array gives plain arrays (and scalars), not callable ones
        out = np.asarray(array).view(np.ndarray)
        return out[()] if return_scalar else out


def _callable(values: np.ndarray, name: str) -> np.ndarray:
    out = np.asarray(values).view(_CallableArray)
    out._name = name
    return out


def _nan_min(values) -> float:
    """Smallest finite value, NaN when there is none (e.g. every spin constant)."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else float("nan")


def _nan_max(values) -> float:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else float("nan")


class Samples:
    """Draws of exp(−βH) from :func:`spinicl.sample`.

    Attributes
    ----------
    method : str
    beta : float
    draws : ndarray (chain, draw, spin) or None
        None when only observables were stored. Rows of a chain that diverged are NaN from the
        divergence on.
    observables : dict[str, ndarray (chain, draw)]
        Always holds ``"energy"`` (H, not βH).
    warmup_energy : ndarray (chain, n_warmup)
        H during warm-up, kept apart from the sample.
    step_size : ndarray (chain,) or None
        The frozen post-warm-up step size of each chain (of its β replica under tempering).
    acceptance_rate : ndarray (chain,)
        Mean acceptance statistic after warm-up (1 for Gibbs, ULA and exact draws).
    n_divergent : ndarray (chain,)
        HMC/NUTS transitions with energy error > 1000 after warm-up.
    diverged : ndarray of bool (chain,)
        Chains stopped because their state became non-finite; ``divergence_messages`` says when
        and why.
    ladder, swap_acceptance : ndarray or None
        Parallel tempering: the β ladder and the acceptance rate of each neighbour pair.
    replica_energy : ndarray (chain, replica, draw) or None
        Parallel tempering: H of every replica at each recorded draw.
    n_gradient : ndarray (chain,)
        Gradient evaluations (leapfrog steps) per chain after warm-up (HMC/NUTS).
    sample_stats : dict[str, ndarray (chain, draw)]
        Per-draw sampler statistics under ArviZ's names: ``lp`` (−βH), ``acceptance_rate``,
        ``step_size`` (kernels with a step), and for HMC/NUTS ``diverging``, ``n_steps``
        (leapfrog steps), ``energy`` (the Hamiltonian ℋ, for the E-BFMI) and, for NUTS,
        ``tree_depth``. With thinning they describe the kept transition, except ``diverging``,
        which also flags a divergence in the transitions thinned out since the previous draw.
    compile_seconds, warmup_seconds, sampling_seconds : float
        numba's first-call cost (compiling the kernel, or loading it from numba's cache), paid
        before warm-up is timed, then warm-up and sampling; :attr:`timing` holds all three.
    settings : dict
        Every option of the run.
    converged, status, message, n_iter, seconds
        The result protocol (:mod:`spinicl._result`). ``converged`` is the stated criterion of
        :meth:`summary`: no chain diverged and the diagnostics raise no warning (R-hat <= 1.01
        and bulk/tail ESS >= 100 per chain for every observable and spin, no divergent
        transition, every replica pair swapping at least 10 % of the time). ``status`` is
        ``"converged"``, ``"diverged"`` (a chain left the finite states), ``"max_iter"`` (the
        draws ran out before the criterion was met) or ``"stopped"`` (a callback stopped the
        run: ``stop_reason`` says why, ``steps_done`` how far it got, the draws not made are
        NaN); ``message`` says which; ``n_iter`` is the transitions per chain (warm-up and
        thinned-out ones included); ``seconds`` the compile, warm-up and sampling time together.
    """

    def __init__(self, *, method, beta, draws, observables, n_warmup, thin, warmup_energy=None,
                 step_size=None, acceptance_rate=None, n_divergent=None, diverged=None,
                 divergence_messages=None, ladder=None, swap_acceptance=None,
                 replica_energy=None, n_gradient=None, metric=None, warmup_seconds=0.0,
                 sampling_seconds=0.0, compile_seconds=0.0, sample_stats=None, settings=None):
        self.method = method
        self.beta = float(beta)
        self.draws = draws
        self.observables = dict(observables)
        n_chains, n_draws = self.observables["energy"].shape
        self.n_chains, self.n_draws = int(n_chains), int(n_draws)
        self.n_warmup = int(n_warmup)
        self.thin = int(thin)
        self.warmup_energy = (np.zeros((n_chains, 0)) if warmup_energy is None
                              else warmup_energy)
        self.step_size = step_size
        self.acceptance_rate = (np.ones(n_chains) if acceptance_rate is None
                                else np.asarray(acceptance_rate, dtype=float))
        self.n_divergent = (np.zeros(n_chains, dtype=int) if n_divergent is None
                            else np.asarray(n_divergent))
        self.diverged = (np.zeros(n_chains, dtype=bool) if diverged is None
                         else np.asarray(diverged, dtype=bool))
        self.divergence_messages = dict(divergence_messages or {})
        self.ladder = ladder
        self.swap_acceptance = swap_acceptance
        self.replica_energy = replica_energy
        self.n_gradient = n_gradient
        self.metric = metric
        self.warmup_seconds = float(warmup_seconds)
        self.sampling_seconds = float(sampling_seconds)
        self.compile_seconds = float(compile_seconds)
        self.sample_stats = dict(sample_stats or {})
        for name, values in self.sample_stats.items():
            if np.shape(values) != (n_chains, n_draws):
                raise ValueError(f"sample_stats[{name!r}] must have shape (chain, draw) = "
                                 f"{(n_chains, n_draws)}, got {np.shape(values)}")
        self.settings = dict(settings or {})
        self._warning_cache = None
        self.stop_reason = None
        self.steps_done = None

    def stopped(self, reason: str, steps_done: int, total: int) -> "Samples":
        """Mark this result as stopped early by a callback (status ``"stopped"``).

        The draws not made yet stay NaN; rerunning the same ``sample`` call with its checkpoint
        continues the run.
        """
        self.stop_reason = str(reason)
        self.steps_done = int(steps_done)
        self._stop_total = int(total)
        return self

    # ------------------------------------------------------------------ result protocol
    @property
    def n_iter(self) -> int:
        """Transitions per chain: warm-up plus the kept draws times the thinning."""
        return self.n_warmup + self.n_draws * self.thin

    @property
    def seconds(self) -> float:
        """Compile, warm-up and sampling time together (:attr:`timing` has each)."""
        return self.compile_seconds + self.warmup_seconds + self.sampling_seconds

    @property
    def status(self) -> Status:
        if self.stop_reason is not None:
            return Status.STOPPED
        if np.any(self.diverged):
            return Status.DIVERGED
        return Status.CONVERGED if not self.warnings() else Status.MAX_ITER

    @property
    def converged(self) -> bool:
        """No chain diverged and the diagnostics raise no warning (see :meth:`warnings`)."""
        return self.status is Status.CONVERGED

    @property
    def message(self) -> str:
        if self.stop_reason is not None:
            return (f"stopped after {self.steps_done} of {self._stop_total} steps: "
                    f"{self.stop_reason}")
        status, warns = self.status, self.warnings()
        if status is Status.CONVERGED:
            return (f"converged after {self.n_iter} transitions per chain: no warnings "
                    f"(R-hat <= {dg.RHAT_THRESHOLD} and ESS >= {dg.MIN_ESS_PER_CHAIN} per "
                    "chain everywhere)")
        head = (f"{int(np.sum(self.diverged))}/{self.n_chains} chain(s) diverged"
                if status is Status.DIVERGED else
                f"not converged after {self.n_iter} transitions per chain")
        return f"{head}: {len(warns)} warning(s); first: {warns[0]}"

    # ------------------------------------------------------------------ access
    @property
    def timing(self) -> dict:
        """Seconds spent on ``compile`` (numba's first call), ``warmup`` and ``sampling``."""
        return {"compile": self.compile_seconds, "warmup": self.warmup_seconds,
                "sampling": self.sampling_seconds}

    @property
    def n_spins(self) -> int | None:
        return None if self.draws is None else self.draws.shape[2]

    @property
    def good_chains(self) -> np.ndarray:
        """Indices of the chains that did not diverge (the ones every statistic uses)."""
        return np.flatnonzero(~self.diverged)

    def _chains(self, values):
        good = self.good_chains
        if good.size == 0:
            raise ValueError("every chain diverged; no statistic can be computed: "
                             + "; ".join(self.divergence_messages.values()))
        return values[good]

    def _need_draws(self):
        if self.draws is None:
            raise ValueError("this run stored only observables (observables=... without "
                             "keep_draws=True); per-spin statistics need the draws")
        return self._chains(self.draws)

    def flat_draws(self) -> np.ndarray:
        """All draws of the good chains, shape (chain·draw, spin)."""
        d = self._need_draws()
        return d.reshape(-1, d.shape[2])

    @property
    def mean(self) -> np.ndarray:
        """Per-spin sample mean over the good chains (an array, as ``SolverResult.mean``)."""
        return _callable(self.flat_draws().mean(axis=0), "mean")

    @property
    def variance(self) -> np.ndarray:
        """Per-spin sample variance over the good chains (an array)."""
        return _callable(self.flat_draws().var(axis=0, ddof=1), "variance")

    def stats(self, name: str = "energy") -> dg.Stats:
        """:class:`~spinicl.diagnostics.Stats` of one stored observable."""
        if name not in self.observables:
            raise ValueError(f"name must be one of {sorted(self.observables)}, got {name!r}")
        return dg.summarize(self._chains(self.observables[name]))

    def spin_diagnostics(self) -> dict:
        """Per-spin arrays: mean, mcse, ess_bulk, ess_tail, ess_mean and rhat (good chains)."""
        d = self._need_draws()
        n = d.shape[2]
        out = {k: np.empty(n) for k in ("mean", "mcse", "ess_bulk", "ess_tail", "ess_mean",
                                        "rhat")}
        for i in range(n):
            x = d[:, :, i]
            if np.ptp(x) == 0:
                for k in out:
                    out[k][i] = np.nan
                out["mean"][i] = x[0, 0]
                continue
            out["mean"][i] = x.mean()
            out["ess_mean"][i] = dg.ess_mean(x)
            out["mcse"][i] = np.sqrt(x.var(ddof=1) / out["ess_mean"][i])
            out["ess_bulk"][i] = dg.ess_bulk(x)
            out["ess_tail"][i] = dg.ess_tail(x)
            out["rhat"][i] = dg.rhat(x)
        return out

    def min_ess(self) -> float:
        """The smallest bulk ESS over spins: the slowest spin sets the cost of a run."""
        return _nan_min(self.spin_diagnostics()["ess_bulk"])

    # ------------------------------------------------------------------ reporting
    def warnings(self) -> list[str]:
        """Descriptions of every problem the diagnostics see, each with what to do about it."""
        if self._warning_cache is None:
            self._warning_cache = self._diagnose()
        return list(self._warning_cache)

    def _diagnose(self) -> list[str]:
        if self.stop_reason is not None:
            # a partial run's later draws are NaN: no statistic over them means anything yet
            return [f"the run was stopped after {self.steps_done} of {self._stop_total} steps "
                    f"({self.stop_reason}); rerun the same call with its checkpoint to finish"]
        out = []
        for chain in np.flatnonzero(self.diverged):
            msg = self.divergence_messages.get(int(chain), "non-finite state")
            out.append(f"chain {chain} diverged and was stopped: {msg}. Lower step_size (or "
                       "raise target_accept); its draws are excluded from every statistic.")
        if self.good_chains.size == 0:
            return out
        checks = [(name, self.stats(name)) for name in self.observables]
        if self.draws is not None:
            sd = self.spin_diagnostics()
            worst_ess = int(np.nanargmin(sd["ess_bulk"])) if np.isfinite(sd["ess_bulk"]).any() \
                else None
            worst_rhat = int(np.nanargmax(sd["rhat"])) if np.isfinite(sd["rhat"]).any() else None
            n_good = self.good_chains.size
            if worst_rhat is not None and sd["rhat"][worst_rhat] > dg.RHAT_THRESHOLD:
                bad = int(np.sum(sd["rhat"] > dg.RHAT_THRESHOLD))
                out.append(f"{bad} spin(s) have R-hat > {dg.RHAT_THRESHOLD} (worst: spin "
                           f"{worst_rhat}, R-hat {sd['rhat'][worst_rhat]:.3f}): the chains have "
                           "not mixed. Run longer (more n_warmup and n_draws); for a "
                           "multimodal energy add tempering (method='pt').")
            if worst_ess is not None and sd["ess_bulk"][worst_ess] < dg.MIN_ESS_PER_CHAIN * n_good:
                out.append(f"the slowest spin ({worst_ess}) has bulk ESS "
                           f"{sd['ess_bulk'][worst_ess]:.0f} < {dg.MIN_ESS_PER_CHAIN * n_good} "
                           f"({dg.MIN_ESS_PER_CHAIN} per chain): "
                           "run longer, or use a better-conditioned sampler (method='nuts' or "
                           "'hmc' with metric='dense').")
        for name, s in checks:
            if s.variance == 0:
                out.append(f"{name} never changed: no proposal was accepted. Lower step_size "
                           "(or let warm-up adapt it).")
                continue
            if np.isfinite(s.R_hat) and s.R_hat > dg.RHAT_THRESHOLD:
                out.append(f"{name}: R-hat {s.R_hat:.3f} > {dg.RHAT_THRESHOLD}: the chains "
                           "disagree. Run longer; if the chains sit in different wells, add "
                           "tempering (method='pt').")
            need = dg.MIN_ESS_PER_CHAIN * s.n_chains
            if s.ess_bulk < need or s.ess_tail < need:
                out.append(f"{name}: ESS bulk {s.ess_bulk:.0f} / tail {s.ess_tail:.0f} < "
                           f"{need} ({dg.MIN_ESS_PER_CHAIN} per chain): the error bars are "
                           "unreliable. Run longer (increase n_draws).")
        div = int(np.sum(self.n_divergent[self.good_chains]))
        if div:
            out.append(f"{div} divergent transition(s) after warm-up: the step size is too "
                       "large for the stiffest direction. Raise target_accept (e.g. 0.95) or "
                       "lower step_size.")
        if self.swap_acceptance is not None and np.any(self.swap_acceptance < 0.1):
            pairs = np.flatnonzero(self.swap_acceptance < 0.1)
            out.append(f"replica pairs {pairs.tolist()} swap less than 10% of the time: add "
                       "replicas between those temperatures (a denser ladder).")
        return out

    def summary(self, *, show: bool = False) -> str:
        """A table of every observable's statistics, the sampler's health, and warnings.

        Returns the text; ``show=True`` also prints it.
        """
        lines = [f"{self.method} at beta={self.beta:g}: {self.n_chains} chains x "
                 f"{self.n_draws} draws (thin {self.thin}, warm-up {self.n_warmup})"]
        lines.append(f"{'observable':<16}{'mean ± mcse':>28}{'R-hat':>8}{'ESS bulk':>10}"
                     f"{'ESS tail':>10}{'tau':>8}")
        if self.good_chains.size:
            for name in self.observables:
                s = self.stats(name)
                lines.append(f"{name:<16}{dg._round_pair(s.mean, s.error_of_mean):>28}"
                             f"{s.R_hat:>8.3f}{s.ess_bulk:>10.0f}{s.ess_tail:>10.0f}"
                             f"{s.tau_corr:>8.1f}")
            if self.draws is not None:
                sd = self.spin_diagnostics()
                lines.append(f"{'spins (worst)':<16}{'':>28}{_nan_max(sd['rhat']):>8.3f}"
                             f"{_nan_min(sd['ess_bulk']):>10.0f}"
                             f"{_nan_min(sd['ess_tail']):>10.0f}{'':>8}")
        acc = self.acceptance_rate
        lines.append(f"acceptance: mean {np.mean(acc):.3f} (min {np.min(acc):.3f}, "
                     f"max {np.max(acc):.3f})")
        if self.step_size is not None:
            lines.append(f"step size: {np.array2string(np.asarray(self.step_size), precision=3)}")
        if self.n_gradient is not None:
            lines.append(f"gradient evaluations per draw: "
                         f"{np.mean(self.n_gradient) / max(self.n_draws, 1):.1f}")
        if self.swap_acceptance is not None:
            lines.append("swap acceptance per pair: "
                         + np.array2string(self.swap_acceptance, precision=2))
        lines.append(f"time: compile {self.compile_seconds:.2f}s (numba, first call), warm-up "
                     f"{self.warmup_seconds:.2f}s, sampling {self.sampling_seconds:.2f}s")
        warns = self.warnings()
        if warns:
            lines.append("WARNINGS:")
            lines.extend(f"  - {w}" for w in warns)
        else:
            lines.append("no warnings: R-hat <= 1.01 and ESS >= 100 per chain everywhere")
        text = "\n".join(lines)
        if show:
            print(text)
        return text

    def to_arviz(self):
        """An ``arviz.InferenceData`` with ``posterior`` and ``sample_stats`` groups.

        The posterior holds the observables and, when stored, the spins (dimension ``spin``);
        sample_stats holds :attr:`sample_stats` (``lp``, ``acceptance_rate``, ``step_size``,
        ``diverging``, ``n_steps``, ``tree_depth``, ``energy`` as the kernel provides them), so
        ``arviz.summary``, ``arviz.bfmi`` (HMC/NUTS) and the divergence plots work. Chains that
        diverged are left in, as NaN from the divergence on. Raises ImportError with an install
        hint when ArviZ is missing; the plain (chain, draw, …) arrays are always available as
        ``draws``, ``observables`` and ``sample_stats``.
        """
        try:
            import arviz as az
        except ImportError:
            raise ImportError("to_arviz needs ArviZ (pip install arviz); the arrays are in "
                              "Samples.draws and Samples.observables, shaped (chain, draw, ...)"
                              ) from None
        posterior = {k: v for k, v in self.observables.items()}
        dims = {}
        if self.draws is not None:
            posterior["spins"] = self.draws
            dims["spins"] = ["spin"]
        return az.from_dict(posterior=posterior, sample_stats=self.sample_stats or None,
                            dims=dims)

    def __repr__(self) -> str:
        e = (self.stats("energy").mean if self.good_chains.size else float("nan"))
        return result_repr(self, {"method": self.method, "beta": self.beta},
                           {"chains": self.n_chains, "draws": self.n_draws,
                            "spins": self.n_spins, "mean_energy": e})
