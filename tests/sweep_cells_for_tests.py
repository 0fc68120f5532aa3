"""A deliberately slow, deterministic cell for the kill-and-resume test (imported by name)."""
import time

import numpy as np

CALLS_FILE = None


def slow_cell(*, x, delay=0.25, rng=None):
    time.sleep(delay)
    g = np.random.default_rng(rng)
    return {"value": x + g.standard_normal(), "vector": g.standard_normal(3)}
