"""The conformance battery of the solvers: every method of ``spinicl.solve`` (and the batch solver
where an item applies) against the same contract.

Callbacks once per iteration with the shared protocol, a callback stop (status "stopped" with
its reason), warm start, non-convergence without raising, bad input naming the parameter, and the
result protocol. The exact oracle is the dense Cholesky solve of the same Gaussian.
"""
import numpy as np
import pytest

import spinicl
from spinicl._result import Status, check_result
from spinicl.callbacks import Checkpoint, EarlyStopping, History, Timeout
from spinicl.solvers import solve_li2024_batch
from spinicl.solvers.dispatch import METHODS

BETA = 10.0
ALL = sorted(METHODS)
DIRECT = ["cholesky"]                          # not iterative: no callbacks, no iterations
ITERATIVE = [m for m in ALL if m not in DIRECT]
WARM = ["cg", "li2024", "tap"]                 # the methods that take init=
EXACT_MEAN = ["bp", "cg", "cholesky", "tap"]   # li2024's means are biased by design


def test_the_battery_covers_every_method():
    assert set(ALL) == {"tap", "li2024", "bp", "cholesky", "cg"}


@pytest.fixture(scope="module")
def model():
    # D = 3 (16 spins), λ0 = 0.5: every method converges here (BP included)
    return spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(3, 20, 600, rng=1), l2=0.5)


@pytest.fixture(scope="module")
def exact(model):
    return spinicl.solve(model, BETA, method="cholesky")


def _solve(model, method, **options):
    return spinicl.solve(model, BETA, method=method, rng=0, **options)


# ------------------------------------------------------------------------- result protocol
@pytest.mark.parametrize("method", ALL)
def test_every_method_returns_a_converged_result_in_the_protocol(model, exact, method):
    result = _solve(model, method)
    check_result(result)
    assert result.converged and result.status is Status.CONVERGED
    assert result.method == method and result.mean.shape == (model.n_spins,)
    assert "converged" in result.message
    if method in EXACT_MEAN:
        # tap/bp stop at an MSE step of 1e-24 (RMS 1e-12) of a contraction, cg at a relative
        # residual of 1e-12 with cond(A) < 1e3 here: 1e-9 is far above what either leaves
        np.testing.assert_allclose(result.mean, exact.mean, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------- callbacks
@pytest.mark.parametrize("method", ITERATIVE)
def test_callbacks_are_called_once_per_iteration_with_the_protocol(model, method):
    history, infos = History(), []
    result = _solve(model, method, callbacks=[history, lambda info: infos.append(info)])
    assert result.converged
    assert history.started == history.ended == 1
    assert history.steps == list(range(1, result.n_iter + 1))
    # the error each iteration reports is the one the result records
    np.testing.assert_array_equal(history.metrics["error"], result.residuals)
    assert all(info.loop == f"solve[{method}]" and info.checkpoint is None for info in infos)
    m, v = infos[-1].state
    assert m.shape == (model.n_spins,)
    assert v is None if method == "cg" else v.shape == (model.n_spins,)
    # the callbacks observe: the answer is the one without them
    np.testing.assert_allclose(result.mean, _solve(model, method).mean, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ITERATIVE)
@pytest.mark.parametrize("stopper, step, reason", [
    (lambda info: info.step >= 2, 2, "stopped by the callback <lambda>"),
    (Timeout(1e-9), 1, "timeout"),
    (EarlyStopping("error", patience=1, min_delta=1e9), 2, "early stopping: error"),
])
def test_a_callback_stop_gives_status_stopped_with_the_reason(model, method, stopper, step,
                                                              reason):
    result = _solve(model, method, callbacks=stopper)
    check_result(result)
    assert result.status is Status.STOPPED and not result.converged
    assert result.n_iter == step and reason in result.message
    assert np.all(np.isfinite(result.mean))


@pytest.mark.parametrize("method", ITERATIVE)
def test_a_checkpoint_callback_does_nothing_for_a_solver_without_one(model, method):
    plain = _solve(model, method)
    result = _solve(model, method, callbacks=Checkpoint(every=1))
    assert result.n_iter == plain.n_iter
    np.testing.assert_array_equal(result.mean, plain.mean)


@pytest.mark.parametrize("method", ["bp", "cg", "li2024", "tap"])
def test_the_old_callback_still_works_with_a_deprecation_warning(model, method):
    seen = []
    with pytest.warns(DeprecationWarning, match="callbacks="):
        result = _solve(model, method, callback=lambda arg: seen.append(arg))
    assert len(seen) == result.n_iter
    if method == "cg":                     # scipy's convention: the current means
        assert seen[-1].shape == (model.n_spins,)
    else:                                  # IterationInfo(iteration, error, state)
        assert [info.iteration for info in seen] == list(range(1, result.n_iter + 1))


def test_the_direct_method_refuses_callbacks(model):
    for option in ("callbacks", "callback"):
        with pytest.raises(TypeError, match=r"callbacks do not apply to method='cholesky'"):
            _solve(model, "cholesky", **{option: History()})


# ------------------------------------------------------------------------- warm start
@pytest.mark.parametrize("method", WARM)
def test_a_warm_start_from_a_converged_result_converges_at_once(model, method):
    # li2024's default tol (an MSE step of 1e-6) leaves its means 1e-4 from its fixed point;
    # the tight tol of tap makes "the same answer" sharp for every method
    tight = {} if method == "cg" else {"tol": 1e-24, "max_iter": 20000}
    first = _solve(model, method, **tight)
    again = _solve(model, method, init=first, **tight)
    assert first.converged and again.converged and again.n_iter <= 2
    np.testing.assert_allclose(again.mean, first.mean, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", sorted(set(ALL) - set(WARM)))
def test_a_method_without_warm_start_refuses_init(model, method):
    with pytest.raises(TypeError, match=r"\['init'\] do not apply to method"):
        _solve(model, method, init=np.zeros(model.n_spins))


def test_the_batch_solver_warm_starts_from_its_own_result(model):
    models = [model, model]
    tight = {"tol": 1e-24, "max_iter": 20000}
    first = solve_li2024_batch(models=models, beta=BETA, rng=0, **tight)
    again = solve_li2024_batch(models=models, beta=BETA, init=(first.mean, first.variance),
                               **tight)
    assert np.all(first.converged) and np.all(again.converged) and np.all(again.n_iter <= 2)
    np.testing.assert_allclose(again.mean, first.mean, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------- non-convergence
@pytest.mark.parametrize("method", ITERATIVE)
def test_one_iteration_with_a_tight_tolerance_is_max_iter_without_raising(model, method):
    result = _solve(model, method, max_iter=1, tol=1e-300)
    check_result(result)
    assert not result.converged and result.status is Status.MAX_ITER
    assert result.n_iter == 1 and "did not converge within max_iter=1" in result.message


def test_the_batch_solver_reports_max_iter_per_instance(model):
    result = solve_li2024_batch(models=[model, model], beta=BETA, max_iter=1, tol=1e-300, rng=0)
    check_result(result)
    assert not result.converged.any()
    assert all(s is Status.MAX_ITER for s in result.status)


def test_the_direct_method_has_no_iteration_options(model):
    for option in ("max_iter", "tol"):
        with pytest.raises(TypeError, match=rf"\['{option}'\] do not apply to method='cholesky'"):
            _solve(model, "cholesky", **{option: 1})


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("beta", [0.0, -1.0])
def test_a_non_positive_beta_is_a_value_error_naming_it(model, method, beta):
    with pytest.raises(ValueError, match="beta"):
        spinicl.solve(model, beta, method=method)


def test_an_unknown_method_is_a_value_error_listing_the_methods(model):
    with pytest.raises(ValueError, match=r"method.*tap"):
        spinicl.solve(model, BETA, method="newton")


@pytest.mark.parametrize("method", WARM)
def test_a_wrong_shaped_init_is_a_value_error_naming_it(model, method):
    with pytest.raises(ValueError, match="init"):
        _solve(model, method, init=np.zeros(model.n_spins + 1))


@pytest.mark.parametrize("method", ITERATIVE)
def test_a_negative_tol_is_a_value_error_naming_it(model, method):
    with pytest.raises(ValueError, match="tol"):
        _solve(model, method, tol=-1e-6)


@pytest.mark.parametrize("method", ALL)
def test_a_foreign_option_is_a_type_error_naming_it(model, method):
    with pytest.raises(TypeError, match=rf"\['preconditoner'\] do not apply to method='{method}'"):
        _solve(model, method, preconditoner="jacobi")


@pytest.mark.parametrize("method", ITERATIVE)
def test_callbacks_of_the_wrong_type_are_a_type_error(model, method):
    with pytest.raises(TypeError, match="callbacks"):
        _solve(model, method, callbacks=3)


def test_the_batch_solver_checks_its_input(model):
    with pytest.raises(ValueError, match="beta"):
        solve_li2024_batch(models=[model], beta=0.0)
    with pytest.raises(ValueError, match="tol"):
        solve_li2024_batch(models=[model], beta=BETA, tol=-1.0)
    with pytest.raises(ValueError, match="init"):
        solve_li2024_batch(models=[model], beta=BETA,
                           init=(np.zeros((1, 3)), np.ones((1, 3))))
