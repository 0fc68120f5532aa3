"""The sampler API's conformance battery, parametrised over every method (string and object).

Every method of ``spinicl.sample`` must: resume bitwise after a callback stopped it; give chain
k the same draws whatever the number of chains (all but emcee, whose walkers move together);
refuse an option it does not take with a TypeError naming it; call its callbacks (on_start and
on_end once, on_step per block); report a Timeout/EarlyStopping stop as status "stopped"; and
refuse bad input naming the parameter. Tiny models and few draws: the battery runs in seconds.
"""
from __future__ import annotations

import numpy as np
import pytest

import spinicl
from spinicl import samplers as S
from spinicl.callbacks import Callback, EarlyStopping, History, Timeout

METHODS = ("ula", "mala", "gibbs", "metropolis", "hmc", "nuts", "pt", "anneal", "emcee", "exact")
# per method: the options of its string form and the same run as an object
FORMS = {
    "ula": ({}, S.ULA()),
    "mala": ({"target_accept": 0.6}, S.MALA(target_accept=0.6)),
    "gibbs": ({"n_sweeps": 2}, S.Gibbs(n_sweeps=2)),
    "metropolis": ({}, S.Metropolis()),
    "hmc": ({"n_leapfrog": 4, "metric": "dense"}, S.HMC(n_leapfrog=4, metric="dense")),
    "nuts": ({"max_depth": 5}, S.NUTS(max_depth=5)),
    "pt": ({"base": "mala", "n_replicas": 3}, S.ParallelTempering(base=S.MALA(), n_replicas=3)),
    "anneal": ({"base": "hmc", "n_leapfrog": 3}, S.Anneal(base=S.HMC(n_leapfrog=3))),
    "emcee": ({}, S.Emcee()),
    "exact": ({}, S.Exact()),
}
# an option each method does not take
FOREIGN = {"ula": "target_accept", "mala": "n_sweeps", "gibbs": "n_leapfrog",
           "metropolis": "metric", "hmc": "max_depth", "nuts": "n_leapfrog",
           "pt": "beta_start", "anneal": "ladder", "emcee": "step_size", "exact": "n_sweeps"}
FOREIGN_VALUE = {"target_accept": 0.5, "n_sweeps": 2, "n_leapfrog": 999, "metric": "diag",
                 "max_depth": 3, "beta_start": 0.1, "ladder": [0.5, 1.0, 2.0], "step_size": 0.1}


@pytest.fixture(scope="module")
def model():
    return spinicl.SpinGlass.random(dim=1, rng=3)  # 4 spins


def _run_kwargs(method, n_chains=3):
    if method == "exact":
        return dict(n_chains=n_chains, n_draws=40, rng=5, progress=False)
    if method == "emcee":
        n_chains = 8  # the stretch move needs >= 2n walkers
    # 60 warm-up + 60 draws = 4 blocks (blocks split at 50 iterations and at the warm-up's end)
    return dict(n_chains=n_chains, n_draws=60, n_warmup=60, rng=5, progress=False,
                observables=["norm"], keep_draws=True)


def _forms(method):
    options, obj = FORMS[method]
    return [pytest.param(method, options, id=f"{method}-string"),
            pytest.param(obj, {}, id=f"{method}-object")]


ALL_FORMS = [p for m in METHODS for p in _forms(m)]


def _name(method):
    return method if isinstance(method, str) else method.name


def _assert_same(a, b):
    if a.draws is not None or b.draws is not None:
        np.testing.assert_array_equal(a.draws, b.draws)
    assert set(a.observables) == set(b.observables)
    for k in a.observables:
        np.testing.assert_array_equal(a.observables[k], b.observables[k])
    assert set(a.sample_stats) == set(b.sample_stats)
    for k in a.sample_stats:
        np.testing.assert_array_equal(a.sample_stats[k], b.sample_stats[k])
    np.testing.assert_array_equal(a.warmup_energy, b.warmup_energy)
    np.testing.assert_array_equal(a.acceptance_rate, b.acceptance_rate)
    if a.step_size is not None:
        np.testing.assert_array_equal(a.step_size, b.step_size)


class StopAfter(Callback):
    """Stop the run after ``k`` steps (blocks)."""

    def __init__(self, k):
        self.k, self.calls = k, 0

    def on_step(self, info):
        self.calls += 1
        if self.calls >= self.k:
            self.reason = f"stopped after {self.k} blocks on purpose"
            return True
        return False


# ---------------------------------------------------------------------------- forms agree
@pytest.mark.parametrize("method", METHODS)
def test_string_and_object_forms_run_the_same_chain(model, method):
    options, obj = FORMS[method]
    a = spinicl.sample(model, 2.0, _name(method), **options, **_run_kwargs(method))
    b = spinicl.sample(model, 2.0, obj, **_run_kwargs(method))
    _assert_same(a, b)
    # settings record the options that ran, not every keyword sample() knows
    foreign = FOREIGN[method]
    assert foreign not in a.settings and foreign not in b.settings
    assert a.settings == b.settings
    for k, v in options.items():
        if k != "base":
            assert (a.settings.get(k) == v or a.settings.get("base_options", {}).get(k) == v)


# ---------------------------------------------------------------------------- resume
@pytest.mark.parametrize("method,options", ALL_FORMS)
def test_stopped_by_a_callback_then_resumed_is_bitwise_identical(model, tmp_path, method, options):
    kwargs = _run_kwargs(_name(method))
    reference = spinicl.sample(model, 2.0, method, **options, **kwargs)
    path = tmp_path / "run.npz"
    stopper = StopAfter(2 if _name(method) != "exact" else 1)
    stopped = spinicl.sample(model, 2.0, method, **options, checkpoint=path,
                             checkpoint_interval=3600.0, callbacks=stopper, **kwargs)
    assert stopped.status == "stopped"
    assert "on purpose" in stopped.message
    assert path.exists()  # a stop writes the checkpoint even when the interval is not due
    assert np.isnan(stopped.observables["energy"]).any()
    resumed = spinicl.sample(model, 2.0, method, **options, checkpoint=path, **kwargs)
    assert resumed.status != "stopped"
    _assert_same(resumed, reference)


@pytest.mark.parametrize("method", METHODS)
def test_timeout_stops_and_a_rerun_finishes(model, tmp_path, method):
    options, _ = FORMS[method]
    kwargs = _run_kwargs(method)
    path = tmp_path / "run.npz"
    s = spinicl.sample(model, 2.0, method, **options, checkpoint=path,
                       callbacks=Timeout(1e-9), **kwargs)
    assert s.status == "stopped" and "timeout" in s.message
    assert not s.converged
    assert s.warnings() and "stopped" in s.warnings()[0]
    done = spinicl.sample(model, 2.0, method, **options, checkpoint=path, **kwargs)
    _assert_same(done, spinicl.sample(model, 2.0, method, **options, **kwargs))


@pytest.mark.parametrize("method", METHODS)
def test_early_stopping_stops_with_its_reason(model, method):
    options, _ = FORMS[method]
    # an improvement of 1e9 never happens: the second step stops it
    stop = EarlyStopping("energy", patience=1, min_delta=1e9)
    s = spinicl.sample(model, 2.0, method, **options, callbacks=stop, **_run_kwargs(method))
    assert s.status == "stopped" and "early stopping" in s.message
    assert s.steps_done == (60 if method != "exact" else 2)


# ---------------------------------------------------------------------------- callbacks
@pytest.mark.parametrize("method", METHODS)
def test_callbacks_see_every_block_once_started_and_ended_once(model, method):
    options, _ = FORMS[method]
    history, calls = History(), []
    kwargs = _run_kwargs(method)
    s = spinicl.sample(model, 2.0, method, **options, callbacks=[history, calls.append],
                       **kwargs)
    assert history.started == 1 and history.ended == 1
    total = kwargs["n_chains"] if method == "exact" else 120
    expected = [1, 2, 3] if method == "exact" else [50, 60, 110, 120]
    assert history.steps == expected
    assert [info.step for info in calls] == expected
    assert all(info.total == total and info.loop == f"sample[{method}]" for info in calls)
    assert len(history.metrics["energy"]) == len(expected)
    assert np.isfinite(history.metrics["energy"]).all()
    # the last block's mean energy is the mean over the chains of their current energy
    if method == "exact":
        assert history.metrics["energy"][-1] == pytest.approx(s.observables["energy"].mean())
    assert s.status != "stopped"


def test_a_function_returning_true_stops_the_run(model):
    s = spinicl.sample(model, 2.0, "gibbs", callbacks=lambda info: info.step >= 60,
                       **_run_kwargs("gibbs"))
    assert s.status == "stopped" and s.steps_done == 60
    assert "<lambda>" in s.message


def test_the_deprecated_callback_still_gets_its_dict(model):
    seen = []
    with pytest.warns(DeprecationWarning, match="callbacks"):
        spinicl.sample(model, 2.0, "gibbs", callback=seen.append, **_run_kwargs("gibbs"))
    assert [d["iteration"] for d in seen] == [50, 60, 110, 120]
    assert [d["draws_done"] for d in seen] == [0, 0, 50, 60]
    assert [d["warmup"] for d in seen] == [True, True, False, False]


# ---------------------------------------------------------------------------- chain count
# The windowed metric of HMC and NUTS is estimated from all chains together (one metric for the
# run), so their chains are independent of each other with metric="identity" only; emcee's
# walkers move as one ensemble.
INDEPENDENT = {"hmc": dict(metric="identity"), "nuts": dict(metric="identity"),
               "anneal": dict(base="mala")}


@pytest.mark.parametrize("method", [m for m in METHODS if m != "emcee"])
def test_chain_k_does_not_depend_on_the_number_of_chains(model, method):
    options = INDEPENDENT.get(method, FORMS[method][0])
    two = spinicl.sample(model, 2.0, method, **options, **_run_kwargs(method, n_chains=2))
    four = spinicl.sample(model, 2.0, method, **options, **_run_kwargs(method, n_chains=4))
    np.testing.assert_array_equal(four.draws[:2], two.draws)
    np.testing.assert_array_equal(four.observables["energy"][:2], two.observables["energy"])


# ---------------------------------------------------------------------------- options
@pytest.mark.parametrize("method", METHODS)
def test_a_foreign_option_is_a_type_error_naming_it_and_the_method(model, method):
    option = FOREIGN[method]
    kwargs = _run_kwargs(method)
    with pytest.raises(TypeError, match=f"{option} is not an option of {method}"):
        spinicl.sample(model, 2.0, method=method, **{option: FOREIGN_VALUE[option]}, **kwargs)
    with pytest.raises(TypeError, match=f"{option} is not an option of {method}"):
        S.kernels.KERNEL_TYPES[method](**{option: FOREIGN_VALUE[option]})
    # an object and a per-kernel keyword together: the keyword belongs on the object
    obj = FORMS[method][1]
    with pytest.raises(TypeError, match="set it on the object"):
        spinicl.sample(model, 2.0, obj, **{option: FOREIGN_VALUE[option]}, **kwargs)


def test_the_issue_example_names_what_gibbs_takes(model):
    with pytest.raises(TypeError, match="n_leapfrog is not an option of gibbs; gibbs takes "
                                        "n_sweeps"):
        spinicl.sample(model, 1.0, method="gibbs", n_leapfrog=999, progress=False)
    with pytest.raises(TypeError, match="beta_start is not an option of gibbs"):
        spinicl.sample(model, 1.0, method="gibbs", beta_start=0.1, progress=False)


def test_pt_and_anneal_forward_base_options_to_the_base_only(model):
    s = spinicl.sample(model, 2.0, "pt", base="hmc", n_leapfrog=3, n_replicas=3,
                       **_run_kwargs("pt"))
    assert s.settings["base_options"]["n_leapfrog"] == 3
    with pytest.raises(TypeError, match="n_leapfrog is not an option of pt with base gibbs"):
        spinicl.sample(model, 2.0, "pt", n_leapfrog=3, **_run_kwargs("pt"))
    with pytest.raises(TypeError, match="max_depth is not an option of anneal with base mala"):
        spinicl.sample(model, 2.0, "anneal", base="mala", max_depth=3, **_run_kwargs("anneal"))


@pytest.mark.parametrize("make,exc,match", [
    (lambda: S.NUTS(max_depth=0), ValueError, "max_depth must be >= 1"),
    (lambda: S.NUTS(metric="full"), ValueError, "metric"),
    (lambda: S.HMC(jitter=1.0), ValueError, "jitter must be < 1"),
    (lambda: S.HMC(n_leapfrog=2.5), TypeError, "n_leapfrog must be an integer"),
    (lambda: S.MALA(step_size=-1.0), ValueError, "step_size must be > 0"),
    (lambda: S.MALA(target_accept=1.0), ValueError, "target_accept must be < 1"),
    (lambda: S.MALA(adapt_step_size="yes"), TypeError, "adapt_step_size"),
    (lambda: S.Gibbs(n_sweeps=0), ValueError, "n_sweeps must be >= 1"),
    (lambda: S.ParallelTempering(n_replicas=1), ValueError, "n_replicas must be >= 2"),
    (lambda: S.ParallelTempering(base="pt"), ValueError, "base"),
    (lambda: S.ParallelTempering(base=S.Exact()), TypeError, "base"),
    (lambda: S.Anneal(beta_start=0.0), ValueError, "beta_start must be > 0"),
    (lambda: S.NUTS(5), TypeError, "positional"),
])
def test_kernel_objects_validate_their_options(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_kernel_objects_are_values():
    a, b = S.NUTS(max_depth=8, metric="dense"), S.NUTS(metric="dense", max_depth=8)
    assert a == b and hash(a) == hash(b) and a != S.NUTS()
    assert repr(a) == ("NUTS(step_size=None, adapt_step_size=True, target_accept=None, "
                       "metric='dense', max_depth=8, threads=None)")
    assert a.max_depth == 8 and a.name == "nuts"
    with pytest.raises(AttributeError, match="immutable"):
        a.max_depth = 3
    assert a.replace(max_depth=3) == S.NUTS(metric="dense", max_depth=3)
    assert S.ParallelTempering(base="mala") == S.ParallelTempering(base=S.MALA())
    assert "base=MALA(" in repr(S.ParallelTempering(base="mala"))
    assert spinicl.NUTS is S.NUTS and spinicl.Exact is S.Exact
    assert (S.MALA().default_target_accept, S.Metropolis().default_target_accept,
            S.NUTS().default_target_accept, S.Gibbs().default_target_accept) == (0.574, 0.44,
                                                                                 0.8, None)
    assert S.NUTS().adapts_step and not S.NUTS(adapt_step_size=False).adapts_step
    assert not S.ULA().adapts_step and not S.Gibbs().adapts_step


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("change,exc,match", [
    (dict(beta=0.0), ValueError, "beta must be > 0"),
    (dict(beta=-1.0), ValueError, "beta must be > 0"),
    (dict(n_draws=0), ValueError, "n_draws must be >= 1"),
    (dict(n_chains=0), ValueError, "n_chains must be >= 1"),
    (dict(callbacks=5), TypeError, "callbacks must be"),
    (dict(callbacks=[History(), "x"]), TypeError, r"callbacks\[1\]"),
    (dict(checkpoint_interval=-1.0), ValueError, "checkpoint_interval"),
])
def test_bad_input_names_the_parameter(model, method, change, exc, match):
    options, _ = FORMS[method]
    kwargs = dict(_run_kwargs(method), beta=2.0, **options)
    kwargs.update(change)
    beta = kwargs.pop("beta")
    with pytest.raises(exc, match=match):
        spinicl.sample(model, beta, method, **kwargs)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "exact"])
def test_wrong_init_shape_is_refused(model, method):
    options, _ = FORMS[method]
    with pytest.raises(ValueError, match="init must have shape"):
        spinicl.sample(model, 2.0, method, **options, init=np.zeros(5), **_run_kwargs(method))


def test_exact_refuses_what_iid_draws_do_not_have(model):
    for extra, match in ((dict(init=np.zeros(4)), "init"), (dict(n_warmup=10), "n_warmup"),
                         (dict(thin=2), "thin")):
        with pytest.raises(TypeError, match=f"{match}.* not an option of exact"):
            spinicl.sample(model, 2.0, "exact", n_draws=5, progress=False, **extra)


def test_unknown_method_and_non_callable_callback(model):
    with pytest.raises(ValueError, match="method"):
        spinicl.sample(model, 2.0, "langevin", progress=False)
    with pytest.raises(TypeError, match="method"):
        spinicl.sample(model, 2.0, 3, progress=False)
    with pytest.raises(TypeError, match="callback must be callable"):
        spinicl.sample(model, 2.0, "gibbs", callback=5, progress=False)
