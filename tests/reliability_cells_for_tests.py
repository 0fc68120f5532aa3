"""Cell kinds for tests/test_reliability_processes.py (named as "module:function" in specs)."""
import os
import time
from pathlib import Path

import numpy as np


def busy_marker_cell(*, x, delay, marker_dir, rng=None):
    """Announce that this worker has started a unit (a file named by its pid), then work."""
    Path(marker_dir, f"started-{os.getpid()}-{int(x)}").touch()
    time.sleep(delay)
    return {"value": float(x) + np.random.default_rng(rng).standard_normal()}


def blas_sensitive_cell(*, dim, context_length, n_prompts, rng=None):
    """The exact cell's observables beside the BLAS and numba thread counts it ran with.

    At D = 12 the Gram matrix SᵀS (169 x 169, from hundreds of prompts) and its Cholesky differ in
    the last bits between one and two OpenBLAS threads: an executor computing multi-threaded
    shows up bitwise.
    """
    import numba
    from threadpoolctl import threadpool_info

    from spinicl.experiments.cells import exact_cell

    out = exact_cell(dim=dim, context_length=context_length, n_prompts=n_prompts, rng=rng)
    out["blas_threads"] = float(max(info["num_threads"] for info in threadpool_info()
                                    if info["user_api"] == "blas"))
    out["numba_threads"] = float(numba.get_num_threads())
    return out
