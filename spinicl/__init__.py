"""spinicl: the spin-glass physics of in-context learning.

The public API is re-exported here; heavier subsystems are imported on first use.

>>> import spinicl
>>> prompts = spinicl.sample_prompts(dim=5, context_length=20, n_prompts=400, rng=0)
>>> model = spinicl.SpinGlass.from_prompts(prompts, l2=1e-3)
>>> measure = model.boltzmann(beta=100.0)
>>> round(spinicl.contrast_ratio(measure.mean_weights), 2) > 0.5
True
"""
from __future__ import annotations

import importlib

from ._version import __version__
from ._grid import GridResult  # noqa: E402
from .attention import attention_output, feature_factors, features, linear_attention  # noqa: E402
from .hamiltonian import SpinGlass  # noqa: E402
from .measure import BoltzmannMeasure  # noqa: E402
from .observables import (contrast_ratio, gibbs_test_error, hessian_spectrum,  # noqa: E402
                          identity_overlap, norm_order_parameter, population_error,
                          population_gain, population_ground_state, population_test_error,
                          test_error, zero_mode_ratio, zero_mode_ratio_theory)
from .prompts import Prompts, sample_prompts  # noqa: E402

# name -> module for the subsystems loaded lazily (they pull in numba kernels or plotting).
_LAZY = {
    "observables": "spinicl.observables",
    "figures": "spinicl.figures",
    "experiments": "spinicl.experiments",
    "exact_phase_diagram": "spinicl.experiments.phase_diagram",
    "sample": "spinicl.samplers",
    "Samples": "spinicl.samplers",
    "NUTS": "spinicl.samplers",
    "HMC": "spinicl.samplers",
    "MALA": "spinicl.samplers",
    "ULA": "spinicl.samplers",
    "Gibbs": "spinicl.samplers",
    "Metropolis": "spinicl.samplers",
    "ParallelTempering": "spinicl.samplers",
    "Anneal": "spinicl.samplers",
    "Emcee": "spinicl.samplers",
    "Exact": "spinicl.samplers",
    "diagnostics": "spinicl.diagnostics",
    "samplers": "spinicl.samplers",
    "solve": "spinicl.solvers",
    "solve_tap": "spinicl.solvers",
    "solve_li2024_batch": "spinicl.solvers",
    "SolverResult": "spinicl.solvers",
    "BatchSolverResult": "spinicl.solvers",
    "solvers": "spinicl.solvers",
    "theory": "spinicl.theory",
    "train": "spinicl.training",
    "TrainResult": "spinicl.training",
    "training": "spinicl.training",
    "ModelHamiltonian": "spinicl.training",
    "nuclear_norm_minimiser": "spinicl.training",
    "sweep": "spinicl.sweep",
    "run_sweep": "spinicl.sweep",
    "SweepSpec": "spinicl.sweep",
    "make_figure": "spinicl.figures",
    "concepts": "spinicl.concepts",
    "dual": "spinicl.dual",
    "DualModel": "spinicl.dual",
}

__all__ = [
    "__version__", "GridResult", "Prompts", "sample_prompts", "SpinGlass", "BoltzmannMeasure",
    "linear_attention", "attention_output", "features", "feature_factors", "contrast_ratio",
    "identity_overlap", "norm_order_parameter", "test_error", "population_test_error",
    "gibbs_test_error", "hessian_spectrum", "zero_mode_ratio", "zero_mode_ratio_theory",
    "population_gain", "population_error", "population_ground_state",
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spinicl' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
