"""After the data arguments, every option of the public API is keyword-only.

The test walks the public API (``spinicl.__all__``, its lazily loaded names, and the ``__all__``
of every subpackage and top-level module except the CLI) and checks each function, class
constructor and public method with :mod:`inspect`: a parameter with a default may be passed
positionally only when it is one of the documented data arguments of that function below
(what the call is about: a size, an array, a destination), never when it is an option.

Dataclass records (results, prompts, specs) are built field by field and are exempt.
"""
import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import spinicl

# qualname -> the parameters with defaults that are data, so may stay positional
DATA_ARGUMENTS = {
    "SpinGlass.random": ("dim",),                      # the model's size
    "gibbs_test_error": ("prompts",),                  # the test prompts (default: population)
    "exact_phase_diagram": ("dim",),
    "Samples.stats": ("name",),                        # which observable
    "solve_li2024_batch": ("couplings", "fields", "self_couplings", "beta"),  # or models=
    "make_figure": ("out_dir",),                       # where the figure goes
    "plot_phase_diagram": ("path",),
    "run_figure_script": ("doc", "argv"),
    "Adam": ("lr",), "AdamW": ("lr",),                 # the step size, as SGD(lr)
    "DualModel.loss": ("W",), "DualModel.gradient": ("W",), "DualModel.step": ("W",),
    "DualModel.predict": ("W", "x"), "MultiHeadDual.loss": ("weights",),
    "combine_heads": ("W_O",),                         # the output projection (a weight)
    "DualModel.run": ("n_steps",), "MultiHeadDual.run": ("n_steps",),
    "DualSequence.run": ("n_steps",), "TransformerLayerDual.run": ("n_steps",),
    "random_problem": ("dim", "context_length"),
    "compare_modifications": ("settings",),            # the list of modifications
    "ConceptDictionary": ("dim", "n_concepts"),
    "ConceptTransformer": ("dim",),
    "evaluate": ("n_prompts",),                        # the size of the test set
    "evaluate_ood": ("variants",),
    "fit_training_rate": ("test_name",),
    "convergence_sweep": ("context_lengths", "batch_sizes"),   # the grid's axes
    "sign_symmetry": ("inits",),
    "CallbackList": ("callbacks",), "Logger": ("path",),   # what to hold, where to write
    "sample": ("method",),                             # the sampler object, as solve's method
    "GridResult": ("parameters",),                     # the result's contents, as coords/data
    "GridResult.mean": ("dim",), "GridResult.std": ("dim",),
    "GridResult.stderr": ("dim",), "GridResult.count": ("dim",),   # numpy's axis convention
    "task_diversity_emergence": ("dim", "context_length"),
    "memorisation_to_icl": ("dim", "context_length"),
    "memorisation_phase_diagram": ("dim", "context_length"),
    "training_dynamics": ("dim", "context_length"),
    "one_step_gd": ("dim", "context_length"),
    "context_length_sweep": ("dim",),
    "architecture_comparison": ("dim",),
    "correlated_tokens_sweep": ("dim",),
}
# every save(out_dir, stem) names its destination: both are data
DATA_FOR_METHODS = {"save": ("out_dir", "stem")}

SKIPPED_MODULES = ("spinicl.cli", "spinicl.commands")


def _public_modules():
    yield spinicl
    for info in pkgutil.iter_modules(spinicl.__path__, "spinicl."):
        if info.name.startswith(SKIPPED_MODULES) or info.name.rsplit(".", 1)[1].startswith("_"):
            continue
        yield importlib.import_module(info.name)


def _public_callables():
    seen = set()
    for module in _public_modules():
        names = list(getattr(module, "__all__", ()))
        if module is spinicl:
            names += list(spinicl._LAZY)
        for name in names:
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                if not dataclasses.is_dataclass(obj):
                    yield obj.__qualname__, obj
                for attr, value in vars(obj).items():
                    func = value.__func__ if isinstance(value, (classmethod, staticmethod)) \
                        else value
                    if not attr.startswith("_") and inspect.isfunction(func):
                        yield f"{obj.__qualname__}.{attr}", func
            else:
                yield getattr(obj, "__qualname__", name), obj


def _positional_options(qualname, func):
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):   # builtins without a signature
        return []
    allowed = set(DATA_ARGUMENTS.get(qualname, ()))
    allowed |= set(DATA_FOR_METHODS.get(qualname.rsplit(".", 1)[-1], ()))
    return [p.name for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.default is not p.empty and p.name not in allowed]


def test_the_walk_sees_the_public_api():
    names = {q for q, _ in _public_callables()}
    for expected in ("SpinGlass.from_prompts", "solve", "solve_saddle_point", "solve_grid",
                     "train", "sample", "train_concepts", "BoltzmannMeasure.sample",
                     "make_figure"):
        assert expected in names, expected


def test_options_are_keyword_only_after_the_data_arguments():
    offenders = {q: bad for q, f in _public_callables() if (bad := _positional_options(q, f))}
    assert not offenders, ("options that may be passed positionally (make them keyword-only, "
                           f"or document a data argument in DATA_ARGUMENTS): {offenders}")


def test_every_documented_data_argument_still_exists():
    # a stale entry would silently allow an option positionally after a rename
    signatures = {q: f for q, f in _public_callables()}
    for qualname, names in DATA_ARGUMENTS.items():
        assert qualname in signatures, f"{qualname} is no longer public"
        params = inspect.signature(signatures[qualname]).parameters
        for name in names:
            assert name in params, f"{qualname} has no parameter {name}"


@pytest.mark.parametrize("call", [
    lambda: spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(2, 4, 8, rng=0), 0.1),
    lambda: spinicl.solve(spinicl.SpinGlass.random(dim=2, rng=0), 10.0, "cg"),
])
def test_positional_options_are_refused(call):
    with pytest.raises(TypeError, match="positional"):
        call()
