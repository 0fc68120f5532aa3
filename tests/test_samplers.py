"""Sampler behaviour beyond conformance: ULA's bias formula, bad input, checkpoint/resume,
divergences, parallel tempering, observables-only runs, and the diagnostics report."""
import numpy as np
import pytest

import spinicl
from spinicl import diagnostics as dg
from spinicl.samplers import Samples, sample, ula_stationary_covariance


@pytest.fixture(scope="module")
def model():
    return spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(2, 8, 40, rng=3), l2=0.1)


def _lambda_max(model, beta):
    return beta * np.linalg.eigvalsh(model.hessian()).max()


# ---------------------------------------------------------------------------- ULA's known bias
def test_ula_stationary_variance_formula_on_one_spin():
    # one spin, H = ½aσ²: the chain is AR(1) with φ = 1 − εβa, so Var = 2ε/(1 − φ²)
    one = spinicl.SpinGlass(couplings=[[0.0]], fields=[0.0], self_couplings=[2.0])
    beta, eps = 3.0, 0.2
    phi = 1 - eps * beta * 2.0
    assert ula_stationary_covariance(one, beta, eps)[0, 0] == pytest.approx(
        2 * eps / (1 - phi**2))
    with pytest.raises(ValueError, match="unstable"):
        ula_stationary_covariance(one, beta, 1.0)


def test_ula_samples_its_biased_law_not_the_boltzmann_measure(model):
    beta = 5.0
    eps = 1.0 / _lambda_max(model, beta)  # half the stability limit: a visible bias
    s = sample(model, beta, method="ula", step_size=eps, n_chains=4, n_draws=2000, n_warmup=200,
               thin=2, rng=1, progress=False)
    mu = model.boltzmann(beta)
    biased = np.diag(ula_stationary_covariance(model, beta, eps))
    z_formula, z_exact = [], []
    for i in range(model.n_spins):
        sq = (s.draws[:, :, i] - mu.mean[i]) ** 2
        err = dg.mcse_mean(sq)
        z_formula.append((sq.mean() - biased[i]) / err)
        z_exact.append((sq.mean() - mu.variance[i]) / err)
    assert np.max(np.abs(z_formula)) < 5
    assert np.max(np.abs(z_exact)) > 5  # the bias is real and resolved by this run
    np.testing.assert_array_equal(s.step_size, eps)  # ULA never adapts


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(beta=0.0), ValueError, "beta"),
    (dict(beta=-1.0), ValueError, "beta"),
    (dict(beta=np.inf), ValueError, "beta"),
    (dict(n_chains=0), ValueError, "n_chains"),
    (dict(n_chains=-2), ValueError, "n_chains"),
    (dict(n_draws=0), ValueError, "n_draws"),
    (dict(n_warmup=-1), ValueError, "n_warmup"),
    (dict(thin=0), ValueError, "thin"),
    (dict(step_size=0.0), ValueError, "step_size"),
    (dict(step_size=-0.1), ValueError, "step_size"),
    (dict(method="langevin"), ValueError, "method"),
    (dict(metric="full"), ValueError, "metric"),
    (dict(operator="sparse"), ValueError, "operator"),
    (dict(target_accept=1.0), ValueError, "target_accept"),
    (dict(method="hmc", n_leapfrog=0), ValueError, "n_leapfrog"),
    (dict(method="hmc", jitter=1.0), ValueError, "jitter"),
    (dict(max_depth=0), ValueError, "max_depth"),
    (dict(observables=["magnetisation"]), ValueError, "observables"),
    (dict(observables={"f": 3}), TypeError, "observables"),
    (dict(init=np.zeros(4)), ValueError, "init"),
    (dict(init=np.full(9, np.nan)), ValueError, "init"),
    (dict(rng="seed"), TypeError, "rng"),
    (dict(callback=5), TypeError, "callback"),
    (dict(base="gibbs"), TypeError, "base is not an option of nuts"),
    (dict(method="pt", base="pt"), ValueError, "base"),
    (dict(method="pt", ladder=[1.0, 0.5, 2.0]), ValueError, "ladder"),
    (dict(method="pt", ladder=[1.0, 3.0]), ValueError, "ladder"),
    (dict(method="pt", n_replicas=1), ValueError, "n_replicas"),
    (dict(method="anneal", n_warmup=0), ValueError, "n_warmup"),
    (dict(method="anneal", beta_start=10.0), ValueError, "beta_start"),
    (dict(method="emcee", n_chains=4), ValueError, "n_chains"),
])
def test_bad_arguments_name_the_parameter(model, kwargs, exc, match):
    args = dict(beta=2.0, n_draws=5, n_warmup=5, progress=False)
    args.update(kwargs)
    beta = args.pop("beta")
    with pytest.raises(exc, match=match):
        sample(model, beta, **args)


def test_model_with_non_finite_couplings_is_refused(model):
    with pytest.raises(ValueError, match="non-finite"):
        spinicl.SpinGlass(couplings=[[0.0, np.nan], [np.nan, 0.0]], fields=[0, 0],
                          self_couplings=[1, 1])
    broken = spinicl.SpinGlass.random(dim=2, rng=0)
    broken.fields = broken.fields.copy()
    broken.fields[0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        sample(broken, 1.0, n_draws=5, progress=False)
    with pytest.raises(TypeError, match="model"):
        sample(object(), 1.0, n_draws=5, progress=False)


def test_kernel_and_model_mismatches_are_explained():
    pot = DoubleWell(n=2)
    with pytest.raises(ValueError, match="quadratic"):
        sample(pot, 1.0, method="gibbs", n_draws=5, progress=False)
    with pytest.raises(ValueError, match="step_size"):
        sample(pot, 1.0, method="ula", n_draws=5, progress=False)
    big = spinicl.SpinGlass.random(dim=8, rng=0)
    with pytest.raises(ValueError, match="64 spins"):
        sample(big, 1.0, method="emcee", n_chains=200, n_draws=5, progress=False)


# ---------------------------------------------------------------------------- reproducibility
def test_same_seed_same_draws_and_chains_independent_of_their_number(model):
    a = sample(model, 2.0, method="gibbs", n_chains=3, n_draws=30, n_warmup=10, rng=5,
               progress=False)
    b = sample(model, 2.0, method="gibbs", n_chains=3, n_draws=30, n_warmup=10, rng=5,
               progress=False)
    one = sample(model, 2.0, method="gibbs", n_chains=1, n_draws=30, n_warmup=10, rng=5,
                 progress=False)
    np.testing.assert_array_equal(a.draws, b.draws)
    np.testing.assert_array_equal(a.draws[:1], one.draws)
    c = sample(model, 2.0, method="gibbs", n_chains=3, n_draws=30, n_warmup=10, rng=6,
               progress=False)
    assert not np.array_equal(a.draws, c.draws)


# ---------------------------------------------------------------------------- checkpoint/resume
class Interrupt(Exception):
    pass


def _interrupt_after(k):
    calls = {"n": 0}

    def callback(info):
        calls["n"] += 1
        if calls["n"] == k:
            raise Interrupt(info)
    return callback


@pytest.mark.parametrize("method,extra,stop_after", [
    ("hmc", dict(metric="dense", n_leapfrog=5), 2),   # inside a mass-matrix window
    ("nuts", dict(metric="diag"), 4),                  # during sampling
    ("pt", dict(base="mala", n_replicas=3), 3),
    ("metropolis", {}, 1),
])
def test_interrupted_run_resumes_bitwise_identically(model, tmp_path, method, extra, stop_after):
    kwargs = dict(method=method, n_chains=2, n_draws=80, n_warmup=120, thin=2, rng=11,
                  progress=False, observables=["contrast_ratio"], keep_draws=True, **extra)
    reference = sample(model, 3.0, **kwargs)
    path = tmp_path / "run.npz"
    with pytest.raises(Interrupt):
        sample(model, 3.0, checkpoint=path, checkpoint_interval=0.0,
               callback=_interrupt_after(stop_after), **kwargs)
    assert path.exists()
    resumed = sample(model, 3.0, checkpoint=path, checkpoint_interval=0.0, **kwargs)
    np.testing.assert_array_equal(resumed.draws, reference.draws)
    for name in reference.observables:
        np.testing.assert_array_equal(resumed.observables[name], reference.observables[name])
    np.testing.assert_array_equal(resumed.warmup_energy, reference.warmup_energy)
    np.testing.assert_array_equal(resumed.acceptance_rate, reference.acceptance_rate)
    if reference.step_size is not None:
        np.testing.assert_array_equal(resumed.step_size, reference.step_size)
    # a finished checkpoint returns the same result without sampling again
    again = sample(model, 3.0, checkpoint=path, **kwargs)
    np.testing.assert_array_equal(again.draws, reference.draws)


def test_checkpoint_needs_a_reproducible_seed(model, tmp_path):
    for rng in (None, np.random.default_rng(0)):
        with pytest.raises(ValueError, match="rng must be an int or a SeedSequence"):
            sample(model, 3.0, n_draws=5, rng=rng, progress=False, checkpoint=tmp_path / "c.npz")


def test_checkpoint_from_other_settings_is_refused(model, tmp_path):
    path = tmp_path / "run.npz"
    sample(model, 3.0, method="mala", n_draws=10, n_warmup=10, rng=1, progress=False,
           checkpoint=path)
    with pytest.raises(ValueError, match="different settings"):
        sample(model, 3.5, method="mala", n_draws=10, n_warmup=10, rng=1, progress=False,
               checkpoint=path)


# ---------------------------------------------------------------------------- divergences
class HoledGaussian:
    """½|x|², undefined (NaN) where x_0 > 5: a chain that wanders there must be stopped."""

    n_spins = 3

    def energy(self, X):
        return np.where(X[:, 0] > 5, np.nan, 0.5 * np.sum(X**2, axis=1))

    def gradient(self, X):
        return np.where(X[:, :1] > 5, np.nan, X)


def test_nan_mid_run_stops_only_that_chain_and_the_summary_says_why():
    init = np.zeros((3, 3))
    init[1, 0] = 6.0  # chain 1 starts in the hole
    s = sample(HoledGaussian(), 1.0, method="ula", step_size=0.05, n_chains=3, n_draws=400,
               n_warmup=50, init=init, rng=0, progress=False)
    assert s.diverged.tolist() == [False, True, False]
    assert np.all(np.isnan(s.draws[1])) and np.all(np.isfinite(s.draws[[0, 2]]))
    assert "non-finite" in s.divergence_messages[1]
    text = s.summary()
    assert "chain 1 diverged" in text and "non-finite energy at iteration 0" in text
    assert np.isfinite(s.stats("energy").mean)  # statistics use the good chains


def test_all_chains_diverging_is_reported_not_raised(model):
    beta = 2.0
    # the stiffest mode grows by |1 − εβa| = 4 per step: it overflows within ~500 steps
    s = sample(model, beta, method="ula", step_size=5.0 / _lambda_max(model, beta), n_chains=2,
               n_draws=1000, n_warmup=0, rng=0, progress=False)
    assert s.diverged.all()
    assert "diverged" in s.summary()
    with pytest.raises(ValueError, match="every chain diverged"):
        s.stats("energy")


def test_hmc_energy_errors_are_counted_as_divergent_transitions(model):
    beta = 2.0
    big = 3.0 / np.sqrt(_lambda_max(model, beta))  # past leapfrog's stability limit ε√λ < 2
    s = sample(model, beta, method="hmc", step_size=big, adapt_step_size=False, metric="identity",
               n_leapfrog=20, n_chains=2, n_draws=20, n_warmup=0, rng=0, progress=False)
    assert s.n_divergent.sum() > 0
    assert "divergent transition" in s.summary()


# ---------------------------------------------------------------------------- tempering
class DoubleWell:
    """H = a(x_0² − 1)² + ½ Σ_{i>0} x_i²: two wells at x_0 = ±1 separated by a barrier a."""

    def __init__(self, n=2, barrier=1.0):
        self.n_spins = n
        self.barrier = barrier

    def energy(self, X):
        return self.barrier * (X[:, 0] ** 2 - 1) ** 2 + 0.5 * np.sum(X[:, 1:] ** 2, axis=1)

    def gradient(self, X):
        G = X.copy()
        G[:, 0] = 4 * self.barrier * X[:, 0] * (X[:, 0] ** 2 - 1)
        return G


def test_parallel_tempering_crosses_the_barrier_a_single_chain_cannot():
    beta = 12.0  # βa = 12: the single chain essentially never crosses
    init = np.array([-1.0, 0.0])
    common = dict(n_chains=2, n_draws=1500, n_warmup=300, init=init, rng=3, progress=False)
    single = sample(DoubleWell(), beta, method="mala", **common)
    pt = sample(DoubleWell(), beta, method="pt", base="mala", ladder=[0.5, 1.5, 4.0, beta],
                **common)
    frac_single = np.mean(single.draws[:, :, 0] > 0)
    frac_pt = np.mean(pt.draws[:, :, 0] > 0)
    assert frac_single < 0.01
    assert 0.3 < frac_pt < 0.7  # symmetric wells: half the time in each
    assert pt.swap_acceptance.shape == (3,) and np.all(pt.swap_acceptance > 0.05)
    assert "pt" in repr(pt) and "swap acceptance" in pt.summary()


def test_parallel_tempering_satisfies_detailed_balance_on_the_gaussian(model):
    # Every replica must sample its own Boltzmann measure (⟨H⟩_r = H_min + n/(2β_r)), and each
    # pair's swap rate must equal E[min(1, e^{(β_{r+1}−β_r)(H_{r+1}−H_r)})] under independent
    # exact draws from the two measures.
    beta = 4.0
    ladder = np.array([1.0, 2.0, beta])
    s = sample(model, beta, method="pt", base="gibbs", ladder=ladder, n_chains=4, n_draws=2000,
               n_warmup=200, rng=8, progress=False, observables=[])
    assert s.draws is None and s.replica_energy.shape == (4, 3, 2000)
    for r, b in enumerate(ladder):
        mu = model.boltzmann(b)
        e = s.replica_energy[:, r]
        assert abs(e.mean() - mu.internal_energy) < 5 * dg.mcse_mean(e)
    gen = np.random.default_rng(0)
    n_exact = 200_000
    for r in range(2):
        lo = model.energy(model.boltzmann(ladder[r]).sample(n_exact, rng=gen))
        hi = model.energy(model.boltzmann(ladder[r + 1]).sample(n_exact, rng=gen))
        rate = np.minimum(1.0, np.exp((ladder[r + 1] - ladder[r]) * (hi - lo)))
        attempts = 4 * (2200 // 2)  # each pair is proposed every other iteration
        # swaps are autocorrelated through the states: allow 5 binomial errors inflated by 3
        tol = 5 * 3 * np.sqrt(rate.mean() * (1 - rate.mean()) / attempts)
        assert abs(s.swap_acceptance[r] - rate.mean()) < tol


def test_annealing_ramps_beta_during_warm_up(model):
    beta = 20.0
    s = sample(model, beta, method="anneal", beta_start=0.2, n_chains=2, n_draws=300,
               n_warmup=200, rng=2, progress=False)
    mu = model.boltzmann(beta)
    # at β = 0.2 the energy is far above ⟨H⟩_β; by the end of warm-up it has come down
    assert s.warmup_energy[:, :5].mean() > mu.internal_energy + 5.0
    e = s.observables["energy"]
    assert abs(e.mean() - mu.internal_energy) < 5 * dg.mcse_mean(e)
    assert s.method == "anneal(gibbs)"


# ---------------------------------------------------------------------------- results
def test_observables_only_and_custom_functions(model):
    beta = 5.0
    s = sample(model, beta, method="nuts", n_chains=2, n_draws=400, n_warmup=200, rng=4,
               progress=False,
               observables={"contrast_ratio": None, "overlap": None,
                            "first_spin": lambda X: X[:, 0]})
    assert s.draws is None
    assert set(s.observables) == {"energy", "contrast_ratio", "overlap", "first_spin"}
    mu = model.boltzmann(beta)
    x = s.observables["first_spin"]
    assert abs(x.mean() - mu.mean[0]) < 5 * dg.mcse_mean(x)
    exact = spinicl.contrast_ratio(mu.sample(20000, rng=0).reshape(-1, 3, 3)).mean()
    cr = s.observables["contrast_ratio"]
    assert abs(cr.mean() - exact) < 5 * dg.mcse_mean(cr) + 5 * 0.5 / np.sqrt(20000)
    with pytest.raises(ValueError, match="draws"):
        s.mean()


def test_summary_describes_problems_and_what_to_do(model):
    short = sample(model, 5.0, method="mala", n_chains=2, n_draws=20, n_warmup=10, rng=0,
                   progress=False)
    text = short.summary()
    assert "WARNINGS" in text and "Run longer" in text
    assert isinstance(short.warnings(), list)
    good = sample(model, 5.0, method="nuts", n_chains=4, n_draws=500, n_warmup=200, rng=0,
                  progress=False)
    assert "no warnings" in good.summary(), good.summary()
    assert "R̂=" in repr(good.stats("energy"))
    assert good.spin_diagnostics()["rhat"].shape == (9,)
    assert isinstance(good, Samples)


def test_to_arviz_or_a_clear_import_error(model):
    s = sample(model, 5.0, method="gibbs", n_chains=2, n_draws=20, n_warmup=5, rng=0,
               progress=False)
    try:
        import arviz  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install arviz"):
            s.to_arviz()
    else:
        idata = s.to_arviz()
        assert idata.posterior["spins"].shape == (2, 20, 9)


def test_top_level_lazy_exports():
    assert spinicl.sample is sample and spinicl.Samples is Samples


def test_run_killed_by_sigkill_resumes_bitwise_identically(model, tmp_path):
    import subprocess
    import sys

    path = tmp_path / "killed.npz"
    kwargs = dict(method="mala", n_chains=2, n_draws=150, n_warmup=100, rng=21, progress=False)
    script = (
        "import os, signal, spinicl\n"
        "model = spinicl.SpinGlass.from_prompts(spinicl.sample_prompts(2, 8, 40, rng=3), l2=0.1)\n"
        "calls = []\n"
        "def die(info):\n"
        "    calls.append(1)\n"
        "    if len(calls) == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        f"spinicl.sample(model, 3.0, checkpoint={str(path)!r}, checkpoint_interval=0.0, "
        f"callback=die, **{kwargs!r})\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()
    assert path.exists()
    resumed = sample(model, 3.0, checkpoint=path, **kwargs)
    reference = sample(model, 3.0, **kwargs)
    np.testing.assert_array_equal(resumed.draws, reference.draws)
    np.testing.assert_array_equal(resumed.step_size, reference.step_size)


@pytest.mark.parametrize("method", ["gibbs", "metropolis"])
def test_energy_carried_by_single_spin_kernels_matches_a_fresh_evaluation(model, method):
    s = sample(model, 5.0, method=method, n_chains=2, n_draws=500, n_warmup=100, rng=3,
               progress=False)
    fresh = model.energy(s.draws.reshape(-1, model.n_spins)).reshape(2, 500)
    np.testing.assert_allclose(s.observables["energy"], fresh, rtol=1e-9, atol=1e-12)
