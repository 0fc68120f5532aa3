"""The shared callbacks (spinicl.callbacks) in the training loops: train and train_concepts."""
import io
import json

import numpy as np
import pytest

import spinicl
from spinicl._checkpoint import load_checkpoint
from spinicl._result import Status, check_result
from spinicl.callbacks import Callback, Checkpoint, EarlyStopping, History, Logger, Timeout
from spinicl.concepts import default_setup, train_concepts
from spinicl.training import MergedLinearAttention, train


class _Kill(Exception):
    pass


def _stop_at(step):
    def stop_here(info):
        return info.step == step
    return stop_here


# ---------------------------------------------------------------------------------- train
@pytest.fixture(scope="module")
def train_setup():
    prompts = spinicl.sample_prompts(3, 10, 200, n_tasks=8, rng=5)
    test = prompts.fresh_test(50, rng=6)
    kwargs = dict(lr=0.02, steps=60, weight_decay=1e-3, rng=11, eval_prompts=test,
                  eval_every=7, snapshot_every=20, progress=False, batch_size=64)
    reference = train(MergedLinearAttention(3, rng=1), prompts, **kwargs)
    return prompts, kwargs, reference


def test_train_calls_the_callbacks_every_step_with_the_model_and_its_metrics(train_setup):
    prompts, kwargs, reference = train_setup
    history, seen = History(), []
    model = MergedLinearAttention(3, rng=1)
    result = train(model, prompts, callbacks=[history, lambda info: seen.append(info)],
                   **kwargs)
    assert history.started == history.ended == 1
    assert history.steps == list(range(1, 61))
    np.testing.assert_array_equal(history.metrics["loss"], reference.history.step_loss)
    assert len(history.metrics["lr"]) == 60 and history.metrics["lr"][0] == 0.02
    # the evaluation metrics come on the steps that evaluate (7, 14, ..., and the last)
    evaluated = [info.step for info in seen if "test_loss" in info.metrics]
    np.testing.assert_array_equal(evaluated, reference.history.eval_steps[1:])
    np.testing.assert_array_equal(history.metrics["test_loss"], reference.history.test_loss[1:])
    np.testing.assert_array_equal(history.metrics["grad_norm"], reference.history.grad_norm[1:])
    assert all(info.state is model and info.loop == "train" and info.total == 60 for info in seen)
    # no checkpoint= here: the loop has no checkpoint to offer
    assert all(info.checkpoint is None for info in seen)
    # the callbacks observe: the result is the one without them
    np.testing.assert_array_equal(result.mean_weights, reference.mean_weights)


@pytest.mark.parametrize("stopper, step, reason", [
    (_stop_at(23), 23, "stopped by the callback stop_here"),
    (Timeout(1e-9), 1, "timeout"),
    # no step improves the batch loss by 1e9: the second step exhausts a patience of 1
    (EarlyStopping("loss", patience=1, min_delta=1e9), 2, "early stopping: loss"),
])
def test_a_stopped_train_run_reports_stopped_and_resumes_bitwise(tmp_path, train_setup, stopper,
                                                                 step, reason):
    prompts, kwargs, reference = train_setup
    path = tmp_path / "run.npz"
    stopped = train(MergedLinearAttention(3, rng=1), prompts, checkpoint=path,
                    checkpoint_every=10, callbacks=stopper, **kwargs)
    check_result(stopped)
    assert stopped.status is Status.STOPPED and not stopped.converged
    assert stopped.n_iter == step and reason in stopped.message
    assert f"stopped after {step} of 60 steps" in stopped.message
    assert len(stopped.history.step_loss) == step
    # the result is evaluated where it stopped; the checkpoint holds the state of that step
    assert stopped.history.eval_steps[-1] == step
    arrays, meta = load_checkpoint(path)
    assert meta["step"] == step
    resumed = train(MergedLinearAttention(3, rng=1), prompts, checkpoint=path,
                    checkpoint_every=10, **kwargs)
    assert resumed.resumed_from == step and resumed.status is reference.status
    np.testing.assert_array_equal(resumed.mean_weights, reference.mean_weights)
    for key, value in reference.history.as_arrays().items():
        np.testing.assert_array_equal(getattr(resumed.history, key), value, err_msg=key)


def test_a_raising_callback_aborts_train_and_leaves_the_last_checkpoint(tmp_path, train_setup):
    prompts, kwargs, reference = train_setup
    path = tmp_path / "run.npz"
    ended = History()

    def kill(info):
        if info.step == 37:
            raise _Kill

    with pytest.raises(_Kill):
        train(MergedLinearAttention(3, rng=1), prompts, checkpoint=path, checkpoint_every=10,
              callbacks=[ended, kill], **kwargs)
    assert ended.ended == 1          # bars and loggers are closed
    assert load_checkpoint(path)[1]["step"] == 30
    resumed = train(MergedLinearAttention(3, rng=1), prompts, checkpoint=path,
                    checkpoint_every=10, **kwargs)
    assert resumed.resumed_from == 30
    np.testing.assert_array_equal(resumed.mean_weights, reference.mean_weights)


def test_train_checkpoint_callback_sets_when_and_does_nothing_without_a_path(
        tmp_path, train_setup):
    prompts, kwargs, _ = train_setup
    path = tmp_path / "run.npz"

    def kill(info):
        if info.step == 37:
            raise _Kill

    # the user's Checkpoint replaces the checkpoint_every shorthand
    with pytest.raises(_Kill):
        train(MergedLinearAttention(3, rng=1), prompts, checkpoint=path,
              callbacks=[Checkpoint(every=4), kill], **kwargs)
    assert load_checkpoint(path)[1]["step"] == 36
    # without checkpoint= a Checkpoint callback has nothing to write
    result = train(MergedLinearAttention(3, rng=1), prompts, callbacks=Checkpoint(every=1),
                   **kwargs)
    assert result.status is not Status.STOPPED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_train_logger_writes_one_json_line_per_step(train_setup):
    prompts, kwargs, reference = train_setup
    stream = io.StringIO()
    train(MergedLinearAttention(3, rng=1), prompts, callbacks=Logger(stream, every=10),
          **kwargs)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["step"] for r in records] == [1, 10, 20, 30, 40, 50, 60, 60]
    assert records[-1]["event"] == "end" and records[0]["loop"] == "train"
    assert records[1]["loss"] == reference.history.step_loss[9]


def test_train_old_callback_still_works_with_a_deprecation_warning(train_setup):
    prompts, kwargs, reference = train_setup
    seen = []
    with pytest.warns(DeprecationWarning, match="callbacks="):
        train(MergedLinearAttention(3, rng=1), prompts,
              callback=lambda step, model, loss: seen.append((step, loss)), **kwargs)
    assert [s for s, _ in seen] == list(range(1, 61))
    np.testing.assert_array_equal([v for _, v in seen], reference.history.step_loss)
    with pytest.raises(TypeError, match="callbacks"):
        train(MergedLinearAttention(3, rng=1), prompts, callbacks=3, **kwargs)


def test_train_progress_is_a_progress_bar_callback(train_setup, capsys):
    prompts, kwargs, _ = train_setup

    class Spy(Callback):
        def on_start(self, info):
            self.info = info

    spy = Spy()
    train(MergedLinearAttention(3, rng=1), prompts, callbacks=spy, **(kwargs | {"progress": True}))
    assert spy.info.step == 0 and spy.info.total == 60


# ---------------------------------------------------------------------------------- concepts
def _concepts(callbacks=None, checkpoint=None, **extra):
    _, sampler, model = default_setup(dim=16, n_concepts=2, context_length=4)
    return train_concepts(model, sampler, steps=60, log_every=10, n_test=300, rng=5,
                          checkpoint=checkpoint, checkpoint_every=20, callbacks=callbacks,
                          progress=False, **extra)


@pytest.fixture(scope="module")
def concepts_reference():
    return _concepts()


def test_train_concepts_calls_the_callbacks_with_the_metrics(concepts_reference):
    history, seen = History(), []
    result = _concepts([history, lambda info: seen.append(info)])
    assert history.steps == list(range(1, 61)) and history.ended == 1
    assert {"loss", "error", "attention", "lr"} <= set(history.metrics)
    logged = [info.step for info in seen if "test.error" in info.metrics]
    assert logged == list(concepts_reference.steps[1:])
    np.testing.assert_array_equal(history.metrics["test.error"],
                                  concepts_reference.series("test.error")[1:])
    assert all(info.state is result.model and info.loop == "train_concepts" for info in seen)
    for k, v in concepts_reference.model.params.items():
        np.testing.assert_array_equal(result.model.params[k], v)


@pytest.mark.parametrize("stopper, step", [(_stop_at(33), 33), (Timeout(1e-9), 1)])
def test_a_stopped_train_concepts_run_resumes_bitwise(tmp_path, concepts_reference, stopper,
                                                      step):
    path = tmp_path / "run.npz"
    stopped = _concepts(stopper, checkpoint=path)
    check_result(stopped)
    assert stopped.status is Status.STOPPED and not stopped.converged
    assert stopped.n_iter == step and f"stopped after {step} of 60 steps" in stopped.message
    assert load_checkpoint(path)[1]["step"] == step
    resumed = _concepts(checkpoint=path)
    assert resumed.resumed_from == step
    for k, v in concepts_reference.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v)
    np.testing.assert_array_equal(resumed.steps, concepts_reference.steps)
    for k, v in concepts_reference.history.items():
        np.testing.assert_array_equal(resumed.history[k], v, err_msg=k)


def test_train_concepts_old_callback_warns_and_still_aborts(tmp_path):
    seen = []

    def kill(step, model):
        seen.append(step)
        if step == 47:
            raise _Kill

    with pytest.warns(DeprecationWarning, match="train_concepts"):
        with pytest.raises(_Kill):
            _concepts(checkpoint=tmp_path / "run.npz", callback=kill)
    assert seen == list(range(1, 48))
    assert load_checkpoint(tmp_path / "run.npz")[1]["step"] == 40


# ---------------------------------------------------------------------------------- theory
def _theory_points():
    from spinicl.theory import _validated

    alpha = np.array([0.5, 1.0, 2.0, 4.0])
    return _validated(alpha, np.full(4, 2.0), np.inf, 0.0, np.full(4, 0.1), np.inf, 0.0)


def test_the_saddle_point_iteration_reports_every_pass_and_stops():
    from spinicl.theory.solver import continuation, iterate, multistart

    params = _theory_points()
    history = History()
    plain = multistart(params)
    watched = multistart(params, callbacks=history)
    np.testing.assert_array_equal(watched.eps, plain.eps)
    assert not watched.stopped and history.started == history.ended == 2   # one per start
    assert history.metrics["active"][-1] == 0 and min(history.metrics["error"]) <= 1e-13
    # a stop after the first pass leaves the points still iterating unconverged
    first = iterate(params, 10.0, callbacks=_stop_at(1))
    assert first.stopped and "stop_here" in first.reason and not first.converged.any()
    assert np.all(first.n_iter == 2)                                 # one Steffensen pass
    stopped = multistart(params, callbacks=_stop_at(1))
    assert stopped.stopped and not stopped.converged.any()          # no bisection rescue
    path = continuation(params, callbacks=_stop_at(1))
    assert path.stopped and not path.converged.any() and np.isnan(path.eps[1:]).all()
