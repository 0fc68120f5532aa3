"""Every kind of iterative result follows one protocol (spinicl._result).

converged (the stated criterion), status (a shared Status), message, n_iter, settings, seconds;
converged agrees with status; the renamed fields still answer under their old names, warning.
"""
import warnings

import numpy as np
import pytest

import spinicl
from spinicl import theory
from spinicl._result import RESULT_FIELDS, IterativeResult, Status, check_result, result_repr
from spinicl.concepts.train import default_setup, train_concepts
from spinicl.samplers import sample
from spinicl.solvers import solve, solve_li2024_batch
from spinicl.training import train


@pytest.fixture(scope="module")
def model():
    prompts = spinicl.sample_prompts(2, 12, 200, rng=3)
    return spinicl.SpinGlass.from_prompts(prompts, l2=1e-2)


@pytest.fixture(scope="module")
def prompts():
    return spinicl.sample_prompts(3, 10, 100, rng=1)


class _Hole:
    """A Gaussian whose energy is NaN beyond x0 > 5: a chain started there diverges."""

    n_spins = 2

    def energy(self, X):
        return np.where(X[:, 0] > 5, np.nan, 0.5 * np.sum(X**2, axis=1))

    def gradient(self, X):
        return np.where(X[:, :1] > 5, np.nan, X)


def _results(model, prompts):
    """(label, result, expected status) for every kind of result and each way one ends."""
    out = []
    for method in ("tap", "li2024", "bp", "cholesky", "cg"):
        out.append((f"solve-{method}", lambda m=method: solve(model, 100.0, method=m, rng=0),
                    None))
    out.append(("solve-max_iter", lambda: solve(model, 100.0, method="tap", max_iter=2),
                Status.MAX_ITER))
    out.append(("solve-stopped", lambda: solve(model, 100.0, method="tap",
                                               callback=lambda info: True), Status.STOPPED))
    singular = spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(3, 4, 2, rng=0), l2=0.0)
    out.append(("solve-failed", lambda: solve(singular, 1.0, method="cholesky"),
                Status.FAILED))
    out.append(("batch", lambda: solve_li2024_batch(models=[model, model], beta=100.0, rng=0),
                None))
    out.append(("batch-instance", lambda: solve_li2024_batch(models=[model], beta=100.0,
                                                             rng=0).instance(0), None))
    out.append(("theory", lambda: theory.solve_saddle_point(5.0, 0.5), Status.CONVERGED))
    out.append(("theory-grid-point", lambda: theory.solve_grid(5.0, [0.5, 2.0])[1],
                Status.CONVERGED))
    out.append(("train", lambda: train("merged", prompts, lr=0.1, steps=1000, rng=0,
                                       progress=False), Status.CONVERGED))
    out.append(("train-max_iter", lambda: train("merged", prompts, steps=3, rng=0,
                                                progress=False), Status.MAX_ITER))

    def diverging():
        with pytest.warns(RuntimeWarning, match="diverged"):
            return train("merged", prompts, optimizer="sgd", lr=1e3, steps=200, rng=0,
                         progress=False)

    out.append(("train-diverged", diverging, Status.DIVERGED))

    def concepts():
        _, sampler, net = default_setup(dim=16, n_concepts=2, context_length=4)
        return train_concepts(net, sampler, steps=10, log_every=5, n_test=100, rng=0,
                              progress=False)

    out.append(("concepts", concepts, None))
    out.append(("sample-exact", lambda: sample(model, 100.0, method="exact", n_chains=4,
                                               n_draws=400, rng=0, progress=False),
                Status.CONVERGED))
    out.append(("sample-short", lambda: sample(model, 100.0, method="metropolis", n_chains=2,
                                               n_draws=20, n_warmup=10, rng=0,
                                               progress=False), Status.MAX_ITER))
    init = np.zeros((2, 2))
    init[1, 0] = 6.0
    out.append(("sample-diverged", lambda: sample(_Hole(), 1.0, method="ula", step_size=0.05,
                                                  n_chains=2, n_draws=50, n_warmup=10,
                                                  init=init, rng=0, progress=False),
                Status.DIVERGED))
    return out


LABELS = ["solve-tap", "solve-li2024", "solve-bp", "solve-cholesky", "solve-cg",
          "solve-max_iter", "solve-stopped", "solve-failed", "batch", "batch-instance",
          "theory", "theory-grid-point", "train", "train-max_iter", "train-diverged",
          "concepts", "sample-exact", "sample-short", "sample-diverged"]


@pytest.mark.parametrize("label", LABELS)
def test_every_result_follows_the_protocol(label, model, prompts):
    cases = {name: (make, expected) for name, make, expected in _results(model, prompts)}
    assert set(cases) == set(LABELS)
    make, expected = cases[label]
    result = make()
    check_result(result)                     # fields, types, converged <-> status
    assert isinstance(result, IterativeResult)
    for name in RESULT_FIELDS:
        assert hasattr(result, name)
    if expected is not None:
        assert result.status is expected, result.message
    if np.ndim(result.converged) == 0 and result.converged:
        # the message says so (and does not lead with "not")
        assert "converged" in result.message and not result.message.startswith("not")
    # one repr for all: the protocol fields, then the message on a line of its own
    text = repr(result)
    assert text.startswith(type(result).__name__ + "(") and "\n  message: " in text
    assert "converged=" in text and "seconds=" in text


def test_status_is_a_shared_string_vocabulary():
    assert Status.MAX_ITER == "max_iter" and str(Status.NON_FINITE) == "non_finite"
    assert [Status.from_code(c) for c in range(6)] == list(Status)
    assert Status.coerce(3) is Status.NON_FINITE and Status.coerce("stopped") is Status.STOPPED
    with pytest.raises(ValueError, match="status"):
        Status.coerce("done")
    with pytest.raises(TypeError, match="status"):
        Status.coerce(1.5)
    with pytest.raises(ValueError, match="code"):
        Status.from_code(9)


def test_check_result_names_what_is_wrong(model):
    res = solve(model, 100.0, method="cholesky")
    res.converged = False
    with pytest.raises(ValueError, match="disagrees"):
        check_result(res)
    with pytest.raises(TypeError, match="lacks"):
        check_result(object())


def test_result_repr_of_a_batch_counts():
    class Batch:
        converged = np.array([True, False])
        status = np.array([Status.CONVERGED, Status.MAX_ITER], dtype=object)
        n_iter = np.array([3, 10])
        seconds = 0.5
        message = "1/2 converged"

    text = result_repr(Batch(), {"method": "x"})
    assert "converged=1/2" in text and "max_iter: 1" in text and "n_iter<=10" in text


def _warns_deprecated(get):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = get()
    assert any(issubclass(w.category, DeprecationWarning) for w in caught), caught
    return value


def test_renamed_fields_answer_under_their_old_names(model, prompts):
    res = solve(model, 100.0, method="tap")
    assert _warns_deprecated(lambda: res.info) is res.settings
    batch = solve_li2024_batch(models=[model], beta=100.0, rng=0)
    np.testing.assert_array_equal(_warns_deprecated(lambda: batch.final_error), batch.error)
    assert batch.status_code.tolist() == [s.code for s in batch.status]
    trained = train("merged", prompts, steps=3, rng=0, progress=False)
    assert _warns_deprecated(lambda: trained.weights) is trained.mean_weights
    _, sampler, net = default_setup(dim=16, n_concepts=2, context_length=4)
    run = train_concepts(net, sampler, steps=4, log_every=2, n_test=50, rng=0, progress=False)
    assert _warns_deprecated(lambda: run.wall_time) == run.seconds
    draws = sample(model, 100.0, method="exact", n_chains=2, n_draws=50, rng=0, progress=False)
    # mean and variance are arrays now; calling them as the old methods still works
    assert isinstance(draws.mean, np.ndarray) and draws.mean.shape == (model.n_spins,)
    np.testing.assert_array_equal(_warns_deprecated(lambda: draws.mean()), draws.mean)
    np.testing.assert_array_equal(_warns_deprecated(lambda: draws.variance()), draws.variance)
    assert type(draws.mean - 1.0) is np.ndarray     # arithmetic gives plain arrays


def test_the_clashing_theory_names_are_deprecated_aliases():
    new = theory.solve_saddle_point(5.0, 0.5)
    old = _warns_deprecated(lambda: theory.solve(5.0, 0.5))
    assert old.icl_error == new.icl_error
    grid = _warns_deprecated(lambda: theory.sweep(5.0, [0.5, 2.0]))
    np.testing.assert_array_equal(grid.icl_error, theory.solve_grid(5.0, [0.5, 2.0]).icl_error)
    assert "solve" not in theory.__all__ and "sweep" not in theory.__all__
    # the package and the finite-size solver keep their names
    import spinicl.sweep  # noqa: F401
    assert spinicl.solve is spinicl.solvers.solve
