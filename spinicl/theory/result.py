"""Result objects of the replica-symmetric theory: one point, or a whole sweep."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .._grid import GridResult
from .._result import Status, result_repr

__all__ = ["TheoryResult", "TheorySweep", "OBSERVABLES", "PARAMETERS"]

PARAMETERS = ("alpha", "tau", "kappa", "noise", "l2", "beta", "field")

# name -> one-line meaning (also the order of the repr and of saved tables)
OBSERVABLES = {
    "icl_error": "e_ICL: fresh-task test error of the Gibbs mean",
    "gibbs_error": "thermal average <e_ICL> under the Boltzmann measure",
    "idg_error": "e_IDG: test error of the mean on tasks of the training pool",
    "gibbs_idg_error": "thermal average <e_IDG>",
    "task_gap": "g_task = e_ICL - e_IDG",
    "identity_overlap": "q_I = tr(W_top)/D of the mean (overlap with the identity)",
    "norm": "Q = |W|_F^2/D of the mean (norm order parameter)",
    "thermal_norm": "<|W|_F^2>/D under the measure",
    "susceptibility": "chi = -d2f/d(field)2 along the identity",
    "train_error": "training MSE of the mean",
    "ground_state_energy": "H at the mean (beta-independent)",
    "internal_energy": "u = <H>",
    "free_energy": "f = -(1/beta) ln Z per spin, thermal units",
    "entropy": "s = beta (u - f) per spin, thermal units",
    "effective_ridge": "epsilon: the renormalised ridge (RS order parameter)",
    "conjugate": "r = lambda/epsilon: the conjugate order parameter",
    "df2": "(1/P) tr[Sigma^2 (Sigma+eps)^-2]: degrees of freedom per prompt",
    "effective_noise": "sigma_eff^2: training-distribution error of the population ridge",
    "log_det_hessian": "(1/D^2) ln det of the Hessian in thermal units",
}


@dataclass(frozen=True)
class TheoryResult:
    """One point of the replica-symmetric theory (see ``docs/theory.md`` for every symbol).

    Control parameters are in the theory's units: ``l2`` = D·λ0 and ``beta`` = β/D². The
    solver fields follow the package's result protocol (:mod:`spinicl._result`):
    ``converged`` (the criterion: relative residual |G(ε) − ε|/ε <= ``tol``, reached from one of
    the starts or by the bisection safeguard), ``status`` (``"converged"``, ``"max_iter"``, or
    ``"non_finite"`` when the map broke down), ``message``, ``n_iter`` (evaluations of the
    saddle-point map), ``settings`` (the solver options) and ``seconds`` (wall time of the call;
    for a point taken from a :class:`TheorySweep`, of the whole grid). Also ``residual`` (the
    relative residual at the last step) and ``n_solutions`` (distinct roots found from the
    starts).
    """

    alpha: float
    tau: float
    kappa: float
    noise: float
    l2: float
    beta: float
    field: float
    icl_error: float
    gibbs_error: float
    idg_error: float
    gibbs_idg_error: float
    task_gap: float
    identity_overlap: float
    norm: float
    thermal_norm: float
    susceptibility: float
    train_error: float
    ground_state_energy: float
    internal_energy: float
    free_energy: float
    entropy: float
    effective_ridge: float
    conjugate: float
    df2: float
    effective_noise: float
    log_det_hessian: float
    converged: bool
    n_iter: int
    residual: float
    n_solutions: int
    message: str
    status: Status | None = None
    settings: dict = field(default_factory=dict, compare=False)
    seconds: float = 0.0

    def __post_init__(self):
        # built without a status (e.g. from arrays saved before the protocol): derive it
        status = (Status.coerce(self.status) if self.status is not None
                  else Status.CONVERGED if self.converged else Status.MAX_ITER)
        object.__setattr__(self, "status", status)

    @property
    def g_task(self) -> float:
        """Alias of ``task_gap``: e_ICL − e_IDG."""
        return self.task_gap

    @property
    def overlap(self) -> float:
        """Alias of ``identity_overlap``."""
        return self.identity_overlap

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __repr__(self) -> str:
        keys = ("icl_error", "gibbs_error", "idg_error", "identity_overlap", "norm",
                "free_energy", "effective_ridge", "n_solutions")
        return result_repr(self, {k: getattr(self, k) for k in PARAMETERS},
                           {k: getattr(self, k) for k in keys})


class TheorySweep(GridResult):
    """The theory on a grid of points: a :class:`~spinicl.GridResult` of every result field.

    Every field of :class:`TheoryResult` (the parameters ``alpha`` … ``field`` included) is a
    data variable with the broadcast shape of the inputs, also readable as an attribute
    (``sweep.icl_error``) or by name (``sweep["icl_error"]``). The grid dims are ``axis0``,
    ``axis1``, … (the broadcast axes; the parameters' values along them are the variables).
    ``sweep[i]`` (a flat index or an index tuple) or ``sweep.point(...)`` gives one
    :class:`TheoryResult`; ``len(sweep)`` is the number of points. ``converged``, ``status``
    (object array of :class:`~spinicl._result.Status`), ``n_iter`` and ``message`` are per
    point; ``settings`` (the result's ``parameters``) and ``seconds`` describe the whole call.
    ``save``/``load`` and ``to_xarray`` are the grid result's (``status`` is written as text).
    """

    def __init__(self, shape, values: dict, *, settings: dict | None = None,
                 seconds: float = 0.0):
        shape = tuple(int(n) for n in shape)
        coords = {f"axis{k}": np.arange(n) for k, n in enumerate(shape)}
        data = {k: np.asarray(v).reshape(shape) for k, v in values.items()}
        super().__init__("theory", coords, data, dict(settings or {}))
        self.seconds = float(seconds)
        for k, v in self.data.items():
            setattr(self, k, v)

    @property
    def settings(self) -> dict:
        """The solver's options for the whole grid (the grid result's ``parameters``)."""
        return self.parameters

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    def __getitem__(self, index):
        if isinstance(index, str):
            return super().__getitem__(index)
        flat = np.ravel_multi_index(index, self.shape) if isinstance(index, tuple) else index
        values = {k: v.ravel()[flat] for k, v in self.data.items()}
        kwargs = {}
        for f in fields(TheoryResult):
            if f.name == "settings":
                kwargs[f.name] = dict(self.settings)
                continue
            if f.name == "seconds":
                kwargs[f.name] = self.seconds
                continue
            if f.name == "status":
                kwargs[f.name] = values.get("status")   # None: derived from converged
                continue
            value = values[f.name]
            if f.type in ("bool",):
                value = bool(value)
            elif f.type in ("int",):
                value = int(value)
            elif f.type in ("str",):
                value = str(value)
            else:
                value = float(value)
            kwargs[f.name] = value
        return TheoryResult(**kwargs)

    def point(self, index) -> TheoryResult:
        """One point as a :class:`TheoryResult` (a flat index or an index tuple)."""
        if isinstance(index, str):
            raise TypeError(f"point() takes a flat index or an index tuple, got {index!r}")
        return self[index]

    def as_dict(self) -> dict:
        """Every field as an array (a copy)."""
        return {k: np.array(v) for k, v in self.data.items()}

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.data["converged"]))

    def _record_extra(self) -> dict:
        return {"seconds": self.seconds}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record) -> "TheorySweep":
        data = dict(data)
        if "status" in data:   # written as text: back to the Status members
            data["status"] = np.array([Status(s) for s in data["status"].ravel()],
                                      dtype=object).reshape(data["status"].shape)
        shape = tuple(len(coords[d]) for d in record["dims"])
        return cls(shape, data, settings=record.get("parameters", {}),
                   seconds=record.get("seconds", 0.0))

    def __repr__(self) -> str:
        conv = int(np.sum(self.data["converged"]))
        icl = self.data["icl_error"]
        finite = icl[np.isfinite(icl)]
        rng = f"[{finite.min():.4g}, {finite.max():.4g}]" if finite.size else "[]"
        return (f"TheorySweep(shape={self.shape}, converged={conv}/{len(self)}, "
                f"icl_error in {rng})")
