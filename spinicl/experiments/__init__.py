"""Computations behind the figures: each returns a result object that can save itself.

Every result is a :class:`spinicl.GridResult` (named grid coordinates, observables and the
run's parameters): :class:`PhaseDiagram` for the exact measure adds the phase-diagram physics;
the training experiments' :class:`ExperimentResult` is the grid result itself.
Plotting lives one layer up, in :mod:`spinicl.figures` (e.g.
:func:`spinicl.figures.plot_phase_diagram`). Importing this package also registers the
spin-glass sweep cells of :mod:`spinicl.experiments.cells` ("exact", "exact-cg", "amp-li2024",
"sampled") with the sweep registry, which imports it by name when it meets one of those kinds.
"""
from . import cells  # noqa: F401  (registers the sweep cell kinds)
from . import large_scale  # noqa: F401  (registers the "matrix-free-mean" cell kind)
from . import separate_measure  # noqa: F401  (registers "separate-measure", "softmax-measure")
from . import training_cells  # noqa: F401  (registers the training experiments' cell kinds)
from ._runs import ExperimentResult
from .architectures import architecture_comparison
from .correlated_tokens import correlated_tokens_sweep
from .dynamics import context_length_sweep, training_dynamics
from .emergence import task_diversity_emergence
from .memorisation import memorisation_phase_diagram, memorisation_to_icl
from .one_step_gd import one_step_gd
from .phase_diagram import PhaseDiagram, exact_phase_diagram

__all__ = ["PhaseDiagram", "exact_phase_diagram", "ExperimentResult", "task_diversity_emergence",
           "memorisation_to_icl", "memorisation_phase_diagram", "training_dynamics",
           "context_length_sweep", "one_step_gd", "architecture_comparison",
           "correlated_tokens_sweep"]
