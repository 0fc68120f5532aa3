"""Numerical checks of the theory: exponential 0-1 convergence, no L/B requirement, sign symmetry.

Bu et al. (NeurIPS 2024) prove that the 0-1 test error converges exponentially fast,
``E_t − E* ≲ C e^{−ct}``, with no requirement on the demonstration length L or the batch size B;
the exact constants are unavailable (``shared/reference/multiconcept_icl.md`` §4), so the checks
test the *shape*:

* :func:`fit_exponential_rate` fits log(E_t − E*) against t by weighted least squares over the
  window where the excess error is resolved (binomial standard errors), with a t-interval on the
  rate, and compares it with the effective exponential rate of the cross-entropy over the same
  window (much slower);
* :func:`convergence_sweep` measures the steps to reach ``floor(L) + tolerance`` across L and B;
* :func:`sign_symmetry` counts, over seeds, how often each initialisation reaches the "correct"
  attention solution, the sign-flipped "anti-attention" one, or a per-concept mixture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._grid import GridResult, variable_property
from .._validation import check_finite_array, check_int, check_real
from .model import INITS

__all__ = ["ExponentialFit", "fit_exponential_rate", "fit_training_rate", "convergence_time",
           "ConvergenceSweep", "convergence_sweep", "RateSweep", "rate_sweep", "SWEEPABLE",
           "SignSymmetry", "sign_symmetry"]


@dataclass(frozen=True)
class ExponentialFit:
    """Fit of ``log(E_t − E*) = log C − c t``.

    Attributes
    ----------
    rate : float
        c (per step); NaN when no fit was possible.
    rate_ci : (float, float)
        Confidence interval of c (t-distribution, residual-scaled covariance).
    amplitude : float
        C.
    window : (int, int)
        First and last step used.
    n_points : int
    reference_rate : float
        Effective exponential decay rate of the reference curve (e.g. the cross-entropy) over the
        same window, −d log(curve)/dt by least squares; NaN when none was given.
    converged : bool
        A fit with at least 3 points was made.
    message : str
    """

    rate: float
    rate_ci: tuple
    amplitude: float
    window: tuple
    n_points: int
    reference_rate: float
    converged: bool
    message: str
    used: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool), repr=False)

    def predict(self, steps) -> np.ndarray:
        """C e^{−c t} (the fitted excess error)."""
        return self.amplitude * np.exp(-self.rate * np.asarray(steps, dtype=float))

    def __repr__(self) -> str:
        lo, hi = self.rate_ci
        return (f"ExponentialFit(rate={self.rate:.4g} [{lo:.4g}, {hi:.4g}], "
                f"amplitude={self.amplitude:.3g}, window={self.window}, n_points={self.n_points},"
                f" reference_rate={self.reference_rate:.3g}, converged={self.converged})")


def fit_exponential_rate(steps, errors, *, floor: float = 0.0, n_test: int | None = None,
                         reference=None, start_fraction: float = 0.5,
                         min_sigma: float = 3.0, level: float = 0.95) -> ExponentialFit:
    """Fit the exponential rate of the excess 0-1 error ``E_t − E*``.

    Parameters
    ----------
    steps, errors : array-like (n,)
        Log points and the measured test errors.
    floor : float
        E* (2^{−L} for noiseless labels, see :func:`spinicl.concepts.retrieval_floor`).
    n_test : int, optional
        Test-set size behind every error: gives binomial standard errors
        sqrt(E(1 − E)/n) for the weights and the resolution cut. Without it the fit is unweighted
        and only positive excesses are used.
    reference : array-like (n,), optional
        A second curve (the cross-entropy) whose effective exponential rate over the same window
        is reported as ``reference_rate``.
    start_fraction : float
        The window starts at the first point after the excess has fallen below
        ``start_fraction`` × its maximum (past the initial saddle plateau).
    min_sigma : float
        The window ends before the first point whose excess is below ``min_sigma`` standard
        errors (unresolved from the floor).
    level : float
        Confidence level of ``rate_ci``.
    """
    from scipy import stats

    t = check_finite_array("steps", steps, ndim=1)
    E = check_finite_array("errors", errors, ndim=1)
    if t.shape != E.shape:
        raise ValueError(f"steps and errors must have the same length, got {t.size} and {E.size}")
    floor = check_real("floor", floor, minimum=0.0, maximum=1.0)
    n_test = check_int("n_test", n_test, minimum=1, allow_none=True)
    start_fraction = check_real("start_fraction", start_fraction, minimum=0.0, maximum=1.0,
                                strict_min=True)
    min_sigma = check_real("min_sigma", min_sigma, minimum=0.0)
    level = check_real("level", level, minimum=0.0, maximum=1.0, strict_min=True,
                       strict_max=True)
    excess = E - floor
    if n_test is not None:
        p = np.clip(E, 1.0 / n_test, 1 - 1.0 / n_test)
        sigma = np.sqrt(p * (1 - p) / n_test)
    else:
        sigma = np.zeros_like(E)
    nan = float("nan")

    def fail(msg):
        return ExponentialFit(rate=nan, rate_ci=(nan, nan), amplitude=nan, window=(0, 0),
                              n_points=0, reference_rate=nan, converged=False, message=msg,
                              used=np.zeros(E.size, dtype=bool))

    if E.size < 3 or not np.any(excess > 0):
        return fail("fewer than 3 points or no excess error above the floor")
    peak = int(np.argmax(excess))
    below = np.nonzero(excess[peak:] <= start_fraction * excess[peak])[0]
    if below.size == 0:
        return fail("the excess error never fell below start_fraction of its maximum")
    start = peak + int(below[0])
    resolved = excess > max(min_sigma, 0.0) * sigma
    resolved &= excess > 0
    stop = start
    while stop < E.size and resolved[stop]:
        stop += 1
    used = np.zeros(E.size, dtype=bool)
    used[start:stop] = True
    # one point before the window (still above start_fraction) anchors short drops
    if used.sum() < 3 and start > peak and resolved[start - 1]:
        used[start - 1] = True
    n = int(used.sum())
    if n < 3:
        return fail(f"only {n} resolved point(s) in the decay window; log more often or use "
                    "a larger test set")
    x, y = t[used], np.log(excess[used])
    if n_test is not None:
        w = (excess[used] / sigma[used]) ** 2        # 1/Var(log excess) by the delta method
    else:
        w = np.ones(n)
    X = np.column_stack([np.ones(n), x])
    XtW = X.T * w
    cov_unscaled = np.linalg.inv(XtW @ X)
    beta = cov_unscaled @ (XtW @ y)
    resid = y - X @ beta
    dof = n - 2
    chi2 = float(np.sum(w * resid**2))
    # residual-scaled covariance: honest when the points scatter more than the binomial errors
    scale = chi2 / dof if dof > 0 else np.inf
    if n_test is not None:
        scale = max(scale, 1.0)
    se = float(np.sqrt(cov_unscaled[1, 1] * scale)) if dof > 0 else np.inf
    q = float(stats.t.ppf(0.5 + level / 2, dof)) if dof > 0 else np.inf
    rate = -float(beta[1])
    ref_rate = nan
    if reference is not None:
        ref = check_finite_array("reference", reference, shape=(E.size,))
        if np.all(ref[used] > 0):
            ref_rate = -float(np.polyfit(x, np.log(ref[used]), 1)[0])
    return ExponentialFit(rate=rate, rate_ci=(rate - q * se, rate + q * se),
                          amplitude=float(np.exp(beta[0])), window=(int(x[0]), int(x[-1])),
                          n_points=n, reference_rate=ref_rate, converged=True,
                          message=f"weighted fit over {n} points, chi2/dof = "
                                  f"{chi2 / max(dof, 1):.3g}", used=used)


def fit_training_rate(result, test_name: str = "test", **options) -> ExponentialFit:
    """:func:`fit_exponential_rate` on a :class:`~spinicl.concepts.TrainingResult`'s test curve,
    with its floor, test-set size and cross-entropy as the reference."""
    return fit_exponential_rate(
        result.steps, result.series(f"{test_name}.error"), floor=result.floors[test_name],
        n_test=result.settings["n_test"], reference=result.series(f"{test_name}.loss"),
        **options)


def convergence_time(steps, errors, *, floor: float, tolerance: float = 0.01) -> float:
    """First logged step from which the error stays <= floor + tolerance (inf if never)."""
    t = check_finite_array("steps", steps, ndim=1)
    E = check_finite_array("errors", errors, shape=(t.size,))
    ok = E <= floor + tolerance
    if not ok[-1]:
        return float("inf")
    bad = np.nonzero(~ok)[0]
    return float(t[0] if bad.size == 0 else t[bad[-1] + 1])


class ConvergenceSweep(GridResult):
    """Steps to convergence across context lengths and batch sizes: a grid result.

    Dims ``("context_length", "batch_size", "repeat")`` (the seeds are the repeats); ``mean``,
    ``stderr``, ``sel``, ``save``/``load`` and ``to_xarray`` are :class:`~spinicl.GridResult`'s
    (``sweep.mean("final_errors")`` averages the seeds; ``times`` holds inf where a run never
    converged, so take its median rather than its mean).

    Attributes
    ----------
    context_lengths, batch_sizes : ndarray
        The coordinates ``context_length`` and ``batch_size``.
    times : ndarray (n_L, n_B, n_seeds)
        Steps until the test error stays within ``tolerance`` of the floor (inf if never).
    final_errors : ndarray (n_L, n_B, n_seeds)
    floors : ndarray (n_L,)
        2^{−L}.
    rates : ndarray (n_L, n_B, n_seeds)
        Fitted exponential rates (NaN where no fit was possible).
    settings : dict
        The run's settings (``parameters``).
    """

    def __init__(self, *, context_lengths, batch_sizes, times, final_errors, floors, rates,
                 settings: dict | None = None):
        times = np.asarray(times, dtype=float)
        super().__init__("concepts_convergence",
                         {"context_length": np.asarray(context_lengths),
                          "batch_size": np.asarray(batch_sizes),
                          "repeat": np.arange(times.shape[2])},
                         {"times": times, "final_errors": final_errors, "rates": rates,
                          "floors": floors},
                         settings, var_dims={"floors": ("context_length",)})

    @property
    def context_lengths(self) -> np.ndarray:
        return self.coords["context_length"]

    @property
    def batch_sizes(self) -> np.ndarray:
        return self.coords["batch_size"]

    times = variable_property("times")
    final_errors = variable_property("final_errors")
    rates = variable_property("rates")
    floors = variable_property("floors")

    @property
    def settings(self) -> dict:
        return self.parameters

    @property
    def converged(self) -> np.ndarray:
        return np.isfinite(self.times)

    def table(self) -> str:
        """Median steps to convergence (converged seeds / all) per (L, B)."""
        lines = ["    L " + "".join(f"{'B=' + str(b):>20s}" for b in self.batch_sizes)]
        for i, L in enumerate(self.context_lengths):
            cells = []
            for j in range(self.batch_sizes.size):
                t = self.times[i, j]
                ok = np.isfinite(t)
                med = f"{np.median(t[ok]):.0f}" if ok.any() else "-"
                cells.append(f"{med:>12s} ({ok.sum()}/{t.size})")
            lines.append(f"{L:5d} " + "".join(f"{c:>20s}" for c in cells))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"ConvergenceSweep(L={self.context_lengths.tolist()}, "
                f"B={self.batch_sizes.tolist()}, converged={int(self.converged.sum())}/"
                f"{self.times.size})\n{self.table()}")

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        return cls(context_lengths=coords["context_length"], batch_sizes=coords["batch_size"],
                   times=data["times"], final_errors=data["final_errors"],
                   floors=data["floors"], rates=data["rates"], settings=record["parameters"])


def convergence_sweep(context_lengths=(1, 2, 4, 8, 16), batch_sizes=(1, 8, 64), *,
                      steps: int = 6000, n_seeds: int = 2, tolerance: float = 0.01,
                      log_every: int = 50, n_test: int = 4000, lr: float = 0.25, rng=0,
                      progress: bool = True, store=None, executor: str = "serial",
                      workers: int | None = None, **setup) -> ConvergenceSweep:
    """Train at every (L, B) and seed; record the steps to reach floor(L) + tolerance.

    ``setup`` is passed to :func:`~spinicl.concepts.default_setup` (dim, n_concepts, ...).
    Each run uses its own child of the master seed (model init and data). One constant η serves
    every B; the default 0.25 is stable down to B = 1 (η = 1 is not: single-prompt steps then
    kick the model off the solution). At L = 1 the floor is 1/2 and ties F = 0 (dead ReLUs)
    count as errors, so L = 1 measures nothing but stability.

    The grid runs as a sweep of ``"concepts-convergence"`` cells (one unit per (L, B, seed);
    unit u draws from child u of the master seed, the stream of run u before the studies ran as
    sweeps).

    Parameters
    ----------
    store : path, optional
        Folder of the sweep's unit files: a rerun with the same folder and settings reuses
        every finished run. ``None``: a temporary folder.
    executor : {"serial", "process", "dask"}
        Where the units run; every executor gives the same bits.
    workers : int, optional
        Worker processes of the ``"process"`` and ``"dask"`` executors.
    """
    from ..sweep.runner import master_seed, run_cells

    Ls = np.array([check_int("context_lengths", L, minimum=1) for L in context_lengths])
    Bs = np.array([check_int("batch_sizes", B, minimum=1) for B in batch_sizes])
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    tolerance = check_real("tolerance", tolerance, minimum=0.0, strict_min=True)
    sweep = run_cells(kind="concepts-convergence",
                      axes={"context_length": Ls, "batch_size": Bs},
                      parameters=dict(steps=steps, tolerance=tolerance, log_every=log_every,
                                      n_test=n_test, lr=lr, setup=dict(setup)),
                      repeats=n_seeds, rng=master_seed(rng), name="concepts_convergence",
                      store=store, executor=executor, workers=workers, progress=progress)
    floors = 2.0 ** -Ls.astype(float)
    settings = dict(steps=steps, n_seeds=n_seeds, tolerance=tolerance, log_every=log_every,
                    n_test=n_test, lr=lr, **setup)
    return ConvergenceSweep(context_lengths=Ls, batch_sizes=Bs, times=sweep["time"],
                            final_errors=sweep["final_error"], floors=floors,
                            rates=sweep["rate"], settings=settings)


#: Parameters :func:`rate_sweep` can vary: training settings and :data:`DEFAULTS` keys.
SWEEPABLE = ("lr", "batch_size", "dim", "n_concepts", "context_length", "noise", "p_poly",
             "width", "l2", "init_scale", "alpha", "beta")


class RateSweep(GridResult):
    """Fitted exponential rates of the 0-1 excess error against one parameter: a grid result.

    Dims ``(parameter, "repeat")``: the swept parameter's own name (``"lr"``, ``"dim"``, …),
    then the seeds. ``sweep.mean("rates")`` averages the seeds; ``sweep.sel(lr=2.0)`` picks a
    value.

    Attributes
    ----------
    parameter : str
    values : ndarray (n,)
        The coordinate of dim ``parameter``.
    rates, rate_lo, rate_hi : ndarray (n, n_seeds)
        Fitted rate c and its confidence interval (NaN where no fit was possible).
    ce_rates : ndarray (n, n_seeds)
        Effective exponential rate of the cross-entropy over the same window.
    times : ndarray (n, n_seeds)
        Steps until the error stays within ``tolerance`` of the floor (inf if never).
    final_errors, floors : ndarray
    settings : dict
        The run's settings (``parameters``).
    """

    VARIABLES = ("rates", "rate_lo", "rate_hi", "ce_rates", "times", "final_errors")

    def __init__(self, *, parameter: str, values, rates, rate_lo, rate_hi, ce_rates, times,
                 final_errors, floors, settings: dict | None = None):
        self.parameter = parameter
        rates = np.asarray(rates, dtype=float)
        data = dict(rates=rates, rate_lo=rate_lo, rate_hi=rate_hi, ce_rates=ce_rates,
                    times=times, final_errors=final_errors, floors=floors)
        super().__init__("concepts_rates",
                         {parameter: np.asarray(values), "repeat": np.arange(rates.shape[1])},
                         data, settings, var_dims={"floors": (parameter,)})

    @property
    def values(self) -> np.ndarray:
        return self.coords[self.parameter]

    rates = variable_property("rates")
    rate_lo = variable_property("rate_lo")
    rate_hi = variable_property("rate_hi")
    ce_rates = variable_property("ce_rates")
    times = variable_property("times")
    final_errors = variable_property("final_errors")
    floors = variable_property("floors")

    @property
    def settings(self) -> dict:
        return self.parameters

    def table(self) -> str:
        lines = [f"{self.parameter:>14s}{'rate c':>12s}{'95% CI':>22s}{'CE rate':>11s}"
                 f"{'steps':>8s}{'final err':>11s}{'floor':>9s}"]
        for i, v in enumerate(self.values):
            for k in range(self.rates.shape[1]):
                ci = f"[{self.rate_lo[i, k]:.3g}, {self.rate_hi[i, k]:.3g}]"
                lines.append(f"{v:>14g}{self.rates[i, k]:>12.4g}{ci:>22s}"
                             f"{self.ce_rates[i, k]:>11.3g}{self.times[i, k]:>8.0f}"
                             f"{self.final_errors[i, k]:>11.4f}{self.floors[i]:>9.4f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RateSweep(parameter={self.parameter!r})\n{self.table()}"

    def _record_extra(self) -> dict:
        return {"parameter": self.parameter}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        parameter = record["parameter"]
        return cls(parameter=parameter, values=coords[parameter],
                   floors=data["floors"], settings=record["parameters"],
                   **{k: data[k] for k in cls.VARIABLES})


def rate_sweep(parameter: str, values, *, steps: int = 1500, n_seeds: int = 1,
               log_every: int = 10, n_test: int = 10000, lr: float = 1.0,
               batch_size: int = 64, tolerance: float = 0.01, rng=0, progress: bool = True,
               store=None, executor: str = "serial", workers: int | None = None,
               **setup) -> RateSweep:
    """Train at every value of one parameter and fit the exponential rate of E_t − E*.

    ``parameter`` is one of :data:`SWEEPABLE`: ``"lr"`` and ``"batch_size"`` change the
    optimiser, the others the setup (:func:`~spinicl.concepts.default_setup`). The remaining
    settings are the defaults, overridden by ``setup``. Seed k shares its init and data seeds
    across the values.

    The grid runs as a sweep of ``"concepts-rate"`` cells: one unit per seed trains every value
    (the values are the unit's nested axis, so they share the seed's streams); unit k draws from
    child k of the master seed. ``store``, ``executor`` and ``workers`` are those of
    :func:`convergence_sweep`.
    """
    from ..sweep.runner import master_seed, run_cells

    if parameter not in SWEEPABLE:
        raise ValueError(f"parameter must be one of {SWEEPABLE}, got {parameter!r}")
    vals = check_finite_array("values", values, ndim=1)
    if vals.size == 0:
        raise ValueError("values must hold at least one value")
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    sweep = run_cells(kind="concepts-rate", axes={"value": vals},
                      parameters=dict(parameter=parameter, steps=steps, log_every=log_every,
                                      n_test=n_test, lr=lr, batch_size=batch_size,
                                      tolerance=tolerance, setup=dict(setup)),
                      repeats=n_seeds, rng=master_seed(rng), name="concepts_rates",
                      store=store, executor=executor, workers=workers, progress=progress)
    return RateSweep(parameter=parameter, values=vals, rates=sweep["rate"],
                     rate_lo=sweep["rate_lo"], rate_hi=sweep["rate_hi"],
                     ce_rates=sweep["ce_rate"], times=sweep["time"],
                     final_errors=sweep["final_error"], floors=sweep["floor"][:, 0],
                     settings=dict(steps=steps, n_seeds=n_seeds, log_every=log_every,
                                   n_test=n_test, lr=lr, batch_size=batch_size,
                                   tolerance=tolerance, **setup))


class SignSymmetry(GridResult):
    """Which solution each initialisation reaches, over seeds: a grid result.

    The sign symmetry acts concept by concept: attention can match (γ^b_k > 0) or anti-match
    (γ^b_k < 0) the semantic direction b_k of each concept separately, and the MLP, whose
    neurons read concept-specific label features, can undo the flip for that concept alone.

    Dims ``("init", "repeat")`` (the seeds are the repeats; ``concept_signs`` adds
    ``"concept"``); ``res.mean("attention")`` averages the seeds per initialisation.

    Attributes
    ----------
    inits : tuple of str
        The coordinate ``init``.
    attention : ndarray (n_inits, n_seeds)
        Final correct attention weight (mass on demonstrations sharing the query's semantic).
    errors : ndarray (n_inits, n_seeds)
        Final test 0-1 error.
    concept_signs : ndarray of int (n_inits, n_seeds, K)
        sign γ^b_k of the final key coefficient of every concept.
    outcome : ndarray of str (n_inits, n_seeds)
        "correct" (every γ^b_k > 0: attention on the matching semantic), "anti" (every
        γ^b_k < 0: attention on the opposite semantic, the MLP flips the sign) or "mixed".
    settings : dict
        The run's settings (``parameters``).
    """

    def __init__(self, *, inits, attention, errors, concept_signs, outcome,
                 settings: dict | None = None):
        attention = np.asarray(attention, dtype=float)
        super().__init__("concepts_signs",
                         {"init": np.array(tuple(inits), dtype=str),
                          "repeat": np.arange(attention.shape[1])},
                         {"attention": attention, "errors": errors,
                          "concept_signs": np.asarray(concept_signs, dtype=int),
                          "outcome": np.asarray(outcome, dtype=str)},
                         settings,
                         var_dims={"concept_signs": ("init", "repeat", "concept")})

    @property
    def inits(self) -> tuple:
        return tuple(str(i) for i in self.coords["init"])

    attention = variable_property("attention")
    errors = variable_property("errors")
    concept_signs = variable_property("concept_signs")
    outcome = variable_property("outcome")

    @property
    def settings(self) -> dict:
        return self.parameters

    def fractions(self) -> dict:
        """{init: {"correct": f, "anti": f, "mixed": f, "concepts_correct": f}}."""
        out = {}
        for i, init in enumerate(self.inits):
            fr = {o: float(np.mean(self.outcome[i] == o)) for o in ("correct", "anti", "mixed")}
            fr["concepts_correct"] = float(np.mean(self.concept_signs[i] > 0))
            out[init] = fr
        return out

    def __repr__(self) -> str:
        rows = [f"  {init:>9s}: " + ", ".join(f"{k} {v:.2f}" for k, v in fr.items())
                + f"; median error {np.median(self.errors[i]):.4f}"
                for i, (init, fr) in enumerate(self.fractions().items())]
        return f"SignSymmetry(n_seeds={self.attention.shape[1]})\n" + "\n".join(rows)

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        return cls(inits=coords["init"], attention=data["attention"], errors=data["errors"],
                   concept_signs=data["concept_signs"], outcome=data["outcome"],
                   settings=record["parameters"])


def sign_symmetry(inits=("tied", "gaussian"), *, n_seeds: int = 8, steps: int = 1500,
                  attention: str = "separate", n_test: int = 2000, lr: float = 1.0, rng=0,
                  progress: bool = True, store=None, executor: str = "serial",
                  workers: int | None = None, **setup) -> SignSymmetry:
    """Train ``n_seeds`` models per initialisation and classify the solution each reaches.

    Seed k uses the same data stream for every initialisation, so the inits are compared on
    common random numbers. The grid runs as a sweep of ``"concepts-signs"`` cells: one unit per
    seed trains every initialisation (unit k draws from child k of the master seed);
    ``store``, ``executor`` and ``workers`` are those of :func:`convergence_sweep`.
    """
    from ..sweep.runner import master_seed, run_cells

    inits = tuple(inits)
    for init in inits:
        if init not in INITS:
            raise ValueError(f"inits must be among {INITS}, got {init!r}")
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    sweep = run_cells(kind="concepts-signs", axes={"init_index": np.arange(len(inits))},
                      parameters=dict(inits=list(inits), steps=steps, attention=attention,
                                      n_test=n_test, lr=lr, setup=dict(setup)),
                      repeats=n_seeds, rng=master_seed(rng), name="concepts_signs",
                      store=store, executor=executor, workers=workers, progress=progress)
    signs = sweep["concept_signs"].astype(int)
    outcome = np.where(np.all(signs > 0, axis=2), "correct",
                       np.where(np.all(signs < 0, axis=2), "anti", "mixed"))
    return SignSymmetry(inits=inits, attention=sweep["attention"], errors=sweep["error"],
                        concept_signs=signs, outcome=outcome,
                        settings=dict(n_seeds=n_seeds, steps=steps, attention=attention,
                                      n_test=n_test, lr=lr, **setup))
