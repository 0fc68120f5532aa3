"""Cell functions: pure functions of their parameters and a seed, returning named observables.

A cell function takes keyword parameters and ``rng`` (a SeedSequence) and returns a dict of
floats or arrays. A kind may declare a *nested* axis that it computes in one call (its parameter
then arrives as a list, and each observable gains a leading axis of that length): the "exact" kind
does so for ``n_prompts``, drawing the largest prompt set once and accumulating SᵀS over nested
prefixes instead of rebuilding it per cell.

Register new kinds with :func:`register_cell`, or name any importable function as
``"package.module:function"``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["register_cell", "get_cell_kind", "CellKind", "available_cells"]

_CELLS: dict[str, "CellKind"] = {}


@dataclass(frozen=True)
class CellKind:
    name: str
    func: Callable
    nested: str | None = None
    description: str = ""

    def signature(self):
        from .spec import describe_signature

        return describe_signature(self.func)

    def __call__(self, params: dict, rng):
        return self.func(rng=rng, **params)


def register_cell(name: str, *, nested: str | None = None, description: str = ""):
    """Decorator registering a cell function under ``name``."""

    def deco(func):
        _CELLS[name] = CellKind(name, func, nested, description or (func.__doc__ or "").strip()
                                .split("\n")[0])
        return func

    return deco


def get_cell_kind(name: str) -> CellKind:
    if name in _CELLS:
        return _CELLS[name]
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            func = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cell kind {name!r} cannot be imported: {exc}") from None
        return CellKind(name, func, getattr(func, "nested_axis", None))
    raise ValueError(f"unknown cell kind {name!r}; registered: {', '.join(sorted(_CELLS))} "
                     "(or give 'module:function')")


def available_cells() -> dict[str, CellKind]:
    return dict(sorted(_CELLS.items()))


@register_cell("exact", nested="n_prompts",
               description="exact Boltzmann measure: contrast ratio, ICL and Gibbs errors")
def exact_cell(*, dim, context_length, n_prompts, l2=1e-3, beta=100.0, normalization="model",
               rng=None):
    """Exact-measure observables for nested prompt sets P_1 < P_2 < … (one draw of max P).

    SᵀS and Sᵀy are accumulated over the nested prefixes, so the whole P axis costs one pass
    over the prompts plus one Cholesky per P.
    """
    from ..attention import feature_factors
    from ..experiments.phase_diagram import measure_observables
    from ..hamiltonian import SpinGlass
    from ..prompts import sample_prompts

    counts = np.atleast_1d(np.asarray(n_prompts, dtype=int))
    if np.any(counts < 1):
        raise ValueError(f"n_prompts must be >= 1, got {counts.min()}")
    order = np.argsort(counts, kind="stable")
    prompts = sample_prompts(int(dim), int(context_length), int(counts.max()), rng=rng)
    context, query = feature_factors(prompts, normalization=normalization)
    m = context.shape[1]
    gram = np.zeros((m * m, m * m))
    proj = np.zeros(m * m)
    done = 0
    out: dict[str, np.ndarray] = {}
    for k in order:
        P = int(counts[k])
        if P > done:
            S = (context[done:P, :, None] * query[done:P, None, :]).reshape(P - done, m * m)
            gram += S.T @ S
            proj += S.T @ prompts.targets[done:P]
            done = P
        model = SpinGlass(couplings=-gram / P, fields=proj / P,
                          self_couplings=l2 + np.diag(gram) / P)
        model.normalization = normalization
        measure = model.boltzmann(beta, pseudo_inverse=(l2 == 0))
        for name, value in measure_observables(measure, int(context_length)).items():
            out.setdefault(name, np.empty(counts.size))[k] = value
    return out if np.ndim(n_prompts) else {k: float(v[0]) for k, v in out.items()}
