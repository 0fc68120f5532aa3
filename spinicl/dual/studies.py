"""Numerical studies of the dual model: equivalence curve, d_r convergence, generalisation in N.

* :func:`equivalence_curve` — ‖ŷ^{(k)} − h'_{N+1}‖₂ along the dual model's GD steps under both
  multi-step readings (Fig. 3 left of Ren & Liu 2024; reconstruction).
* :func:`approximation_study` — MSE/MAE of the random-feature attention matrix and output matrix
  against the exact softmax ones as d_r grows, with log-log slopes fitted per seed (the error
  falls like d_r^{-1/2}: MAE and RMSE slopes ≈ −½, MSE slope ≈ −1) and heat maps (figures p. 26
  and p. 27).
* :func:`generalization_study` — the generalisation gap of the dual model's alignment loss as the
  number N of demonstration tokens grows, against the Rademacher bound (9) of our notes, with a
  slope fit (≈ −½).

Problems follow §9 of the notes unless told otherwise: tokens and weights Gaussian with variance
1/d_i, tokens scaled by 1.5.
"""
from __future__ import annotations

import numpy as np

from .._grid import GridResult, variable_property
from .._validation import (as_seed_sequence, check_choice, check_finite_array, check_int,
                           check_real, child_seed)
from .attention import linearized_attention, softmax_attention
from .features import PositiveRandomFeatures
from .model import SCHEDULES

__all__ = ["random_problem", "loglog_slope", "EquivalenceCurve", "equivalence_curve",
           "ApproximationStudy", "approximation_study", "GeneralizationStudy",
           "generalization_study", "generalization_setup", "rademacher_bound",
           "feature_norm_bound"]


def random_problem(dim: int = 8, context_length: int = 32, *, key_dim: int | None = None,
                   value_dim: int | None = None, token_scale: float = 1.5, rng=None):
    """Tokens H (d_i, N+1) and weights W_K, W_Q (d_o, d_i), W_V (d_v, d_i).

    Entries are N(0, 1/d_i); tokens are multiplied by ``token_scale`` (§9 of our notes).
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    key_dim = dim if key_dim is None else check_int("key_dim", key_dim, minimum=1)
    value_dim = dim if value_dim is None else check_int("value_dim", value_dim, minimum=1)
    token_scale = check_real("token_scale", token_scale, minimum=0.0, strict_min=True)
    g = np.random.default_rng(as_seed_sequence(rng))
    sd = 1.0 / np.sqrt(dim)
    H = token_scale * sd * g.standard_normal((dim, context_length + 1))
    W_K = sd * g.standard_normal((key_dim, dim))
    W_Q = sd * g.standard_normal((key_dim, dim))
    W_V = sd * g.standard_normal((value_dim, dim))
    return H, W_K, W_Q, W_V


def loglog_slope(x, y) -> tuple[float, float]:
    """Least-squares slope and intercept of log y against log x."""
    x = check_finite_array("x", x, ndim=1)
    y = check_finite_array("y", y, shape=(x.size,))
    if x.size < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("loglog_slope needs at least 2 points with x > 0 and y > 0")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


def _slope_summary(x, per_seed) -> dict:
    """Slopes fitted seed by seed: mean, standard error, and the slope of the seed mean."""
    slopes = np.array([loglog_slope(x, row)[0] for row in per_seed])
    mean_fit = loglog_slope(x, per_seed.mean(axis=0))
    se = slopes.std(ddof=1) / np.sqrt(slopes.size) if slopes.size > 1 else float("nan")
    return {"mean": float(slopes.mean()), "stderr": float(se), "per_seed": slopes,
            "of_mean": mean_fit[0], "intercept_of_mean": mean_fit[1]}


def _slopes_data(slopes) -> tuple[dict, dict]:
    """(the per-seed slopes as variables ``slopes_<name>``, the JSON-able summaries)."""
    arrays = {f"slopes_{k}": v["per_seed"] for k, v in slopes.items() if "per_seed" in v}
    summary = {k: {kk: vv for kk, vv in v.items() if kk != "per_seed"}
               for k, v in slopes.items()}
    return arrays, summary


def _slopes_back(record, data) -> dict:
    """The ``slopes`` dict of a saved study: summaries with their per-seed arrays."""
    saved = record.get("slopes", {})
    # the JSON sorts its keys; slope_names keeps the study's order
    slopes = {k: dict(saved[k]) for k in record.get("slope_names", saved)}
    for k, v in slopes.items():
        if f"slopes_{k}" in data:
            v["per_seed"] = data[f"slopes_{k}"]
    return slopes


# ---------------------------------------------------------------------------- equivalence
class EquivalenceCurve(GridResult):
    """‖ŷ^{(k)} − h'_{N+1}‖₂ for k = 0..n_steps, per schedule and draw: a grid result.

    Dims ``("repeat", "step")`` (the draws and the GD steps). ``distances[schedule]`` (the
    variable ``distances_<schedule>``) has shape (n_draws, n_steps + 1); ``attention_norm``
    holds ‖h'_{N+1}‖₂ per draw (for scale). ``mean(schedule)`` and ``stderr(schedule)`` are
    over the draws.
    """

    def __init__(self, steps, distances: dict, attention_norm, *,
                 parameters: dict | None = None):
        self.schedules = tuple(distances)
        coords = {"repeat": np.arange(len(attention_norm)), "step": np.asarray(steps)}
        data = {f"distances_{k}": v for k, v in distances.items()}
        data["attention_norm"] = attention_norm
        super().__init__("dual-equivalence", coords, data, parameters,
                         var_dims={"attention_norm": ("repeat",)})

    def _resolve(self, name) -> str:
        # a schedule names its distances, as before the grid result
        return super()._resolve(f"distances_{name}" if name in self.schedules else name)

    @property
    def steps(self) -> np.ndarray:
        return self.coords["step"]

    @property
    def distances(self) -> dict:
        return {k: self.data[f"distances_{k}"] for k in self.schedules}

    attention_norm = variable_property("attention_norm")

    def __repr__(self) -> str:
        ends = ", ".join(f"{s}: {self.mean(s)[0]:.3g} -> {self.mean(s)[-1]:.3g}"
                         for s in self.distances)
        return f"EquivalenceCurve(n_steps={self.steps[-1]}, {ends})"

    def save(self, out_dir, stem: str = "dual_equivalence") -> dict:
        """Write ``stem.npz`` and ``stem.json`` (see :meth:`spinicl.GridResult.save`)."""
        return super().save(out_dir, stem)

    def _extra_arrays(self) -> dict:
        return {"steps": self.steps}

    def _record_extra(self) -> dict:
        return {"schedules": list(self.schedules)}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        distances = {k: data[f"distances_{k}"] for k in record["schedules"]}
        return cls(coords["step"], distances, data["attention_norm"],
                   parameters=record["parameters"])


def equivalence_curve(*, dim: int = 8, context_length: int = 32, n_features: int = 20_000,
                      n_steps: int = 15, n_draws: int = 10, step_fraction: float = 0.25,
                      schedules=("split", "regularized"), orthogonal: bool = False,
                      token_scale: float = 1.5, rng=0, progress: bool = False, store=None,
                      executor: str = "serial", workers: int | None = None) -> EquivalenceCurve:
    """Distance of the dual prediction to exact softmax attention along the GD steps.

    Each draw has fresh tokens, weights and random features (child ``r`` of the seed). At
    k = n_steps the ``"split"`` schedule reaches the one-step prediction, whose remaining
    distance is the random-feature error O(d_r^{-1/2}).

    The draws run as a sweep of ``"dual-equivalence"`` cells (one unit per draw, unit r
    drawing from child r of the master seed: the stream draw r used before the study ran as a
    sweep).

    Parameters
    ----------
    store : path, optional
        Folder of the sweep's unit files: a rerun with the same folder and settings reuses
        every finished unit. ``None``: a temporary folder.
    executor : {"serial", "process", "dask"}
        Where the units run; every executor gives the same bits.
    workers : int, optional
        Worker processes of the ``"process"`` and ``"dask"`` executors.
    """
    from ..sweep.runner import master_seed, run_cells

    n_draws = check_int("n_draws", n_draws, minimum=1)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_features = check_int("n_features", n_features, minimum=1)
    schedules = tuple(schedules)
    for s in schedules:
        check_choice("schedules", s, SCHEDULES)
    root = as_seed_sequence(rng)
    sweep = run_cells(kind="dual-equivalence", axes={"n_features": [n_features]},
                      parameters=dict(dim=dim, context_length=context_length, n_steps=n_steps,
                                      step_fraction=step_fraction, schedules=list(schedules),
                                      orthogonal=orthogonal, token_scale=token_scale),
                      repeats=n_draws, rng=master_seed(root), name="dual_equivalence",
                      store=store, executor=executor, workers=workers, progress=progress)
    dist = {s: sweep[f"distances_{s}"][0] for s in schedules}
    norms = sweep["attention_norm"][0]
    params = dict(dim=dim, context_length=context_length, n_features=n_features,
                  n_steps=n_steps, n_draws=n_draws, step_fraction=step_fraction,
                  schedules=list(schedules), orthogonal=orthogonal, token_scale=token_scale,
                  seed_entropy=str(root.entropy), seed_spawn_key=list(root.spawn_key),
                  master_seed=master_seed(root))
    return EquivalenceCurve(np.arange(n_steps + 1), dist, norms, parameters=params)


# ---------------------------------------------------------------------------- approximation
APPROX_METRICS = ("attention_mse", "attention_mae", "output_mse", "output_mae",
                  "query_distance")


class ApproximationStudy(GridResult):
    """Random-feature errors against d_r: a grid result over ``("n_features", "repeat")``.

    ``errors[name]`` (the variable ``name``) has shape (n_features, n_seeds) for the names in
    ``APPROX_METRICS``: MSE/MAE of the attention matrix Â − A (T×T, mode "full") and of the
    output matrix ÂV − AV, and ‖ĥ_{N+1} − h'_{N+1}‖₂ at the query. ``slopes[name]`` summarises
    log-log fits over d_r >= ``fit_min`` (per seed: the variable ``slopes_<name>``);
    ``heatmaps`` holds Â for ``heatmap_features`` (seed 0), dims ``("heatmap_features",
    "query", "key")``, and ``exact_attention`` the exact A.
    """

    def __init__(self, n_features, errors: dict, slopes: dict, heatmap_features, heatmaps,
                 exact_attention, *, parameters: dict | None = None):
        errors = dict(errors)
        self.slopes = slopes
        self.metrics = tuple(errors)
        per_seed, _ = _slopes_data(slopes)
        n_seeds = np.shape(next(iter(errors.values())))[1]
        data = {**errors, **per_seed, "heatmaps": heatmaps, "exact_attention": exact_attention}
        var_dims = {k: ("repeat",) for k in per_seed}
        var_dims.update(heatmaps=("heatmap_features", "query", "key"),
                        exact_attention=("query", "key"))
        super().__init__("dual-approximation",
                         {"n_features": np.asarray(n_features), "repeat": np.arange(n_seeds)},
                         data, parameters, var_dims=var_dims,
                         extra_coords={"heatmap_features": np.asarray(heatmap_features)})

    @property
    def n_features(self) -> np.ndarray:
        return self.coords["n_features"]

    @property
    def heatmap_features(self) -> np.ndarray:
        return self.coords["heatmap_features"]

    @property
    def errors(self) -> dict:
        return {k: self.data[k] for k in self.metrics}

    heatmaps = variable_property("heatmaps")
    exact_attention = variable_property("exact_attention")

    def __repr__(self) -> str:
        s = ", ".join(f"{k}: {v['mean']:.3f}±{v['stderr']:.3f}" for k, v in self.slopes.items())
        return (f"ApproximationStudy(d_r {self.n_features[0]}..{self.n_features[-1]}, "
                f"{self.repeats} seeds, slopes {s})")

    def save(self, out_dir, stem: str = "dual_approximation") -> dict:
        """Write ``stem.npz`` and ``stem.json`` (see :meth:`spinicl.GridResult.save`)."""
        return super().save(out_dir, stem)

    def _extra_arrays(self) -> dict:
        return {"n_features": self.n_features, "heatmap_features": self.heatmap_features}

    def _record_extra(self) -> dict:
        return {"slopes": _slopes_data(self.slopes)[1], "slope_names": list(self.slopes),
                "metrics": list(self.metrics)}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        errors = {k: data[k] for k in record["metrics"]}
        return cls(coords["n_features"], errors, _slopes_back(record, data),
                   extra_coords["heatmap_features"], data["heatmaps"], data["exact_attention"],
                   parameters=record["parameters"])


def approximation_study(*, dim: int = 8, context_length: int = 32,
                        n_features=tuple(2 ** k for k in range(2, 17)), n_seeds: int = 5,
                        orthogonal: bool = False, token_scale: float = 1.5, fit_min: int = 64,
                        heatmap_features=(4, 32, 256, 4096), redraw_problem: bool = False,
                        rng=0, progress: bool = False, store=None, executor: str = "serial",
                        workers: int | None = None) -> ApproximationStudy:
    """Errors of random-feature attention against exact softmax attention as d_r grows.

    Parameters
    ----------
    dim, context_length, token_scale
        The problem (see :func:`random_problem`); T = N + 1 tokens, mode "full".
    n_features : sequence of int
        The d_r values (each >= 1).
    n_seeds : int
        Independent feature draws per d_r (child (1, seed, i) of ``rng``).
    orthogonal : bool
        Block-orthogonal instead of i.i.d. features.
    fit_min : int
        Only d_r >= fit_min enter the slope fits (the asymptotic regime).
    heatmap_features : sequence of int
        d_r values whose attention matrix (seed 0) is kept for heat maps.
    redraw_problem : bool
        Draw a new problem for every seed (default: one problem, child 0 of ``rng``).
    store, executor, workers
        As in :func:`equivalence_curve`: the seeds run as a sweep of ``"dual-approximation"``
        cells (one unit per seed, the d_r values its nested axis; the problem and the features
        are the children of the master seed named above). The heat maps (a few d_r) are
        computed here.
    """
    from ..sweep.runner import master_seed, run_cells

    n_feats = np.unique(check_finite_array("n_features", n_features, ndim=1).astype(int))
    if n_feats.size < 2 or n_feats[0] < 1:
        raise ValueError(f"n_features must hold at least two values >= 1, got {n_feats}")
    n_seeds = check_int("n_seeds", n_seeds, minimum=2)
    fit_min = check_int("fit_min", fit_min, minimum=1)
    heat = np.asarray(heatmap_features, dtype=int)
    if heat.ndim != 1 or np.any(heat < 1):
        raise ValueError(f"heatmap_features must be d_r values >= 1, got {heatmap_features!r}")
    fit = n_feats >= fit_min
    if fit.sum() < 2:
        raise ValueError(f"fit_min = {fit_min} leaves fewer than two d_r values to fit")
    root = as_seed_sequence(rng)
    master = master_seed(root)
    sweep = run_cells(kind="dual-approximation",
                      axes={"seed_index": np.arange(n_seeds), "n_features": n_feats},
                      parameters=dict(dim=dim, context_length=context_length,
                                      orthogonal=orthogonal, token_scale=token_scale,
                                      redraw_problem=redraw_problem, seed=master),
                      name="dual_approximation", store=store, executor=executor,
                      workers=workers, progress=progress)
    # the sweep's (seed, d_r, repeat = 1) -> (d_r, seed)
    errors = {k: sweep[k][:, :, 0].T.copy() for k in APPROX_METRICS}
    T = context_length + 1
    heatmaps = np.empty((heat.size, T, T))
    root = np.random.SeedSequence(master)
    H, W_K, W_Q, W_V = random_problem(dim, context_length, token_scale=token_scale,
                                      rng=child_seed(root, 0, 0))
    exact = softmax_attention(H, W_K, W_Q, W_V, mode="full").attention
    for j, dr in enumerate(heat):
        phi = PositiveRandomFeatures.draw(W_K.shape[0], int(dr), orthogonal=orthogonal,
                                          rng=child_seed(root, 2, j))
        heatmaps[j] = linearized_attention(H, W_K, W_Q, W_V, phi, mode="full").attention
    slopes = {k: _slope_summary(n_feats[fit].astype(float), errors[k][fit].T)
              for k in APPROX_METRICS}
    params = dict(dim=dim, context_length=context_length, n_features=n_feats, n_seeds=n_seeds,
                  orthogonal=orthogonal, token_scale=token_scale, fit_min=fit_min,
                  heatmap_features=heat, redraw_problem=redraw_problem, mode="full",
                  seed_entropy=str(root.entropy), seed_spawn_key=list(root.spawn_key),
                  master_seed=master)
    return ApproximationStudy(n_feats, errors, slopes, heat, heatmaps, exact,
                              parameters=params)


# ---------------------------------------------------------------------------- generalisation
def feature_norm_bound(projection, radius: float) -> float:
    """B_φ = max_{‖x‖ ≤ R} ‖φ(x)‖₂ bounded in closed form per feature.

    For each row w_j, max_{‖x‖≤R} (2wᵀx − ‖x‖²) is ‖w‖² if ‖w‖ ≤ R and 2‖w‖R − R² otherwise;
    summing exp of these over j and dividing by d_r bounds ‖φ(x)‖².
    """
    projection = check_finite_array("projection", projection, ndim=2)
    radius = check_real("radius", radius, minimum=0.0)
    norms = np.linalg.norm(projection, axis=1)
    expo = np.where(norms <= radius, norms**2, 2 * norms * radius - radius**2)
    top = expo.max()
    return float(np.exp(0.5 * top) * np.sqrt(np.mean(np.exp(expo - top))))


def rademacher_bound(context_lengths, bound: float, *, delta: float = 0.05) -> np.ndarray:
    """Right-hand side of (9) minus L̂_N: 2B/√N + 3B √(log(2/δ)/(2N)), B = B_W B_V B_φ."""
    N = check_finite_array("context_lengths", context_lengths, ndim=(0, 1))
    if np.any(N < 1):
        raise ValueError("context_lengths must be >= 1")
    bound = check_real("bound", bound, minimum=0.0)
    delta = check_real("delta", delta, minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)
    return 2 * bound / np.sqrt(N) + 3 * bound * np.sqrt(np.log(2 / delta) / (2 * N))


class GeneralizationStudy(GridResult):
    """Generalisation gaps of the alignment loss against N: a grid result over
    ``("context_length", "repeat")``.

    ``uniform_gap`` (n_N, n_seeds): sup_{‖W‖_F ≤ B_W} (L(W) − L̂_N(W)) = B_W ‖Ĝ_N − G‖_F, the
    quantity the Rademacher bound controls; ``one_step_gap``: L(W_1) − L̂_N(W_1) for the
    one-step dual weights rescaled to ‖W‖_F = B_W. ``bound`` is the bound (9) at each N;
    ``constants`` the bound's constants and ``slopes`` the log-log fits.
    """

    def __init__(self, context_lengths, uniform_gap, one_step_gap, bound, constants: dict,
                 slopes: dict, *, parameters: dict | None = None):
        self.constants = constants
        self.slopes = slopes
        per_seed, _ = _slopes_data(slopes)
        data = {"uniform_gap": uniform_gap, "one_step_gap": one_step_gap, "bound": bound,
                **per_seed}
        var_dims = {k: ("repeat",) for k in per_seed}
        var_dims["bound"] = ("context_length",)
        super().__init__("dual-generalization",
                         {"context_length": np.asarray(context_lengths),
                          "repeat": np.arange(np.shape(uniform_gap)[1])},
                         data, parameters, var_dims=var_dims)

    @property
    def context_lengths(self) -> np.ndarray:
        return self.coords["context_length"]

    uniform_gap = variable_property("uniform_gap")
    one_step_gap = variable_property("one_step_gap")
    bound = variable_property("bound")

    @property
    def bound_holds(self) -> np.ndarray:
        """Per N: does the bound exceed the uniform gap of every seed?"""
        return np.all(self.uniform_gap <= self.bound[:, None], axis=1)

    def __repr__(self) -> str:
        s = self.slopes["uniform_gap"]
        return (f"GeneralizationStudy(N {int(self.context_lengths[0])}..."
                f"{int(self.context_lengths[-1])}, slope {s['mean']:.3f}±{s['stderr']:.3f}, "
                f"bound holds at {int(self.bound_holds.sum())}/{self.bound_holds.size} N)")

    def save(self, out_dir, stem: str = "dual_generalization") -> dict:
        """Write ``stem.npz`` and ``stem.json`` (see :meth:`spinicl.GridResult.save`)."""
        return super().save(out_dir, stem)

    def _extra_arrays(self) -> dict:
        return {"context_lengths": self.context_lengths}

    def _record_extra(self) -> dict:
        return {"slopes": _slopes_data(self.slopes)[1], "slope_names": list(self.slopes),
                "constants": self.constants}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        return cls(coords["context_length"], data["uniform_gap"], data["one_step_gap"],
                   data["bound"], record["constants"], _slopes_back(record, data),
                   parameters=record["parameters"])


def _sphere(g, n, dim, radius):
    x = g.standard_normal((dim, n))
    return radius * x / np.linalg.norm(x, axis=0, keepdims=True)


def generalization_setup(*, dim, n_features, n_population, token_radius, seed):
    """The generalisation study's shared draws: (W_K, W_V, features, moments, G).

    ``W_K``, ``W_V`` from child 0 of ``seed``, the features from child 1 and the population
    mean G = E[y φ(x)ᵀ] from ``n_population`` tokens of child 2; ``moments(h)`` is
    Σ_i y_i φ(x_i)ᵀ over the columns of ``h``.
    """
    g0 = np.random.default_rng(child_seed(seed, 0))
    sd = 1.0 / np.sqrt(dim)
    W_K = sd * g0.standard_normal((dim, dim))
    W_V = sd * g0.standard_normal((dim, dim))
    phi = PositiveRandomFeatures.draw(dim, n_features, rng=child_seed(seed, 1))
    root_s = dim ** -0.25

    def moments(h):
        y = W_V @ h
        f = phi(root_s * (W_K @ h))
        return y @ f.T                   # Σ_i y_i φ(x_i)ᵀ

    gp = np.random.default_rng(child_seed(seed, 2))
    G = np.zeros((dim, n_features))
    chunk = 50_000                       # bounded memory whatever n_population
    for start in range(0, n_population, chunk):
        G += moments(_sphere(gp, min(chunk, n_population - start), dim, token_radius))
    G /= n_population
    return W_K, W_V, phi, moments, G


def generalization_study(*, dim: int = 4, n_features: int = 32,
                         context_lengths=(8, 16, 32, 64, 128, 256, 512, 1024),
                         n_seeds: int = 20, n_population: int = 200_000,
                         token_radius: float = 1.5, weight_bound: float = 1.0,
                         delta: float = 0.05, rng=0, progress: bool = False, store=None,
                         executor: str = "serial",
                         workers: int | None = None) -> GeneralizationStudy:
    """Empirical generalisation gap of the dual model's alignment loss against N.

    Tokens h are uniform on the sphere of radius ``token_radius`` in R^dim (so the boundedness
    assumptions of (9) hold almost surely), with fixed weights W_K, W_V (d_o = d_v = dim) and
    fixed features. The per-token loss is ℓ(W; h) = −(W_V h)ᵀ W φ(√s W_K h); the population
    mean G = E[y φ(x)ᵀ] is estimated from ``n_population`` fresh tokens (≫ max N).
    B_V = ‖W_V‖₂ R, B_φ from :func:`feature_norm_bound` at radius √s‖W_K‖₂ R, B_W =
    ``weight_bound``.

    The seeds run as a sweep of ``"dual-generalization"`` cells (one unit per seed, the N
    values its nested axis); ``store``, ``executor`` and ``workers`` are those of
    :func:`equivalence_curve`. Every unit draws the shared weights, features and population
    from the master seed (:func:`generalization_setup`).
    """
    from ..sweep.runner import master_seed, run_cells

    dim = check_int("dim", dim, minimum=1)
    n_features = check_int("n_features", n_features, minimum=1)
    Ns = np.unique(check_finite_array("context_lengths", context_lengths, ndim=1).astype(int))
    if Ns.size < 2 or Ns[0] < 1:
        raise ValueError(f"context_lengths must hold at least two values >= 1, got {Ns}")
    n_seeds = check_int("n_seeds", n_seeds, minimum=2)
    n_population = check_int("n_population", n_population, minimum=1)
    radius = check_real("token_radius", token_radius, minimum=0.0, strict_min=True)
    B_W = check_real("weight_bound", weight_bound, minimum=0.0, strict_min=True)
    delta = check_real("delta", delta, minimum=0.0, maximum=1.0, strict_min=True,
                       strict_max=True)
    root = as_seed_sequence(rng)
    master = master_seed(root)
    fixed = dict(dim=dim, n_features=n_features, n_population=n_population,
                 token_radius=radius)
    sweep = run_cells(kind="dual-generalization",
                      axes={"seed_index": np.arange(n_seeds), "context_length": Ns},
                      parameters=dict(fixed, weight_bound=B_W, seed=master),
                      name="dual_generalization", store=store, executor=executor,
                      workers=workers, progress=progress)
    # the sweep's (seed, N, repeat = 1) -> (N, seed)
    uniform = sweep["uniform_gap"][:, :, 0].T.copy()
    one_step = sweep["one_step_gap"][:, :, 0].T.copy()
    root = np.random.SeedSequence(master)
    W_K, W_V, phi, _, G = generalization_setup(seed=root, **fixed)
    root_s = dim ** -0.25
    B_V = float(np.linalg.norm(W_V, 2) * radius)
    B_phi = feature_norm_bound(phi.projection, root_s * np.linalg.norm(W_K, 2) * radius)
    B = B_W * B_V * B_phi
    bound = rademacher_bound(Ns.astype(float), B, delta=delta)
    slopes = {"uniform_gap": _slope_summary(Ns.astype(float), uniform.T)}
    if np.all(one_step.mean(axis=1) > 0):
        slopes["one_step_gap"] = {"of_mean": loglog_slope(Ns.astype(float),
                                                          one_step.mean(axis=1))[0]}
    constants = dict(B_W=B_W, B_V=B_V, B_phi=B_phi, B=B, delta=delta,
                     population_norm=float(np.linalg.norm(G)))
    params = dict(dim=dim, n_features=n_features, context_lengths=Ns, n_seeds=n_seeds,
                  n_population=n_population, token_radius=radius, weight_bound=B_W, delta=delta,
                  seed_entropy=str(root.entropy), seed_spawn_key=list(root.spawn_key),
                  master_seed=master)
    return GeneralizationStudy(Ns.astype(float), uniform, one_step, bound, constants, slopes,
                               parameters=params)
