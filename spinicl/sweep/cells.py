"""The cell registry: cell kinds by name, each a pure function of its parameters and a seed.

A cell function takes keyword parameters and ``rng`` (a SeedSequence) and returns a dict of
floats or arrays. A kind may declare a *nested* axis that it computes in one call (its parameter
then arrives as a list, and each observable gains a leading axis of that length): the "exact" kind
does so for ``n_prompts``, drawing the largest prompt set once and accumulating SᵀS over nested
prefixes instead of rebuilding it per cell.

The sweep engine is infrastructure: it defines no physics and imports nothing above it. The
kinds are defined and registered (:func:`register_cell`) by the packages that compute them —
the spin-glass kinds ("exact", "exact-cg", "amp-li2024", "sampled") by
:mod:`spinicl.experiments.cells`, the studies of the satellites ("concepts-…", "dual-…") by
:mod:`spinicl.concepts.cells` and :mod:`spinicl.dual.cells` (named here as strings only: the
engine never imports a satellite, and the satellites import the engine). A name that is not
registered yet makes the registry import the packages listed in :data:`PLUGIN_PACKAGES` by name
(plugin discovery, through :mod:`importlib`, so the dependency points from the experiments and
the satellites to the engine and never back) and look again. Any importable function can also
be named as ``"package.module:function"``.

Every registered kind declares its parameters (:class:`Parameter`: type, range, choices), so a
sweep is checked value by value before anything runs: ``dim = 3.5`` is an error, not D = 3. A
parameter a kind does not declare (and every parameter of a ``"module:function"`` kind) is
typed by its default in the function's signature (an int default takes integers, a float
default real numbers, a str default strings, a bool default booleans).
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._validation import check_choice, check_int, check_real

__all__ = ["register_cell", "get_cell_kind", "CellKind", "available_cells", "Parameter",
           "describe_signature", "PLUGIN_PACKAGES"]

_CELLS: dict[str, "CellKind"] = {}

#: Packages that define and register cell kinds, imported by name on a lookup miss until the
#: kind is found, those whose path holds the kind's prefix first (``"dual-…"``:
#: ``spinicl.dual.cells``), then in this order (and all of them before :func:`available_cells`
#: lists the kinds). Appending to it reaches only this process: a worker of the process or
#: dask executor starts from this default list, so a kind of your own that must run there is
#: best named ``"package.module:function"``.
PLUGIN_PACKAGES: list[str] = ["spinicl.experiments", "spinicl.concepts.cells",
                              "spinicl.dual.cells"]
_DISCOVERED: set[str] = set()


@dataclass(frozen=True)
class Parameter:
    """The type and valid range of one cell parameter.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``. ``minimum``/``maximum`` bound numbers
    (exclusive where ``strict_min``/``strict_max``); ``choices`` (a tuple, or a function
    returning one, so that a kind need not import its sampler to declare it) lists the valid
    strings.
    """

    kind: type
    minimum: float | None = None
    maximum: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    choices: tuple | Callable | None = None

    def check(self, name: str, value):
        """``value`` converted to ``kind`` (3.0 → 3 for an int), or TypeError/ValueError."""
        if self.kind is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be true or false, got {value!r}")
            return bool(value)
        if self.kind is str:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {value!r}")
            choices = self.choices() if callable(self.choices) else self.choices
            return value if choices is None else check_choice(name, value, tuple(choices))
        if self.kind is int:
            return check_int(name, value, minimum=self.minimum, maximum=self.maximum)
        return check_real(name, value, minimum=self.minimum, maximum=self.maximum,
                          strict_min=self.strict_min, strict_max=self.strict_max)


def _inferred(default) -> Parameter | None:
    """A parameter typed by its default value (None or no default: unchecked)."""
    for kind in (bool, int, float, str):    # bool before int: True is an int too
        if isinstance(default, kind):
            return Parameter(kind)
    return None


def describe_signature(func) -> tuple[set | None, list]:
    """(accepted keyword names or None for **kwargs, required names) of a cell function."""
    sig = inspect.signature(func)
    accepted, required = set(), []
    for p in sig.parameters.values():
        if p.name == "rng":
            continue
        if p.kind == p.VAR_KEYWORD:
            return None, required
        accepted.add(p.name)
        if p.default is p.empty:
            required.append(p.name)
    return accepted, required


@dataclass(frozen=True)
class CellKind:
    """A registered cell function: its name, nested axis, one-line description, parameters."""

    name: str
    func: Callable
    nested: str | None = None
    description: str = ""
    parameters: dict = field(default_factory=dict)

    def signature(self):
        """(accepted keyword names or None for ``**kwargs``, required names)."""
        return describe_signature(self.func)

    def parameter(self, name: str) -> Parameter | None:
        """The declaration of ``name``, else one inferred from the function's default."""
        if name in self.parameters:
            return self.parameters[name]
        sig = inspect.signature(self.func).parameters.get(name)
        return None if sig is None else _inferred(sig.default)

    def check(self, name: str, value):
        """``value`` validated and converted for parameter ``name`` (unchanged if untyped)."""
        declared = self.parameter(name)
        return value if declared is None else declared.check(name, value)

    def __call__(self, params: dict, rng):
        return self.func(rng=rng, **params)


def register_cell(name: str, *, nested: str | None = None, description: str = "",
                  parameters: dict | None = None):
    """Decorator registering a cell function under ``name``.

    ``parameters`` maps parameter names to :class:`Parameter` declarations; undeclared ones are
    typed by their defaults.
    """

    def deco(func):
        _CELLS[name] = CellKind(name, func, nested, description or (func.__doc__ or "").strip()
                                .split("\n")[0], dict(parameters or {}))
        return func

    return deco


def _discover(name: str | None = None):
    """Import the packages of :data:`PLUGIN_PACKAGES` not imported yet (they register kinds).

    With a ``name``, stop as soon as it is registered, trying first the packages whose dotted
    path holds the name's prefix (``"dual-approximation"``: ``spinicl.dual.cells``): a worker
    that computes one satellite's cells then imports neither the other nor the experiments.
    """
    packages = list(PLUGIN_PACKAGES)
    if name is not None and "-" in name:
        prefix = f".{name.split('-', 1)[0]}."
        packages.sort(key=lambda package: prefix not in f".{package}.")   # stable: order kept
    for package in packages:
        if name is not None and name in _CELLS:
            return
        if package in _DISCOVERED:
            continue
        # marked first: a plugin that looks a kind up while it is being imported must not
        # import itself again
        _DISCOVERED.add(package)
        try:
            importlib.import_module(package)
        except BaseException:
            _DISCOVERED.discard(package)
            raise


def get_cell_kind(name: str) -> CellKind:
    """The cell kind registered as ``name``, or the function named ``"module:function"``.

    Parameters
    ----------
    name : str
        A registered kind (see :func:`available_cells`), or ``"package.module:function"``.

    Returns
    -------
    CellKind

    Raises
    ------
    ValueError
        If ``name`` is neither registered (after plugin discovery) nor importable.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in _CELLS and ":" not in name:
        _discover(name)
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
    """Every registered kind by name (after importing :data:`PLUGIN_PACKAGES`), sorted."""
    _discover()
    return dict(sorted(_CELLS.items()))
