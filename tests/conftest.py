import os

# Small test problems run fastest single-threaded; multi-threaded OpenBLAS on a busy 2-core
# machine made small products ~25x slower. Set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# The imports below stay after the loop above on purpose (E402): the thread caps only take
# effect if they are set before numpy (and spinicl, which imports it) is first imported.
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import spinicl  # noqa: E402


@pytest.fixture
def small_prompts():
    return spinicl.sample_prompts(3, 12, 60, rng=11)


@pytest.fixture
def small_model(small_prompts):
    return spinicl.SpinGlass.from_prompts(small_prompts, l2=0.05)


def mcse_tolerance(n_draws, n_sigma=5.0):
    """Tolerance in units of the per-draw standard deviation for independent draws."""
    return n_sigma / np.sqrt(n_draws)
