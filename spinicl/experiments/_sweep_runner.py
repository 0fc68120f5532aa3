"""Run a grid computation through the sweep engine (re-exported from :mod:`spinicl.sweep.runner`).

Every grid computation behind a figure runs as a :class:`spinicl.sweep.SweepSpec` of pure cells,
so it is resumable (unit files under ``store``), executor-independent (serial, process pool or
dask give the same bits) and distributable. The helpers live in the sweep engine so that the
satellites (:mod:`spinicl.concepts`, :mod:`spinicl.dual`), which may not import the
experiments, run their studies through them too.
"""
from __future__ import annotations

from ..sweep.runner import master_seed, run_cells, sweep_seed

__all__ = ["sweep_seed", "run_cells", "master_seed"]
