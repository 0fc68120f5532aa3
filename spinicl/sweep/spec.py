"""A sweep declared as a grid: fixed parameters × axes × repeats, from TOML or Python.

```toml
[sweep]
name = "exact-small"      # a label for the output
kind = "exact"            # a registered cell kind (spinicl.sweep.cells), or "module:function"
seed = 0                  # master seed: unit u gets child u of SeedSequence(seed)
repeats = 3               # independent disorder draws per grid point

[parameters]              # fixed keyword arguments of the cell function
dim = 8
l2 = 0.001

[axes]                    # swept keyword arguments: a list, or {start, stop, num[, integer]}
context_length = [8, 16, 32]
n_prompts = {start = 8, stop = 216, num = 14, integer = true}
```

Every parameter and every axis value is checked against the cell kind's declared type and
range (see :class:`spinicl.sweep.cells.Parameter`) before anything runs, and unknown names are
rejected. Errors in a TOML file name the file and the line they come from, e.g.
``grid.toml line 7: dim must be an integer, got 3.5``. :mod:`tomllib` keeps no line numbers,
so the line is found by scanning the text for the key (``^\\s*dim\\s*=``): the first line that
sets a key of that name, which is the right one unless the same name is set in two tables.
"""
from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import check_int, child_seed
from .cells import get_cell_kind

__all__ = ["SweepSpec", "load_spec", "WorkUnit"]


class SpecError(ValueError):
    """A bad sweep specification; the message names the TOML line where there is one."""


@dataclass(frozen=True)
class WorkUnit:
    """One unit of work: a grid point (all axes but a nested one) and one repeat."""

    index: int
    grid_index: tuple
    repeat: int
    parameters: dict


@dataclass
class SweepSpec:
    """Grid specification. ``axes`` maps parameter name → 1-D values (order kept)."""

    kind: str
    axes: dict
    parameters: dict = field(default_factory=dict)
    repeats: int = 1
    seed: int = 0
    name: str = "sweep"
    source: str | None = field(default=None, repr=False, compare=False)
    path: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        for key in ("kind", "name"):
            if not isinstance(getattr(self, key), str):
                raise SpecError(self._where(key) + f"{key} must be a string, got "
                                f"{getattr(self, key)!r}")
        self.repeats = check_int("repeats", self.repeats, minimum=1)
        self.seed = check_int("seed", self.seed, minimum=0)
        self.cell_kind = get_cell_kind(self.kind)
        if not self.axes:
            raise SpecError(self._where("axes", "[axes]") + "a sweep needs at least one axis")
        clean = {}
        for name, values in self.axes.items():
            arr = np.asarray(values)
            if arr.ndim != 1 or arr.size == 0:
                raise SpecError(self._where(name) + f"axis {name!r} must be a non-empty list")
            if not np.issubdtype(arr.dtype, np.number):
                raise SpecError(self._where(name) + f"axis {name!r} must hold numbers, got "
                                f"{list(values)!r}")
            if not np.all(np.isfinite(arr)):
                raise SpecError(self._where(name) + f"axis {name!r} holds non-finite values")
            clean[name] = arr
        self.axes = clean
        accepted, required = self.cell_kind.signature()
        for name in list(self.axes) + list(self.parameters):
            if name in self.axes and name in self.parameters:
                raise SpecError(self._where(name) + f"{name!r} is both fixed and swept")
            if accepted is not None and name not in accepted:
                raise SpecError(self._where(name) + f"unknown parameter {name!r} for cell kind "
                                f"{self.kind!r}; accepted: {', '.join(sorted(accepted))}")
        missing = [r for r in required if r not in self.axes and r not in self.parameters]
        if missing:
            raise SpecError(self._where("parameters", "[parameters]") +
                            f"cell kind {self.kind!r} needs {', '.join(missing)}")
        self.parameters = {name: self._checked(name, value)
                           for name, value in self.parameters.items()}
        for name, values in self.axes.items():
            checked = [self._checked(name, v.item(), axis=True) for v in values]
            self.axes[name] = np.asarray(checked)

    def _checked(self, name, value, *, axis=False):
        """``value`` typed and range-checked for the cell kind, or a SpecError naming the line."""
        try:
            return self.cell_kind.check(name, value)
        except (TypeError, ValueError) as exc:
            what = f" (a value of axis {name!r})" if axis else ""
            raise SpecError(self._where(name) + f"{exc}{what}") from None

    # ------------------------------------------------------------------ errors
    def _where(self, key: str, header: str | None = None) -> str:
        """``"FILE line N: "`` for the first line that sets ``key`` (or opens ``header``)."""
        prefix = f"{Path(self.path).name} " if getattr(self, "path", None) else ""
        if not getattr(self, "source", None):
            return prefix.rstrip() + ": " if prefix else ""
        pattern = re.compile(rf"^\s*(\[{re.escape(key)}\]|\"?{re.escape(key)}\"?\s*=)")
        if header is not None:
            pattern = re.compile(rf"^\s*{re.escape(header)}")
        for lineno, line in enumerate(self.source.splitlines(), start=1):
            if pattern.match(line):
                return f"{prefix}line {lineno}: "
        return prefix.rstrip() + ": " if prefix else ""

    # ------------------------------------------------------------------ grid
    @property
    def nested_axis(self) -> str | None:
        """The axis a cell kind computes in one go (e.g. nested prompt counts), if swept."""
        name = self.cell_kind.nested
        return name if name in self.axes else None

    @property
    def outer_axes(self) -> list[str]:
        return [a for a in self.axes if a != self.nested_axis]

    @property
    def shape(self) -> tuple:
        """(len axis_1, …, len axis_k, repeats): the shape of every aggregated observable."""
        return tuple(self.axes[a].size for a in self.axes) + (self.repeats,)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    def units(self) -> list[WorkUnit]:
        """Work units in a fixed order; unit u's seed is child u of SeedSequence(seed)."""
        outer = self.outer_axes
        nested = self.nested_axis
        units = []
        ranges = [range(self.axes[a].size) for a in outer]
        for grid_index in itertools.product(*ranges):
            for r in range(self.repeats):
                params = dict(self.parameters)
                for a, i in zip(outer, grid_index):
                    params[a] = self.axes[a][i].item()
                if nested is not None:
                    params[nested] = [v.item() for v in self.axes[nested]]
                units.append(WorkUnit(len(units), grid_index, r, params))
        return units

    def unit_seed(self, unit: WorkUnit) -> np.random.SeedSequence:
        """Child ``unit.index`` of SeedSequence(seed), whatever ran before it and wherever."""
        return child_seed(self.seed, unit.index)

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "seed": self.seed, "repeats": self.repeats,
                "parameters": self.parameters,
                "axes": {k: v.tolist() for k, v in self.axes.items()}}


def _axis_values(name, value, where):
    if isinstance(value, dict):
        unknown = set(value) - {"start", "stop", "num", "integer", "log"}
        if unknown or not {"start", "stop", "num"} <= set(value):
            raise SpecError(where + f"axis {name!r}: a range needs start, stop, num "
                            f"(optional integer, log); got keys {sorted(value)}")
        try:
            start, stop = float(value["start"]), float(value["stop"])
            num = int(value["num"])
        except (TypeError, ValueError):
            raise SpecError(where + f"axis {name!r}: start, stop, num must be numbers") from None
        if num < 1:
            raise SpecError(where + f"axis {name!r} is empty (num = {num})")
        if value.get("log"):
            values = np.geomspace(start, stop, num)
        else:
            values = np.linspace(start, stop, num)
        if value.get("integer"):
            values = np.unique(np.rint(values).astype(int))
        return values
    if not isinstance(value, list):
        raise SpecError(where + f"axis {name!r} must be a list or a {{start, stop, num}} table")
    if not value:
        raise SpecError(where + f"axis {name!r} is empty")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise SpecError(where + f"axis {name!r} must hold numbers, got {value!r}")
    return np.asarray(value)


def load_spec(path_or_text) -> SweepSpec:
    """Read a sweep specification from a TOML file (or TOML text).

    A :class:`SpecError` (a ValueError) names the file and line of a bad value; a file that
    cannot be read is a SpecError too.
    """
    text, path = path_or_text, None
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and "\n" not in
                                          path_or_text and path_or_text.endswith(".toml")):
        path = str(path_or_text)
        try:
            text = Path(path_or_text).read_text()
        except OSError as exc:
            raise SpecError(f"cannot read the sweep specification {path}: "
                            f"{exc.strerror or exc}") from None
    probe = SweepSpec.__new__(SweepSpec)
    probe.source, probe.path = None, path
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(probe._where("") + f"invalid TOML: {exc}") from None
    probe.source = text

    unknown_tables = set(doc) - {"sweep", "parameters", "axes"}
    if unknown_tables:
        name = sorted(unknown_tables)[0]
        raise SpecError(probe._where(name) + f"unknown table [{name}]; expected [sweep], "
                        "[parameters], [axes]")
    head = doc.get("sweep", {})
    unknown = set(head) - {"name", "kind", "seed", "repeats"}
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(probe._where(key) + f"unknown key {key!r} in [sweep]; expected name, "
                        "kind, seed, repeats")
    if "kind" not in head:
        raise SpecError(probe._where("sweep", "[sweep]") + "[sweep] needs kind = \"...\"")
    axes = {name: _axis_values(name, value, probe._where(name))
            for name, value in doc.get("axes", {}).items()}
    for key in ("seed", "repeats"):
        if key in head and not isinstance(head[key], int):
            raise SpecError(probe._where(key) + f"{key} must be an integer, got {head[key]!r}")
    try:
        return SweepSpec(kind=head["kind"], axes=axes, parameters=doc.get("parameters", {}),
                         repeats=head.get("repeats", 1), seed=head.get("seed", 0),
                         name=head.get("name", "sweep"), source=text, path=path)
    except SpecError:
        raise
    except ValueError as exc:
        key = "repeats" if "repeats" in str(exc) else "seed" if "seed" in str(exc) else "kind"
        raise SpecError(probe._where(key) + str(exc)) from None
