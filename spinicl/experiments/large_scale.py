"""Large-D exact physics without dense n×n matrices: the ICL phase diagram at D = 200 and beyond.

At D = 200 the spin glass has n = (D+1)² = 40,401 spins; its dense Hessian alone would take
13 GB. The Boltzmann mean A⁻¹h (the exact measure's mean, independent of β) is found instead by
preconditioned conjugate gradients (:func:`spinicl.solvers.direct.solve_cg`) on the factored
product A v = λ0 v + Sᵀ(S v)/P, s^μ = c^μ ⊗ q^μ, so memory stays O(P·D + D²):

* prompts are drawn in chunks (chunk j from child j of the cell's seed) and only the feature
  factors c, q (2·(D+1) numbers per prompt) and the targets are kept;
* the nested P axis reuses one draw of the largest prompt set, and every solve is warm-started
  from the previous (smaller P) solution;
* the observables of the mean are closed forms: the fresh-task ICL error
  (:func:`~spinicl.observables.population_test_error`), the contrast ratio, the identity overlap
  and the norm;
* every cell measures its own peak resident memory (the kernel's high-water mark, reset when the
  cell starts; see :func:`peak_rss_mib`) and its wall time.

The sweep cell :func:`matrix_free_mean_cell` (kind ``"matrix-free-mean"``) runs through the
sweep engine (resumable, the same bits on every executor); :func:`large_phase_diagram` is the
phase diagram over (N/D, P/D²) behind ``spinicl figure phase-diagram-d200``.
"""
from __future__ import annotations

import os
import resource
import time

import numpy as np

from .._grid import GridResult
from .._validation import as_seed_sequence, check_finite_array, check_int, check_real, child_seed
from ..attention import feature_factors
from ..hamiltonian import SpinGlass
from ..observables import (contrast_ratio, identity_overlap, norm_order_parameter,
                           population_error, population_gain, population_test_error)
from ..prompts import sample_prompts
from ..sweep.cells import Parameter, register_cell

__all__ = ["matrix_free_mean_cell", "solve_nested_means", "draw_feature_factors",
           "prompts_per_chunk", "peak_rss_mib", "reset_peak_rss", "large_phase_diagram",
           "LargePhaseDiagram", "MATRIX_FREE_OBSERVABLES", "CHUNK_TOKENS",
           "DEFAULT_MEMORY_BUDGET_MIB"]

#: Tokens (doubles) drawn per chunk of prompts: 2²⁴ doubles = 128 MiB of tokens at a time.
CHUNK_TOKENS = 2**24

#: The phase diagram's memory budget per cell (4 GiB, the issue's bound on one 2-core machine).
DEFAULT_MEMORY_BUDGET_MIB = 4096.0

#: Observables of every matrix-free cell, per nested P.
MATRIX_FREE_OBSERVABLES = ("icl_error", "contrast_ratio", "identity_overlap", "norm",
                           "cg_iterations", "relative_residual", "converged", "solve_seconds")

#: The preconditioners of :func:`~spinicl.solvers.direct.solve_cg` the cells accept.
_PRECONDITIONERS = ("jacobi", "kronecker", "none")


def reset_peak_rss() -> bool:
    """Reset this process's resident-memory high-water mark (Linux ``/proc/self/clear_refs``).

    Returns True when the kernel accepted the reset, so that :func:`peak_rss_mib` afterwards
    measures the peak since this call; False where it is not available (then the peak is the
    process's lifetime peak, an upper bound).
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB: ``VmHWM`` (since the last
    :func:`reset_peak_rss`), else ``getrusage``'s ``ru_maxrss`` (lifetime peak)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss counts bytes on macOS and KiB elsewhere
    return peak / 2**20 if os.uname().sysname == "Darwin" else peak / 1024.0


def prompts_per_chunk(dim: int, context_length: int) -> int:
    """Prompts drawn at once so that their tokens hold about :data:`CHUNK_TOKENS` doubles.

    A function of (D, N) only, so the draw (and every number downstream) does not depend on the
    machine's memory.
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    return max(1, CHUNK_TOKENS // ((dim + 1) * (context_length + 1)))


def draw_feature_factors(dim: int, context_length: int, n_prompts: int, *, rng=None,
                         normalization: str = "model"):
    """Feature factors (c, q) and targets y of ``n_prompts`` fresh-task prompts, chunk by chunk.

    Chunk j (of :func:`prompts_per_chunk` prompts) draws from ``child_seed(rng, j)``; only
    2·(D+1) + 1 numbers per prompt are kept.

    Returns
    -------
    context, query : ndarray (n_prompts, D+1)
    targets : ndarray (n_prompts,)
    """
    dim = check_int("dim", dim, minimum=1)
    context_length = check_int("context_length", context_length, minimum=1)
    n_prompts = check_int("n_prompts", n_prompts, minimum=1)
    root = as_seed_sequence(rng)
    chunk = prompts_per_chunk(dim, context_length)
    context = np.empty((n_prompts, dim + 1))
    query = np.empty((n_prompts, dim + 1))
    targets = np.empty(n_prompts)
    for j, start in enumerate(range(0, n_prompts, chunk)):
        stop = min(start + chunk, n_prompts)
        prompts = sample_prompts(dim, context_length, stop - start, rng=child_seed(root, j))
        context[start:stop], query[start:stop] = feature_factors(prompts,
                                                                 normalization=normalization)
        targets[start:stop] = prompts.targets
    return context, query, targets


def solve_nested_means(context, query, targets, counts, *, context_length: int, l2: float,
                       tol: float = 1e-8, preconditioner: str = "jacobi",
                       normalization: str = "model") -> dict:
    """Boltzmann means of the nested prefixes P = counts[k] of one prompt set, by CG.

    Parameters
    ----------
    context, query : ndarray (P_max, D+1)
        Feature factors (see :func:`draw_feature_factors`).
    targets : ndarray (P_max,)
    counts : array_like of int
        Prompt counts, each in [1, P_max]; solved in increasing order, each warm-started from
        the previous solution.
    context_length : int
        N (for the ICL error's closed form).
    l2 : float
        λ0 > 0 (CG needs a positive-definite Hessian).
    tol : float
        Relative residual at which CG stops.
    preconditioner : {"jacobi", "kronecker", "none"}
        Passed to :func:`~spinicl.solvers.direct.solve_cg` (which says which it supports).

    Returns
    -------
    dict
        Each of :data:`MATRIX_FREE_OBSERVABLES` as an array over ``counts`` (``converged``
        1.0/0.0; ``relative_residual`` the true |h − A m|/|h| at the end), and ``means``
        (len(counts), (D+1)²).
    """
    from ..solvers.direct import solve_cg

    context = check_finite_array("context", context, ndim=2)
    P_max, m = context.shape
    query = check_finite_array("query", query, shape=(P_max, m))
    targets = check_finite_array("targets", targets, shape=(P_max,))
    counts = np.atleast_1d(np.asarray(counts))
    if counts.ndim != 1 or counts.size == 0 or not np.issubdtype(counts.dtype, np.integer):
        raise TypeError(f"counts must be a non-empty 1-d sequence of ints, got {counts!r}")
    if counts.min() < 1 or counts.max() > P_max:
        raise ValueError(f"counts must lie in [1, {P_max}] (the prompts drawn), got "
                         f"[{counts.min()}, {counts.max()}]")
    context_length = check_int("context_length", context_length, minimum=1)
    l2 = check_real("l2", l2, minimum=0.0, strict_min=True)
    out = {k: np.empty(counts.size) for k in MATRIX_FREE_OBSERVABLES}
    means = np.empty((counts.size, m * m))
    previous = None
    for k in np.argsort(counts, kind="stable"):
        P = int(counts[k])
        model = SpinGlass.from_feature_factors(context[:P], query[:P], targets[:P], l2=l2,
                                               normalization=normalization)
        result = solve_cg(model, 1.0, tol=tol, init=previous, operator="factored",
                          preconditioner=preconditioner)
        previous = result.mean
        W = result.mean.reshape(m, m)
        residual = model.fields - model.hessian_matvec(result.mean, method="factored")
        out["icl_error"][k] = population_test_error(W, context_length,
                                                    normalization=normalization)
        out["contrast_ratio"][k] = contrast_ratio(W)
        out["identity_overlap"][k] = identity_overlap(W)
        out["norm"][k] = norm_order_parameter(W)
        out["cg_iterations"][k] = result.n_iter
        out["relative_residual"][k] = np.linalg.norm(residual) / np.linalg.norm(model.fields)
        out["converged"][k] = float(result.converged)
        out["solve_seconds"][k] = result.seconds
        means[k] = result.mean
    out["means"] = means
    return out


def _check_preconditioner(preconditioner):
    if preconditioner not in _PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {list(_PRECONDITIONERS)}, "
                         f"got {preconditioner!r}")
    return preconditioner


def matrix_free_cell(*, dim, context_length, counts, l2, tol, preconditioner, normalization,
                     rng):
    """The body shared by the matrix-free sweep cells: draw, solve the nested P, measure."""
    clock = time.perf_counter()
    per_cell = reset_peak_rss()
    context, query, targets = draw_feature_factors(int(dim), int(context_length),
                                                   int(np.max(counts)), rng=rng,
                                                   normalization=normalization)
    draw_seconds = time.perf_counter() - clock
    out = solve_nested_means(context, query, targets, np.asarray(counts, dtype=int),
                             context_length=int(context_length), l2=l2, tol=tol,
                             preconditioner=_check_preconditioner(preconditioner),
                             normalization=normalization)
    del out["means"]
    n = np.size(counts)
    out["draw_seconds"] = np.full(n, draw_seconds)
    out["cell_seconds"] = np.full(n, time.perf_counter() - clock)
    out["peak_rss_mib"] = np.full(n, peak_rss_mib())
    out["peak_rss_per_cell"] = np.full(n, float(per_cell))
    return out


@register_cell("matrix-free-mean", nested="n_prompts",
               description="Boltzmann mean by matrix-free CG with per-cell peak memory (large D)",
               parameters=dict(dim=Parameter(int, minimum=1),
                               context_length=Parameter(int, minimum=1),
                               n_prompts=Parameter(int, minimum=1),
                               l2=Parameter(float, minimum=0.0, strict_min=True),
                               tol=Parameter(float, minimum=0.0, strict_min=True),
                               preconditioner=Parameter(str, choices=_PRECONDITIONERS),
                               normalization=Parameter(str, choices=("model", "li2024"))))
def matrix_free_mean_cell(*, dim, context_length, n_prompts, l2=1e-3, tol=1e-8,
                          preconditioner="jacobi", normalization="model", rng=None):
    """ICL error, contrast ratio, overlap and norm of the mean A⁻¹h for nested P, matrix-free.

    One draw of max P prompts (:func:`draw_feature_factors`), then :func:`solve_nested_means`.
    Besides :data:`MATRIX_FREE_OBSERVABLES` it reports, for the whole cell, ``draw_seconds``,
    ``cell_seconds``, ``peak_rss_mib`` (the process's peak resident memory while the cell ran)
    and ``peak_rss_per_cell`` (1.0 when the peak was reset at the cell's start, 0.0 when it is
    the process's lifetime peak).
    """
    out = matrix_free_cell(dim=dim, context_length=context_length,
                           counts=np.atleast_1d(n_prompts), l2=l2, tol=tol,
                           preconditioner=preconditioner, normalization=normalization, rng=rng)
    return out if np.ndim(n_prompts) else {k: float(v[0]) for k, v in out.items()}


class LargePhaseDiagram(GridResult):
    """The matrix-free phase diagram: dims ``("context_length", "n_prompts", "repeat")``.

    Every variable of :func:`matrix_free_mean_cell` (errors, CG iterations, seconds, peak
    memory) on the (N, P) grid; ``dim`` = D, the ratios and the P → ∞ error as for
    :class:`~spinicl.experiments.PhaseDiagram`.
    """

    def __init__(self, dim: int, context_lengths, prompt_counts, data: dict, *,
                 parameters: dict | None = None):
        data = dict(data)
        repeats = np.shape(next(iter(data.values())))[-1] if data else 1
        coords = {"context_length": np.asarray(context_lengths, dtype=float),
                  "n_prompts": np.asarray(prompt_counts, dtype=float),
                  "repeat": np.arange(repeats)}
        super().__init__("large-phase-diagram", coords, data, parameters)
        self.dim = check_int("dim", dim, minimum=1)

    @property
    def context_ratios(self) -> np.ndarray:
        """N/D."""
        return self.coords["context_length"] / self.dim

    @property
    def prompt_ratios(self) -> np.ndarray:
        """P/D²."""
        return self.coords["n_prompts"] / self.dim**2

    @property
    def threshold_ratio(self) -> float:
        """P_c/D² = (D+1)/D, the interpolation threshold."""
        return (self.dim + 1) / self.dim

    def population_error(self) -> np.ndarray:
        """e(g) of the P → ∞ ground state for each N."""
        N = self.coords["context_length"]
        g = population_gain(self.dim, N, l2=self.parameters.get("l2", 0.0))
        return population_error(g, self.dim, N)

    def memory_summary(self) -> dict:
        """Peak memory and time over the cells (MiB, seconds), for the record and the docs."""
        peak = self["peak_rss_mib"]
        secs = self["cell_seconds"][:, 0]
        return {"max_peak_rss_mib": float(np.max(peak)), "min_peak_rss_mib": float(np.min(peak)),
                "memory_budget_mib": float(self.parameters["memory_budget_mib"]),
                "peak_rss_per_cell": bool(np.all(self["peak_rss_per_cell"] == 1.0)),
                "max_cell_seconds": float(np.max(secs)),
                "total_cell_seconds": float(np.sum(secs)),
                "max_cg_iterations": int(np.max(self["cg_iterations"])),
                "max_relative_residual": float(np.max(self["relative_residual"])),
                "all_converged": bool(np.all(self["converged"] == 1.0))}

    def _extra_arrays(self) -> dict:
        return {"context_ratios": self.context_ratios, "prompt_ratios": self.prompt_ratios}

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record):
        params = record["parameters"]
        return cls(int(params["dim"]), coords["context_length"], coords["n_prompts"], data,
                   parameters=params)


def _counts(name, ratios, scale):
    ratios = check_finite_array(name, ratios, ndim=1)
    if ratios.size == 0 or np.any(ratios <= 0):
        raise ValueError(f"{name} must hold at least one value, each > 0, got {ratios}")
    return np.unique(np.maximum(np.rint(ratios * scale).astype(int), 1))


def large_phase_diagram(dim: int = 200, *, context_ratios=(0.5, 1.0, 2.0, 4.0),
                        prompt_ratios=(0.25, 0.5, 1.0, 1.5, 2.0), l2: float = 1e-3,
                        tol: float = 1e-8, preconditioner: str = "jacobi", repeats: int = 1,
                        memory_budget_mib: float = DEFAULT_MEMORY_BUDGET_MIB, rng=0,
                        checkpoint=None, executor: str = "serial", workers=None,
                        progress: bool = True) -> LargePhaseDiagram:
    """The exact (matrix-free) ICL phase diagram over (N/D, P/D²) at large D.

    Runs the ``"matrix-free-mean"`` cell over the N axis (P nested: one draw of the largest P
    per row and repeat) through the sweep engine, so it is resumable through ``checkpoint``.

    Parameters
    ----------
    dim : int
        D (>= 1); n = (D+1)² spins.
    context_ratios, prompt_ratios : sequence of float
        N/D and P/D² (> 0); rounded to integers N and P, duplicates dropped.
    l2 : float
        λ0 > 0.
    tol : float
        CG's relative residual.
    preconditioner : {"jacobi", "kronecker", "none"}
    repeats : int
        Disorder draws per grid point.
    memory_budget_mib : float
        Every cell's measured peak RSS must stay below it; otherwise ``MemoryError`` names the
        cell (its result stays in ``checkpoint``).
    rng : int
        Master seed of the sweep.
    checkpoint : path, optional
        The sweep's folder of unit files (``None``: a temporary folder).
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.
    progress : bool

    Returns
    -------
    LargePhaseDiagram
    """
    from ._sweep_runner import run_cells

    dim = check_int("dim", dim, minimum=1)
    l2 = check_real("l2", l2, minimum=0.0, strict_min=True)
    tol = check_real("tol", tol, minimum=0.0, strict_min=True)
    _check_preconditioner(preconditioner)
    repeats = check_int("repeats", repeats, minimum=1)
    budget = check_real("memory_budget_mib", memory_budget_mib, minimum=0.0, strict_min=True)
    Ns = _counts("context_ratios", context_ratios, dim)
    Ps = _counts("prompt_ratios", prompt_ratios, dim**2)
    result = run_cells(kind="matrix-free-mean", name=f"phase-diagram-d{dim}",
                       axes={"context_length": Ns, "n_prompts": Ps},
                       parameters={"dim": dim, "l2": l2, "tol": tol,
                                   "preconditioner": preconditioner},
                       repeats=repeats, rng=rng, store=checkpoint, executor=executor,
                       workers=workers, progress=progress)
    data = {k: np.asarray(v, dtype=float) for k, v in result.data.items()}
    parameters = dict(dim=dim, l2=l2, tol=tol, preconditioner=preconditioner, repeats=repeats,
                      memory_budget_mib=budget, seed=int(rng), executor=executor,
                      n_spins=(dim + 1) ** 2, context_lengths=Ns.tolist(),
                      prompt_counts=Ps.tolist())
    diagram = LargePhaseDiagram(dim, Ns, Ps, data, parameters=parameters)
    over = np.argwhere(diagram["peak_rss_mib"] >= budget)
    if over.size:
        i, j, r = over[0]
        raise MemoryError(f"cell N={Ns[i]}, P={Ps[j]}, repeat {r} peaked at "
                          f"{diagram['peak_rss_mib'][i, j, r]:.0f} MiB, over the budget "
                          f"memory_budget_mib={budget:g}")
    return diagram
