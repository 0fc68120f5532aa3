"""The sampler objects: each method of :func:`~spinicl.samplers.sample` with its own options.

``sample(model, beta, method=NUTS(max_depth=8))`` and ``sample(model, beta, method="nuts",
max_depth=8)`` run the same chain. An object holds only the options its method takes, each
validated when it is made (ValueError or TypeError naming the option and its range); it is
immutable, compares equal by its options and shows them in its ``repr``. What a driver needs
from it is small: :meth:`SamplerKernel.build` returns the transition kernel over a target (the
numba step of :mod:`.langevin`, :mod:`.hmc` or :mod:`.gibbs`, with its noise shape, default
target acceptance and whether it adapts), and ``options()`` are the settings recorded.

Which file holds which method: ULA and MALA in :mod:`.langevin`, HMC and NUTS in :mod:`.hmc`,
Gibbs and Metropolis in :mod:`.gibbs`, the tempering ladder and annealing schedule in
:mod:`.tempering`, emcee in :mod:`.emcee_backend`, exact Cholesky draws in :mod:`.exact`; the
loop that drives them all (blocks, adaptation, callbacks, checkpoints) in :mod:`.driver`.

``operator`` ("auto", "dense", "matrix-free") is an option of :func:`sample`, not of a kernel:
it says how the target applies H's gradient, which every kernel reads the same way.
"""
from __future__ import annotations

from .._validation import check_choice, check_finite_array, check_int, check_real
from .gibbs import GibbsKernel, MetropolisKernel
from .hmc import HMCKernel, NUTSKernel
from .langevin import MALAKernel, ULAKernel

__all__ = ["SamplerKernel", "ULA", "MALA", "Gibbs", "Metropolis", "HMC", "NUTS",
           "ParallelTempering", "Anneal", "Emcee", "Exact", "KERNEL_TYPES", "as_kernel",
           "METRICS"]

METRICS = ("auto", "identity", "diag", "dense")
_UNSET = object()


class SamplerKernel:
    """Base class of the sampler objects: validated, immutable, keyword-only options.

    Subclasses list their options in ``_defaults`` (name → default) and validate them in
    ``_check``. Class attributes the driver reads: ``name`` (the string method), ``step_class``
    (the transition kernel in :mod:`._base`'s interface, None for emcee and exact).
    """

    name = "kernel"
    step_class = None
    _defaults: dict = {}
    # options that change how fast a run goes but not its draws (left out of checkpoint keys)
    speed_only: tuple = ()

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self._defaults))
        if unknown:
            raise TypeError(_foreign_message(unknown[0], self.name, tuple(self._defaults)))
        values = dict(self._defaults)
        values.update(options)
        object.__setattr__(self, "_options", self._check(values))

    def _check(self, values: dict) -> dict:
        return values

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable: make a new one with "
                             f"{type(self).__name__}(**{{...}})")

    def __getattr__(self, name):
        options = object.__getattribute__(self, "_options")
        if name in options:
            return options[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def options(self) -> dict:
        """The options as given or defaulted (name → value)."""
        return dict(self._options)

    def settings(self) -> dict:
        """The options as recorded in ``Samples.settings`` (JSON-able)."""
        return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in self._options.items()}

    def replace(self, **options) -> "SamplerKernel":
        """A copy with some options changed."""
        values = self.options()
        values.update(options)
        return type(self)(**values)

    def build(self, target):
        """The transition kernel over ``target`` (see :class:`spinicl.samplers._base.Kernel`)."""
        kernel = self.step_class(target, self._options)
        if kernel.needs_quadratic and not target.quadratic:
            raise ValueError(f"method {self.name!r} needs the quadratic spin glass (it updates "
                             "one spin at a time); use 'nuts', or 'mala', 'hmc' or 'ula', for a "
                             "custom potential")
        return kernel

    @property
    def adapts_step(self) -> bool:
        """Whether warm-up tunes the step size by dual averaging."""
        return bool(self.step_class is not None and self.step_class.adapts_step
                    and self._options.get("adapt_step_size", False))

    @property
    def default_target_accept(self) -> float | None:
        """The dual-averaging target used when ``target_accept`` is not given (None: no step)."""
        if self.step_class is None or not self.step_class.adapts_step:
            return None
        return self.step_class.default_target_accept

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(other) is type(self) and self.settings() == other.settings()

    def __hash__(self):
        return hash((type(self).__name__, repr(self)))


def _foreign_message(option, method, accepted) -> str:
    takes = ", ".join(accepted) if accepted else "no options"
    return f"{option} is not an option of {method}; {method} takes {takes}"


def _check_step_options(values, *, adapts=True):
    values["step_size"] = check_real("step_size", values["step_size"], minimum=0.0,
                                     strict_min=True, allow_none=True)
    if adapts:
        if not isinstance(values["adapt_step_size"], bool):
            raise TypeError(f"adapt_step_size must be True or False, got "
                            f"{values['adapt_step_size']!r}")
        values["target_accept"] = check_real("target_accept", values["target_accept"],
                                             minimum=0.0, maximum=1.0, strict_min=True,
                                             strict_max=True, allow_none=True)
    return values


_STEP = {"step_size": None, "adapt_step_size": True, "target_accept": None}


class ULA(SamplerKernel):
    """Unadjusted Langevin σ' = σ − εβ∇H + √(2ε)ξ; biased by ε (see ula_stationary_covariance).

    Parameters
    ----------
    step_size : float, optional
        ε in units of U = βH; default a tenth of the stability limit 2/λ_max. Never adapted.
    """

    name = "ula"
    step_class = ULAKernel
    _defaults = {"step_size": None}

    def _check(self, values):
        return _check_step_options(values, adapts=False)


class MALA(SamplerKernel):
    """Metropolis-adjusted Langevin (exact for exp(−βH)); ε dual-averaged towards 0.574.

    Parameters
    ----------
    step_size : float, optional
        Initial ε (default 1/λ_max of βH's Hessian, by power iteration).
    adapt_step_size : bool
        Tune ε during warm-up (then frozen).
    target_accept : float, optional
        Dual-averaging target in (0, 1) (default 0.574).
    """

    name = "mala"
    step_class = MALAKernel
    _defaults = dict(_STEP)

    def _check(self, values):
        return _check_step_options(values)


class Metropolis(SamplerKernel):
    """Single-spin random-walk Metropolis; proposal std in units of each conditional std.

    Parameters
    ----------
    step_size : float, optional
        Initial proposal scale (default 2.4).
    adapt_step_size : bool
    target_accept : float, optional
        Default 0.44.
    n_sweeps : int
        Sweeps over the spins per iteration (>= 1).
    """

    name = "metropolis"
    step_class = MetropolisKernel
    _defaults = {**_STEP, "n_sweeps": 1}

    def _check(self, values):
        values["n_sweeps"] = check_int("n_sweeps", values["n_sweeps"], minimum=1)
        return _check_step_options(values)


class Gibbs(SamplerKernel):
    """Heat-bath Gibbs: each spin drawn from its exact Gaussian conditional; no step size.

    Parameters
    ----------
    n_sweeps : int
        Sequential sweeps per iteration (>= 1).
    """

    name = "gibbs"
    step_class = GibbsKernel
    _defaults = {"n_sweeps": 1}

    def _check(self, values):
        values["n_sweeps"] = check_int("n_sweeps", values["n_sweeps"], minimum=1)
        return values


def _check_metric(values):
    check_choice("metric", values["metric"], METRICS)
    return _check_step_options(values)


class HMC(SamplerKernel):
    """Hamiltonian Monte Carlo: ``n_leapfrog`` batched leapfrog steps of jittered size.

    Parameters
    ----------
    step_size, adapt_step_size, target_accept
        As for :class:`MALA` (target default 0.8).
    metric : {"auto", "identity", "diag", "dense"}
        Inverse mass matrix, estimated in Stan's warm-up windows ("auto" is "diag").
    n_leapfrog : int
        Leapfrog steps per transition (>= 1).
    jitter : float
        Relative step-size jitter in [0, 1).
    """

    name = "hmc"
    step_class = HMCKernel
    _defaults = {**_STEP, "metric": "auto", "n_leapfrog": 10, "jitter": 0.2}

    def _check(self, values):
        values["n_leapfrog"] = check_int("n_leapfrog", values["n_leapfrog"], minimum=1)
        values["jitter"] = check_real("jitter", values["jitter"], minimum=0.0, maximum=1.0,
                                      strict_max=True)
        return _check_metric(values)


class NUTS(SamplerKernel):
    """The no-U-turn sampler (multinomial, generalised U-turn), numba, chain by chain.

    Takes the spin glass and any potential: one with a ``numba_energy_gradient`` (the merged and
    separate ModelHamiltonians) keeps the trajectory in numba; any other runs the same tree in
    Python, one ``energy_gradient`` call per leapfrog step.

    Parameters
    ----------
    step_size, adapt_step_size, target_accept
        As for :class:`MALA` (target default 0.8).
    metric : {"auto", "identity", "diag", "dense"}
        As for :class:`HMC`.
    max_depth : int
        Maximum tree depth in [1, 30] (at most 2^depth leapfrog steps per transition).
    threads : int, optional
        Threads the chains are spread over (>= 1; default numba's thread count, i.e. the cores
        or ``NUMBA_NUM_THREADS``; never more than the chains). Each chain draws from its own
        Generator, so the draws do not depend on it. A potential whose gradient is plain
        Python (no ``numba_energy_gradient``) runs on one thread.
    """

    name = "nuts"
    step_class = NUTSKernel
    _defaults = {**_STEP, "metric": "auto", "max_depth": 10, "threads": None}
    speed_only = ("threads",)

    def _check(self, values):
        values["max_depth"] = check_int("max_depth", values["max_depth"], minimum=1, maximum=30)
        if values["threads"] is not None:
            values["threads"] = check_int("threads", values["threads"], minimum=1)
        return _check_metric(values)


BASE_TYPES = {cls.name: cls for cls in (ULA, MALA, Gibbs, Metropolis, HMC, NUTS)}


def _check_base(base):
    if base is None or isinstance(base, SamplerKernel) and type(base) in BASE_TYPES.values():
        return base
    if isinstance(base, str):
        check_choice("base", base, tuple(BASE_TYPES))
        return BASE_TYPES[base]()
    raise TypeError(f"base must be one of {tuple(BASE_TYPES)} or one of their objects "
                    f"(NUTS(), MALA(), ...), got {base!r}")


class _Composite(SamplerKernel):
    """A method that runs a base kernel under a β schedule (tempering, annealing)."""

    def base_for(self, target) -> SamplerKernel:
        """The base kernel: as given, or Gibbs for a spin glass and MALA for a potential."""
        if self.base is not None:
            return self.base
        return Gibbs() if target.quadratic else MALA()

    def settings(self):
        out = super().settings()
        out["base"] = None if self.base is None else self.base.name
        if self.base is not None:
            out["base_options"] = self.base.settings()
        return out

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({args})"


class ParallelTempering(_Composite):
    """Replica exchange: R replicas per chain on a β ladder, neighbours swapped every iteration.

    Parameters
    ----------
    base : str or kernel object, optional
        The kernel moving each replica (default Gibbs for a spin glass, MALA for a potential).
    ladder : array, optional
        The increasing β ladder ending at β; default ``n_replicas`` geometric values from
        ``beta_min`` to β.
    n_replicas : int
        Replicas per chain (>= 2) when no ladder is given.
    beta_min : float, optional
        The lowest β of the default ladder (default β/10).
    """

    name = "pt"
    _defaults = {"base": None, "ladder": None, "n_replicas": 8, "beta_min": None}

    def _check(self, values):
        values["base"] = _check_base(values["base"])
        if values["ladder"] is not None:
            values["ladder"] = check_finite_array("ladder", values["ladder"], ndim=1)
            values["ladder"].setflags(write=False)
        values["n_replicas"] = check_int("n_replicas", values["n_replicas"], minimum=2)
        values["beta_min"] = check_real("beta_min", values["beta_min"], minimum=0.0,
                                        strict_min=True, allow_none=True)
        return values


class Anneal(_Composite):
    """Simulated annealing: β raised geometrically from ``beta_start`` during warm-up.

    Parameters
    ----------
    base : str or kernel object, optional
        As for :class:`ParallelTempering`.
    beta_start : float, optional
        The starting β (default β/100; at most β).
    """

    name = "anneal"
    _defaults = {"base": None, "beta_start": None}

    def _check(self, values):
        values["base"] = _check_base(values["base"])
        values["beta_start"] = check_real("beta_start", values["beta_start"], minimum=0.0,
                                          strict_min=True, allow_none=True)
        return values


class Emcee(SamplerKernel):
    """emcee's affine-invariant ensemble (one walker per chain; at most 64 spins). No options."""

    name = "emcee"


class Exact(SamplerKernel):
    """I.i.d. draws of N(A⁻¹h, (βA)⁻¹) by Cholesky, one Generator per chain. No options."""

    name = "exact"


KERNEL_TYPES = {cls.name: cls for cls in (*BASE_TYPES.values(), ParallelTempering, Anneal,
                                          Emcee, Exact)}


def as_kernel(method, options: dict, *, quadratic: bool = True) -> SamplerKernel:
    """The sampler object for ``method`` (a name or an object) and ``sample``'s old keywords.

    With a name, the options given to :func:`sample` are forwarded to its object; for ``pt`` and
    ``anneal`` those of the base kernel go to the base (by default Gibbs when ``quadratic``,
    else MALA). An option the method does not take is a TypeError naming it; with an object,
    any per-kernel keyword is a TypeError. Options given as None count as not given (the
    default), so callers may forward optional values unchanged.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(method, SamplerKernel):
        if options:
            name = sorted(options)[0]
            raise TypeError(f"{name} was given to sample() together with the sampler object "
                            f"{method!r}: set it on the object instead, e.g. "
                            f"{type(method).__name__}({name}=...)")
        return method
    if not isinstance(method, str):
        raise TypeError(f"method must be a name in {tuple(KERNEL_TYPES)} or a sampler object "
                        f"(NUTS(), Gibbs(), ...), got {type(method).__name__}")
    check_choice("method", method, tuple(KERNEL_TYPES))
    cls = KERNEL_TYPES[method]
    if not issubclass(cls, _Composite):
        for name in options:
            if name not in cls._defaults:
                raise TypeError(_foreign_message(name, method, tuple(cls._defaults)))
        return cls(**options)
    own = {k: v for k, v in options.items() if k in cls._defaults}
    rest = {k: v for k, v in options.items() if k not in cls._defaults}
    if rest:
        base = own.get("base", "gibbs" if quadratic else "mala")
        if isinstance(base, SamplerKernel):
            raise TypeError(f"{sorted(rest)[0]} was given to sample() together with the base "
                            f"object {base!r}: set it on the object instead")
        if not isinstance(base, str):
            raise TypeError(f"base must be one of {tuple(BASE_TYPES)}, got {base!r}")
        check_choice("base", base, tuple(BASE_TYPES))
        base_cls = BASE_TYPES[base]
        for name in rest:
            if name not in base_cls._defaults:
                raise TypeError(_foreign_message(name, f"{method} with base {base}",
                                                 (*cls._defaults, *base_cls._defaults)))
        own["base"] = base_cls(**rest)
    return cls(**own)
