import numpy as np
import pytest

from spinicl._checkpoint import (config_fingerprint, generator_state, load_checkpoint,
                                 restore_generator, save_checkpoint)
from spinicl._validation import as_generator, as_seed_sequence


def test_checkpoint_roundtrip_and_rng_continuation(tmp_path):
    rng = np.random.default_rng(3)
    rng.standard_normal(5)
    path = tmp_path / "c.npz"
    fp = config_fingerprint({"a": 1, "b": [1, 2]})
    save_checkpoint(path, {"x": np.arange(4.0)}, {"rng": generator_state(rng), "fingerprint": fp})
    arrays, meta = load_checkpoint(path, fingerprint=fp)
    np.testing.assert_array_equal(arrays["x"], np.arange(4.0))
    again = restore_generator(meta["rng"])
    np.testing.assert_array_equal(again.standard_normal(3), rng.standard_normal(3))
    with pytest.raises(ValueError, match="different settings"):
        load_checkpoint(path, fingerprint="other")
    assert load_checkpoint(tmp_path / "missing.npz") is None
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot be read"):
        load_checkpoint(tmp_path / "bad.npz")


def test_spec7_rng_forms():
    a = as_generator(5).standard_normal(3)
    b = as_generator(np.random.SeedSequence(5)).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    assert isinstance(as_seed_sequence(np.random.default_rng(2)), np.random.SeedSequence)
    with pytest.raises(ValueError, match="rng"):
        as_generator(-1)
    with pytest.raises(TypeError, match="rng"):
        as_generator(1.5)
