"""One grid result: named dims, coordinates, data variables and the parameters behind them.

Every grid computation of the package (sweeps, experiments, the dual and concepts studies)
returns a :class:`GridResult`. A result is a small, dependency-free cousin of an
``xarray.Dataset``:

* ``dims`` – the grid's dimensions in order, e.g. ``("n_prompts", "repeat")``;
* ``coords`` – one 1-D array per grid dimension (and optionally per extra dimension);
* ``data`` – the data variables; each has its own dims (``var_dims[name]``): by default the
  grid dims followed by extra dims named ``<name>_dim0``, ``<name>_dim1``, …;
* ``parameters`` – every setting that produced the result (JSON-able; ``attrs`` is an alias).

Statistics over repeats (the ``"repeat"`` dimension) are NaN-aware: a NaN marks a cell with no
value (a diverged run, an unfinished cell) and is left out, cell by cell.

>>> import numpy as np
>>> r = GridResult("demo", {"n": [1, 2], "repeat": [0, 1, 2]},
...                {"error": np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])})
>>> r.mean("error").tolist(), r.count("error").tolist()
([2.0, 5.0], [3, 2])
>>> float(r.sel(n=2)["error"][2])
6.0
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ._io import load_npz, run_record, save_json_atomic, save_npz_atomic

__all__ = ["variable_property", "GridResult", "REPEAT"]

REPEAT = "repeat"
FORMAT = "spinicl.GridResult/1"
_COORD = "coord_"


def _check_name(what: str, name) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{what} must be a non-empty str, got {name!r}")
    return name


def variable_property(name: str) -> property:
    """A read-only attribute that returns the data variable ``name``.

    The studies that became grid results keep their old attribute names this way
    (``times = variable_property("times")``) instead of one hand-written property each.
    """
    return property(lambda self: self.data[name], doc=f"The data variable ``{name}``.")


class GridResult:
    """Data variables on a named grid, with coordinates and the run's parameters.

    Parameters
    ----------
    kind : str
        What produced the result (an experiment, a sweep's cell kind, a study); the default file
        stem of :meth:`save`.
    coords : dict[str, array_like]
        The grid's dimensions, in order, each with its 1-D coordinate values, e.g.
        ``{"context_length": Ns, "repeat": np.arange(3)}``. The order of the keys is ``dims``.
    data : dict[str, array_like]
        The data variables. Without an entry in ``var_dims`` a variable's leading axes are the
        grid (its shape starts with ``shape``); the remaining axes get dims
        ``<name>_dim0``, ``<name>_dim1``, ….
    parameters : dict, optional
        Every setting (JSON-able), seed included.
    var_dims : dict[str, sequence of str], optional
        Explicit dims of some variables; these may use any dims, grid dims or not (e.g. a heat
        map on ``("token", "token")``). A dim shared by several variables must have one length.
    extra_coords : dict[str, array_like], optional
        Coordinates of non-grid dims (e.g. ``{"step": steps}``), each 1-D with that dim's length.

    Attributes
    ----------
    kind : str
    dims : tuple of str
        The grid's dims (``"repeat"``, where present, is conventionally the last).
    coords : dict[str, ndarray]
        Coordinates of the grid dims, then of the extra dims that have them.
    data : dict[str, ndarray]
    var_dims : dict[str, tuple of str]
    parameters : dict

    Raises
    ------
    TypeError
        A name that is not a non-empty str, or ``data``/``coords`` that are not dicts.
    ValueError
        A coordinate that is not 1-D, a variable whose shape does not start with the grid's, a
        dim used with two lengths, or a variable named like a coordinate (``coord_*``).
    """

    def __init__(self, kind: str, coords: dict, data: dict, parameters: dict | None = None, *,
                 var_dims: dict | None = None, extra_coords: dict | None = None):
        self.kind = _check_name("kind", kind)
        for what, value in (("coords", coords), ("data", data)):
            if not isinstance(value, dict):
                raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
        if parameters is not None and not isinstance(parameters, dict):
            raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")
        self.parameters = dict(parameters or {})
        self.coords = {}
        for dim, values in coords.items():
            self.coords[_check_name("a dim", dim)] = self._coordinate(dim, values)
        self.dims = tuple(self.coords)
        self.data = {}
        self.var_dims = {}
        explicit = dict(var_dims or {})
        unknown = set(explicit) - set(data)
        if unknown:
            raise ValueError(f"var_dims names variables not in data: {sorted(unknown)}")
        for name, value in data.items():
            self._add(name, value, explicit.get(name))
        for dim, values in (extra_coords or {}).items():
            if dim in self.coords:
                raise ValueError(f"extra_coords: {dim!r} is already a grid dim")
            self.coords[_check_name("a dim", dim)] = self._coordinate(dim, values)
        self._check_sizes()

    # ------------------------------------------------------------------ construction helpers
    @staticmethod
    def _coordinate(dim, values) -> np.ndarray:
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"coordinate {dim!r} must be 1-D, got shape {array.shape}")
        return array

    def _add(self, name, value, dims) -> None:
        name = _check_name("a data variable's name", name)
        if name.startswith(_COORD):
            raise ValueError(f"data variable {name!r}: names starting with {_COORD!r} are kept "
                             "for coordinates in the saved file")
        array = np.asarray(value)
        if dims is None:
            grid = self.shape
            if array.shape[:len(grid)] != grid:
                raise ValueError(f"data variable {name!r} has shape {array.shape}; its leading "
                                 f"axes must be the grid {dict(zip(self.dims, grid))}")
            dims = self.dims + tuple(f"{name}_dim{i}" for i in range(array.ndim - len(grid)))
        else:
            dims = tuple(_check_name(f"a dim of {name!r}", d) for d in dims)
            if len(dims) != array.ndim:
                raise ValueError(f"data variable {name!r} has {array.ndim} axes but var_dims "
                                 f"gives {len(dims)}: {dims}")
            if len(set(dims)) != len(dims):
                raise ValueError(f"data variable {name!r} repeats a dim: {dims}")
        self.data[name] = array
        self.var_dims[name] = dims

    def _check_sizes(self) -> None:
        sizes = {dim: len(values) for dim, values in self.coords.items()}
        for name, dims in self.var_dims.items():
            for dim, n in zip(dims, self.data[name].shape):
                if sizes.setdefault(dim, n) != n:
                    raise ValueError(f"dim {dim!r} has length {sizes[dim]} elsewhere but {n} "
                                     f"in data variable {name!r}")
        self._sizes = sizes

    # ------------------------------------------------------------------ structure
    @property
    def shape(self) -> tuple[int, ...]:
        """Lengths of the grid dims."""
        return tuple(len(self.coords[d]) for d in self.dims)

    @property
    def sizes(self) -> dict:
        """Length of every dim (grid and extra)."""
        return dict(self._sizes)

    @property
    def attrs(self) -> dict:
        """Alias of ``parameters`` (xarray's name)."""
        return self.parameters

    @property
    def names(self) -> tuple[str, ...]:
        """The data variables' names."""
        return tuple(self.data)

    @property
    def repeats(self) -> int:
        """Length of the ``"repeat"`` dim (1 without one)."""
        return self._sizes.get(REPEAT, 1)

    def _resolve(self, name) -> str:
        """The variable ``name`` stands for (subclasses map the names of earlier results)."""
        if name in self.data:
            return name
        raise KeyError(f"{self.kind!r} has no data variable {name!r}; it has "
                       f"{sorted(self.data)}")

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[self._resolve(name)]

    def __contains__(self, name) -> bool:
        return name in self.data

    # ------------------------------------------------------------------ statistics
    def _axis(self, name: str, dim) -> int:
        dims = self.var_dims[name]
        if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool):
            # an int is a position among the grid dims (negative from the last grid dim),
            # the convention of the experiments' results before GridResult
            n = len(self.dims)
            if not -n <= dim < n:
                raise ValueError(f"dim={dim} is out of range for the grid dims {self.dims}")
            dim = self.dims[dim % n]
        if not isinstance(dim, str):
            raise TypeError(f"dim must be a dim name or an int, got {type(dim).__name__}")
        if dim not in dims:
            raise ValueError(f"data variable {name!r} has no dim {dim!r}; its dims are {dims}")
        return dims.index(dim)

    def count(self, name: str, dim=REPEAT) -> np.ndarray:
        """Number of non-NaN values of ``name`` along ``dim`` (default: the repeats)."""
        name = self._resolve(name)
        x = self.data[name]
        axis = self._axis(name, dim)
        return np.sum(~np.isnan(x), axis=axis) if x.dtype.kind in "fc" else \
            np.full(np.delete(x.shape, axis), x.shape[axis])

    def mean(self, name: str, dim=REPEAT) -> np.ndarray:
        """Mean of ``name`` over ``dim`` (default ``"repeat"``), NaN-aware.

        Parameters
        ----------
        name : str
            A data variable.
        dim : str or int
            A dim of the variable, or a position among the grid dims (``-1``: the last).

        Returns
        -------
        ndarray
            The mean of the non-NaN values of each cell; NaN where a cell has none.
        """
        name = self._resolve(name)
        x = self.data[name]
        axis = self._axis(name, dim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN cells: NaN, said above
            return np.nanmean(x, axis=axis)

    def std(self, name: str, dim=REPEAT) -> np.ndarray:
        """Sample standard deviation (ddof=1) of ``name`` over ``dim``, NaN-aware.

        ``n`` (the non-NaN count) is taken cell by cell: where ``n >= 2`` the result is the
        ddof=1 standard deviation of those values; where ``n == 1`` it is 0 (one value shows no
        spread: error bars vanish rather than disappear); where ``n == 0`` it is NaN.
        """
        name = self._resolve(name)
        x = np.asarray(self.data[name], dtype=float)
        axis = self._axis(name, dim)
        n = np.sum(~np.isnan(x), axis=axis)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # n <= 1 cells: replaced below
            s = np.nanstd(x, axis=axis, ddof=1)
        return np.where(n >= 2, s, np.where(n == 1, 0.0, np.nan))

    def stderr(self, name: str, dim=REPEAT) -> np.ndarray:
        """Standard error of the mean over ``dim``: ``std / sqrt(n)`` with ``n`` per cell.

        0 where a cell has one value and NaN where it has none (see :meth:`std`).
        """
        name = self._resolve(name)
        x = np.asarray(self.data[name], dtype=float)
        n = np.sum(~np.isnan(x), axis=self._axis(name, dim))
        return self.std(name, dim) / np.sqrt(np.maximum(n, 1))

    # ------------------------------------------------------------------ selection
    def _position(self, dim: str, value) -> int:
        if dim not in self.dims:
            raise ValueError(f"{dim!r} is not a grid dim of {self.kind!r}; dims are {self.dims}")
        coord = self.coords[dim]
        if coord.dtype.kind in "fc" and np.ndim(value) == 0 and np.isreal(value):
            hits = np.flatnonzero(np.isclose(coord, value, rtol=1e-12, atol=0.0))
        else:
            hits = np.flatnonzero(coord == value)
        if hits.size != 1:
            raise KeyError(f"{dim}={value!r} is not one of its coordinates {coord.tolist()}")
        return int(hits[0])

    def isel(self, **indexers) -> "GridResult":
        """The result at integer positions along grid dims (those dims are dropped).

        ``r.isel(repeat=0)`` is the first repeat of every variable.
        """
        for dim, i in indexers.items():
            if dim not in self.dims:
                raise ValueError(f"{dim!r} is not a grid dim of {self.kind!r}; dims are "
                                 f"{self.dims}")
            if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
                raise TypeError(f"isel: {dim} must be an int position, got {i!r}")
            if not -len(self.coords[dim]) <= i < len(self.coords[dim]):
                raise IndexError(f"isel: {dim}={i} is out of range (length "
                                 f"{len(self.coords[dim])})")
        data, var_dims = {}, {}
        for name, array in self.data.items():
            dims = self.var_dims[name]
            index = tuple(indexers.get(d, slice(None)) for d in dims)
            data[name] = array[index]
            var_dims[name] = tuple(d for d in dims if d not in indexers)
        coords = {d: v for d, v in self.coords.items() if d in self.dims and d not in indexers}
        extra = {d: v for d, v in self.coords.items() if d not in self.dims}
        return GridResult(self.kind, coords, data, self.parameters, var_dims=var_dims,
                          extra_coords=extra)

    def sel(self, **indexers) -> "GridResult":
        """The result at coordinate values along grid dims (those dims are dropped).

        Float coordinates match to a relative 1e-12; a value that is not a coordinate raises
        ``KeyError``. ``r.sel(n_prompts=64)["icl_error"]`` holds the repeats at P = 64.
        """
        return self.isel(**{dim: self._position(dim, v) for dim, v in indexers.items()})

    # ------------------------------------------------------------------ files
    def _record_extra(self) -> dict:
        """Further fields of the JSON record (subclasses: computed/reused counts, …)."""
        return {}

    def _extra_arrays(self) -> dict:
        """Further arrays of the npz that are neither coordinates nor variables (subclasses)."""
        return {}

    def save(self, out_dir, stem: str | None = None) -> dict:
        """Write ``stem.npz`` and its JSON sidecar ``stem.json``, each atomically.

        The npz holds one array ``coord_<dim>`` per coordinate and one per data variable, under
        its name (an object array of str, e.g. statuses, as text); the JSON is the run record
        (parameters, versions) with ``dims``, ``variables`` (each variable's dims) and
        ``coords``. :meth:`load` restores the result bit for bit (text variables as objects).

        Parameters
        ----------
        out_dir : path
            Folder, created if missing.
        stem : str, optional
            File stem (default: ``kind``).

        Returns
        -------
        dict
            ``{"npz": path, "json": path}``.
        """
        stem = _check_name("stem", stem or self.kind)
        out_dir = Path(out_dir)
        arrays = {f"{_COORD}{dim}": values for dim, values in self.coords.items()}
        texts = []
        for name, array in self.data.items():
            if array.dtype.kind == "O":
                if not all(isinstance(v, str) for v in array.ravel()):
                    raise TypeError(f"data variable {name!r} is an object array; save() writes "
                                    "numeric, bool or str arrays only")
                # str objects (e.g. Status members) are written as their text
                array = np.array([str(v) for v in array.ravel()]).reshape(array.shape)
                texts.append(name)
            arrays[name] = array
        for key, array in self._extra_arrays().items():
            if key in arrays:
                raise ValueError(f"extra array {key!r} clashes with a coordinate or variable")
            arrays[key] = array
        npz = save_npz_atomic(out_dir / f"{stem}.npz", **arrays)
        record = run_record(self.kind, self.parameters, format=FORMAT, dims=list(self.dims),
                            coords=list(self.coords), observables=sorted(self.data),
                            # [name, dims] pairs: a list keeps the variables' order in JSON
                            variables=[[k, list(v)] for k, v in self.var_dims.items()],
                            object_text=texts, files={"data": npz.name},
                            **self._record_extra())
        js = save_json_atomic(out_dir / f"{stem}.json", record)
        return {"npz": npz, "json": js}

    @classmethod
    def read(cls, npz_path) -> tuple[dict, dict, dict, dict, dict]:
        """``(coords, data, var_dims, extra_coords, record)`` of the file saved at ``npz_path``.

        Reads the current format and the earlier ones (``coord/<dim>`` and ``data/<name>``
        keys; ``coord_<dim>`` beside bare variables with only ``observables`` in the record).
        """
        npz_path = Path(npz_path)
        json_path = npz_path.with_suffix(".json")
        if not npz_path.exists():
            raise FileNotFoundError(f"no result file {npz_path}")
        if not json_path.exists():
            raise FileNotFoundError(f"{npz_path.name} has no JSON sidecar {json_path}")
        arrays = load_npz(npz_path)
        record = json.loads(json_path.read_text())

        def coord(dim):
            for key in (f"{_COORD}{dim}", f"coord/{dim}"):
                if key in arrays:
                    return arrays[key]
            raise ValueError(f"{npz_path} has no coordinate for dim {dim!r}")

        def variable(name):
            for key in (name, f"data/{name}"):
                if key in arrays:
                    return arrays[key]
            raise ValueError(f"{npz_path} has no data variable {name!r}")

        dims = list(record.get("dims") or [k[len("coord/"):] for k in arrays
                                           if k.startswith("coord/")])
        variables = record.get("variables")
        if variables is not None:
            variables = dict(variables)
        else:
            names = record.get("observables") or [k[5:] for k in arrays if k.startswith("data/")]
            variables = dict.fromkeys(names)
        coords = {d: coord(d) for d in dims}
        extra = {d: coord(d) for d in record.get("coords", []) if d not in coords}
        data = {name: variable(name) for name in variables}
        for name in record.get("object_text", []):   # str objects saved as text: objects again
            data[name] = data[name].astype(object)
        var_dims = {k: tuple(v) for k, v in variables.items() if v is not None}
        return coords, data, var_dims, extra, record

    @classmethod
    def load(cls, npz_path) -> "GridResult":
        """The result saved by :meth:`save` at ``npz_path`` (its ``.json`` beside it).

        Subclasses return their own type (see ``_from_saved``).
        """
        coords, data, var_dims, extra, record = cls.read(npz_path)
        return cls._from_saved(coords=coords, data=data, var_dims=var_dims, extra_coords=extra,
                               record=record)

    @classmethod
    def _from_saved(cls, *, coords, data, var_dims, extra_coords, record) -> "GridResult":
        return cls(record["kind"], coords, data, record.get("parameters", {}),
                   var_dims=var_dims, extra_coords=extra_coords)

    # ------------------------------------------------------------------ interop
    def _xarray_attrs(self) -> dict:
        return {"kind": self.kind, "parameters": json.dumps(self.parameters, default=_plain)}

    def to_xarray(self):
        """An ``xarray.Dataset`` with the same dims, coordinates and variables.

        The parameters go to ``attrs["parameters"]`` as a JSON string (netCDF-safe). Needs
        xarray (``pip install 'spinicl[xarray]'``).
        """
        try:
            import xarray as xr
        except ImportError:
            raise ImportError("to_xarray needs xarray: pip install 'spinicl[xarray]'") from None
        variables = {name: (self.var_dims[name], array) for name, array in self.data.items()}
        return xr.Dataset(variables, coords=dict(self.coords), attrs=self._xarray_attrs())

    def __repr__(self) -> str:
        grid = " × ".join(f"{d}[{n}]" for d, n in zip(self.dims, self.shape)) or "scalar"
        extra = {name: dims[len(self.dims):] if dims[:len(self.dims)] == self.dims else dims
                 for name, dims in self.var_dims.items()}
        shown = ", ".join(name + (f"({', '.join(str(self._sizes[d]) for d in rest)})"
                                  if rest else "") for name, rest in extra.items())
        return f"{type(self).__name__}({self.kind!r}, {grid}; {shown})"


def _plain(obj):
    """JSON fallback for numpy values in parameters."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)
