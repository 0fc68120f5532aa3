"""Sweeps: grids of pure cells, resumable, deterministic on any executor (serial, processes, dask).

>>> from spinicl.sweep import SweepSpec, run_sweep
>>> spec = SweepSpec(kind="exact", parameters={"dim": 3}, repeats=2,
...                  axes={"context_length": [6, 12], "n_prompts": [6, 12, 24]})
>>> result = run_sweep(spec, "out", executor="serial", progress=False)   # doctest: +SKIP
"""
from .cells import available_cells, get_cell_kind, register_cell
from .run import SweepResult, load_result, run_sweep
from .runner import master_seed, run_cells, sweep_seed
from .spec import SpecError, SweepSpec, WorkUnit, load_spec
from .store import CellStore

__all__ = ["SweepSpec", "load_spec", "run_sweep", "SweepResult", "load_result", "register_cell",
           "get_cell_kind", "available_cells", "CellStore", "SpecError", "WorkUnit", "run_cells",
           "sweep_seed", "master_seed"]
