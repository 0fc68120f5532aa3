"""The fast "exact" cell (dual below n_live prompts, LAPACK primal above, closed-form
observables) against the reference cell (one BoltzmannMeasure per P)."""
import numpy as np
import pytest

from spinicl.experiments.cells import _exact_cell_reference, exact_cell


def _assert_same(fast, reference):
    assert set(fast) == set(reference)
    for name in reference:
        np.testing.assert_allclose(fast[name], reference[name], rtol=1e-10, atol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("dim, context_length, counts, l2, beta, normalization", [
    # D = 4: n_live = 20, so the axis crosses from the dual (P < 20) to the primal (P >= 20)
    (4, 7, [3, 10, 19, 20, 21, 40, 80], 1e-3, 50.0, "model"),
    (5, 12, [60, 6, 30, 29, 31, 200], 1.0, 100.0, "li2024"),      # unsorted axis
    (3, 2, [1, 2, 12, 13], 1e-2, 3.0, "model"),                   # P = 1, N = 2
])
def test_fast_exact_cell_equals_the_reference(dim, context_length, counts, l2, beta,
                                              normalization):
    kw = dict(dim=dim, context_length=context_length, n_prompts=counts, l2=l2, beta=beta,
              normalization=normalization)
    _assert_same(exact_cell(rng=7, **kw), _exact_cell_reference(rng=7, **kw))


def test_fast_exact_cell_scalar_and_seed_sequence():
    kw = dict(dim=3, context_length=5, l2=1e-2, beta=20.0)
    seed = np.random.SeedSequence(4)
    for P in (4, 30):
        fast = exact_cell(n_prompts=P, rng=seed, **kw)
        assert all(isinstance(v, float) for v in fast.values())
        _assert_same(fast, _exact_cell_reference(n_prompts=P, rng=seed, **kw))


def test_fast_exact_cell_at_l2_zero_takes_the_pseudo_inverse():
    # below P = D(D+1) the Hessian is singular: the minimum-norm mean on the range of A
    kw = dict(dim=3, context_length=6, n_prompts=[4, 8, 20, 40], l2=0.0, beta=10.0)
    fast = exact_cell(rng=2, **kw)
    _assert_same(fast, _exact_cell_reference(rng=2, **kw))
    assert np.all(np.isfinite(fast["gibbs_error"]))


def test_fast_exact_cell_fig4a_sized_column():
    # one (N, repeat) column of the Fig. 4(a) grid at D = 20 (n_live = 420 splits the P axis)
    counts = np.unique(np.linspace(20, 1000, 8).astype(int))
    kw = dict(dim=20, context_length=30, n_prompts=counts, l2=1.0, beta=100.0,
              normalization="li2024")
    _assert_same(exact_cell(rng=0, **kw), _exact_cell_reference(rng=0, **kw))


def test_fast_exact_cell_rejects_bad_counts():
    with pytest.raises(ValueError, match="n_prompts"):
        exact_cell(dim=2, context_length=3, n_prompts=[0, 4], rng=0)
