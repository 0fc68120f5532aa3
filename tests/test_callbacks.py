"""The shared callbacks, on a toy loop that follows the protocol the package's loops follow."""
import io
import json

import pytest

from spinicl.callbacks import (Callback, CallbackList, Checkpoint, EarlyStopping, History,
                               Logger, LoopInfo, ProgressBar, Timeout, as_callbacks)


def toy_loop(values, callbacks, *, start=0, clock=None, checkpoint=None):
    """Steps through ``values`` as a 'loss'; returns (steps done, stop reason)."""
    cbs = as_callbacks(callbacks)
    info = LoopInfo(loop="toy", step=start, total=len(values), checkpoint=checkpoint)
    cbs.on_start(info)
    reason = None
    for k in range(start, len(values)):
        info = LoopInfo(loop="toy", step=k + 1, total=len(values), metrics={"loss": values[k]},
                        elapsed=0.0 if clock is None else clock(k), checkpoint=checkpoint)
        if cbs.on_step(info):
            reason = cbs.reason
            break
    cbs.on_end(info)
    return info.step, reason


def test_as_callbacks_accepts_none_callbacks_functions_and_lists():
    assert len(as_callbacks(None)) == 0
    assert len(as_callbacks(History())) == 1
    assert len(as_callbacks(lambda info: None)) == 1
    assert len(as_callbacks([History(), lambda info: None, [History()] and History()])) == 3
    with pytest.raises(TypeError, match="callbacks must be"):
        as_callbacks(3)
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        as_callbacks([History(), "nope"])


def test_a_function_returning_true_stops_and_every_callback_sees_the_last_step():
    history = History()
    steps, reason = toy_loop([5, 4, 3, 2, 1], [lambda info: info.step == 2, history])
    assert steps == 2 and "stopped by the callback" in reason
    assert history.steps == [1, 2] and history.started == history.ended == 1


def test_early_stopping_counts_patience_from_the_best_value():
    stop = EarlyStopping("loss", patience=2, min_delta=0.1)
    steps, reason = toy_loop([5.0, 4.0, 3.95, 3.99, 1.0], stop)
    # 4.0 is the best; 3.95 improves by only 0.05 (< min_delta) and 3.99 not at all
    assert steps == 4 and stop.best == 4.0 and stop.best_step == 2
    assert "early stopping" in reason and "loss" in reason
    maximise = EarlyStopping("loss", patience=1, mode="max")
    assert toy_loop([1, 2, 3, 2], maximise)[0] == 4
    with pytest.raises(ValueError, match="reports no metric 'error'"):
        toy_loop([1.0], EarlyStopping("error"))
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping("loss", mode="lowest")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping("loss", patience=0)


def test_timeout_stops_once_the_elapsed_time_passes_the_limit():
    steps, reason = toy_loop(list(range(10)), Timeout(3.0), clock=lambda k: float(k))
    assert steps == 4 and "timeout" in reason
    with pytest.raises(ValueError, match="seconds"):
        Timeout(-1)
    with pytest.raises(TypeError, match="seconds"):
        Timeout("10")


def test_checkpoint_writes_every_n_steps_at_the_end_and_when_stopped():
    written = []
    saver = Checkpoint(every=3)
    toy_loop(list(range(7)), saver, checkpoint=lambda: written.append(1))
    # steps 3 and 6, the last step (7 = total), and once more at the end
    assert len(written) == 4
    written.clear()
    toy_loop(list(range(7)), [Timeout(1.0), saver], clock=lambda k: float(k),
             checkpoint=lambda: written.append(1))
    assert len(written) == 1  # stopped at step 2: only the end-of-loop checkpoint
    toy_loop([1, 2], Checkpoint(every=1))  # a loop without a checkpoint: nothing to do
    with pytest.raises(ValueError, match="every"):
        Checkpoint(every=0)


def test_logger_writes_json_lines_and_progress_bar_runs_quietly(capsys):
    stream = io.StringIO()
    toy_loop([3.0, 2.0, 1.0], [Logger(stream, every=2), ProgressBar()])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["event"], r["step"]) for r in lines] == [("step", 1), ("step", 2), ("end", 3)]
    assert lines[0]["loss"] == 3.0 and lines[0]["loop"] == "toy"


def test_logger_appends_to_a_file(tmp_path):
    path = tmp_path / "log.jsonl"
    toy_loop([1.0, 2.0], Logger(path))
    toy_loop([1.0], Logger(path))
    assert len(path.read_text().splitlines()) == 3 + 2


def test_callback_list_reports_the_first_reason():
    class Never(Callback):
        pass

    cbs = CallbackList([Never(), Timeout(0.5), EarlyStopping("loss", patience=1)])
    assert toy_loop([1, 1, 1], cbs, clock=lambda k: float(k))[1].startswith("timeout")
