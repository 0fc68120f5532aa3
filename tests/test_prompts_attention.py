import numpy as np
import pytest

import spinicl
from spinicl import Prompts, attention_output, features, linear_attention, sample_prompts


def test_prompt_shapes_and_query_slot():
    p = sample_prompts(4, 7, 10, rng=0)
    assert p.tokens.shape == (10, 5, 8)
    assert p.targets.shape == (10,)
    assert np.all(p.tokens[:, -1, -1] == 0)
    assert (p.dim, p.context_length, p.n_prompts) == (4, 7, 10)
    # labels are w·x/√D
    y = np.einsum("pdn,pd->pn", p.tokens[:, :4, :-1], p.tasks) / 2.0
    np.testing.assert_allclose(p.tokens[:, -1, :-1], y)
    np.testing.assert_allclose(p.targets, np.einsum("pd,pd->p", p.queries, p.tasks) / 2.0)


def test_label_variance_is_one_in_both_conventions():
    for conv in ("li2024", "lu2024"):
        p = sample_prompts(10, 5, 4000, convention=conv, rng=1)
        assert abs(np.var(p.targets) - 1.0) < 0.1, conv


def test_task_pool_and_test_sets():
    p = sample_prompts(3, 5, 200, n_tasks=4, rng=2)
    assert p.task_pool.shape == (4, 3) and p.n_tasks == 4
    assert len(np.unique(p.tasks, axis=0)) <= 4
    idg = p.pool_test(50, rng=3)
    assert np.all(np.isin(idg.tasks, p.task_pool))
    fresh = p.fresh_test(50, rng=3)
    assert not np.any(np.isin(fresh.tasks, p.task_pool))
    assert fresh.settings == p.settings


def test_seed_reproducibility():
    a = sample_prompts(3, 5, 8, rng=np.random.SeedSequence(5))
    b = sample_prompts(3, 5, 8, rng=np.random.SeedSequence(5))
    np.testing.assert_array_equal(a.tokens, b.tokens)


def test_fast_path_equals_full_forward_pass():
    p = sample_prompts(5, 9, 20, rng=3)
    W = np.random.default_rng(0).standard_normal((6, 6))
    full = attention_output(p.tokens, W)[:, -1, -1]
    np.testing.assert_allclose(linear_attention(p, W), full, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(features(p) @ W.ravel(), full, rtol=1e-12, atol=1e-12)
    # the li2024 prefactor 1/(N+1) scales the output by exactly N/(N+1)
    np.testing.assert_allclose(linear_attention(p, W, normalization="li2024"), full * 9 / 10)


def test_dead_column_carries_no_feature():
    p = sample_prompts(3, 4, 6, rng=0)
    S = features(p).reshape(6, 4, 4)
    assert np.all(S[:, :, -1] == 0)


def test_user_arrays_are_checked():
    p = sample_prompts(2, 3, 4, rng=0)
    Prompts(tokens=p.tokens, targets=p.targets)  # accepted
    bad = p.tokens.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="tokens"):
        Prompts(tokens=bad, targets=p.targets)
    bad = p.tokens.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="tokens"):
        Prompts(tokens=bad, targets=p.targets)
    with pytest.raises(ValueError, match="targets"):
        Prompts(tokens=p.tokens, targets=p.targets[:3])
    with pytest.raises(ValueError, match="tokens"):
        Prompts(tokens=p.tokens[0], targets=p.targets)
    slot = p.tokens.copy()
    slot[:, -1, -1] = 1.0
    with pytest.raises(ValueError, match="query"):
        Prompts(tokens=slot, targets=p.targets)


@pytest.mark.parametrize("kwargs, name", [
    (dict(dim=0, context_length=3, n_prompts=2), "dim"),
    (dict(dim=-1, context_length=3, n_prompts=2), "dim"),
    (dict(dim=2, context_length=0, n_prompts=2), "context_length"),
    (dict(dim=2, context_length=3, n_prompts=0), "n_prompts"),
    (dict(dim=2, context_length=3, n_prompts=-5), "n_prompts"),
    (dict(dim=2, context_length=3, n_prompts=2, n_tasks=0), "n_tasks"),
    (dict(dim=2, context_length=3, n_prompts=2, x_std=0), "x_std"),
    (dict(dim=2, context_length=3, n_prompts=2, label_noise=-1), "label_noise"),
    (dict(dim=2, context_length=3, n_prompts=2, convention="x"), "convention"),
])
def test_bad_sampling_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sample_prompts(**kwargs)


def test_bad_rng_and_weights():
    with pytest.raises(TypeError, match="rng"):
        sample_prompts(2, 2, 2, rng="seed")
    p = sample_prompts(2, 2, 2, rng=0)
    with pytest.raises(ValueError, match="W"):
        linear_attention(p, np.eye(4))
    with pytest.raises(ValueError, match="normalization"):
        linear_attention(p, np.eye(3), normalization="bogus")


def test_version_and_lazy_api():
    assert spinicl.__version__
    with pytest.raises(AttributeError):
        spinicl.not_a_thing
