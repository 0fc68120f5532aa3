"""ModelHamiltonian: H(θ) = ½ L(θ) + (λ0/2)|θ|² over the weights of every training model."""
from __future__ import annotations

import numpy as np
import pytest

import spinicl
from spinicl import diagnostics as dg
from spinicl.training import (FullLinearAttention, MergedLinearAttention,
                              MultiHeadLinearAttention, SeparateLinearAttention,
                              SoftmaxAttention, Transformer)
from spinicl.training.hamiltonian import ModelHamiltonian

L2 = 0.3


def _models():
    return {
        "merged": MergedLinearAttention(2, rng=0),
        "separate": SeparateLinearAttention(2, rng=0),
        "separate-rank1": SeparateLinearAttention(2, rank=1, rng=0),
        "full_linear": FullLinearAttention(2, rng=0),
        "multihead_linear": MultiHeadLinearAttention(2, n_heads=2, head_dim=2, rng=0),
        "softmax": SoftmaxAttention(2, head_dim=2, rng=0),
        "transformer": Transformer(2, hidden=5, head_dim=2, rng=0),
    }


MODEL_IDS = list(_models())


@pytest.fixture(scope="module")
def prompts():
    return spinicl.sample_prompts(2, 6, 9, rng=1)


@pytest.fixture(scope="module", params=MODEL_IDS)
def hamiltonian(request, prompts):
    return ModelHamiltonian(_models()[request.param], prompts, l2=L2)


def test_gradient_matches_central_differences(hamiltonian):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, hamiltonian.n_spins))
    G = hamiltonian.gradient(X)
    step = 1e-5
    for b in range(2):
        fd = np.array([(hamiltonian.energy(X[b] + step * e) - hamiltonian.energy(X[b] - step * e))
                       / (2 * step) for e in np.eye(hamiltonian.n_spins)])
        assert np.linalg.norm(G[b] - fd) <= 1e-6 * np.linalg.norm(fd)


def test_energy_is_half_the_models_own_loss_plus_weight_decay(hamiltonian, prompts):
    # the model's full (not fast) forward pass: an independent route to the loss
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, hamiltonian.n_spins))
    E = hamiltonian.energy(X)
    for x, e in zip(X, E):
        own = 0.5 * hamiltonian.model_at(x).loss(prompts, method="full") + 0.5 * L2 * x @ x
        assert abs(e - own) <= 1e-10 * max(1.0, abs(own))
    assert hamiltonian.energy(X[0]) == pytest.approx(E[0], rel=1e-13)
    assert hamiltonian.gradient(X[0]).shape == (hamiltonian.n_spins,)


@pytest.mark.parametrize("normalization", ["model", "li2024"])
@pytest.mark.parametrize("operator", ["gram", "factored"])
def test_merged_model_is_the_spin_glass_up_to_its_offset(prompts, normalization, operator):
    glass = spinicl.SpinGlass.from_prompts(prompts, l2=L2, normalization=normalization)
    H = ModelHamiltonian(MergedLinearAttention(2), prompts, l2=L2, normalization=normalization,
                         operator=operator)
    assert H.operator == operator
    X = np.random.default_rng(2).standard_normal((4, 9))
    assert np.allclose(H.energy(X) - H.offset, glass.energy(X), rtol=0, atol=1e-10)
    assert np.allclose(H.gradient(X), glass.gradient(X), rtol=0, atol=1e-10)
    assert H.offset == pytest.approx(glass.offset)


@pytest.mark.parametrize("rank", [3, 2])
def test_separate_energy_is_the_merged_energy_at_the_effective_weights(prompts, rank):
    merged = ModelHamiltonian("merged", prompts, l2=0.0)
    gram = ModelHamiltonian(SeparateLinearAttention(2, rank=rank), prompts, l2=L2)
    factored = ModelHamiltonian(SeparateLinearAttention(2, rank=rank), prompts, l2=L2,
                                operator="factored")
    X = np.random.default_rng(3).standard_normal((5, gram.n_spins))
    W = gram.merged_weights(X)
    expected = merged.energy(W.reshape(5, -1)) + 0.5 * L2 * np.sum(X**2, axis=1)
    assert np.allclose(gram.energy(X), expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(factored.energy(X), expected, rtol=1e-12, atol=1e-12)
    assert np.allclose(factored.gradient(X), gram.gradient(X), rtol=1e-10, atol=1e-12)
    assert np.all(np.linalg.matrix_rank(W) <= rank)


def test_flatten_unflatten_and_merged_weights_round_trip(prompts):
    model = SeparateLinearAttention(2, rank=2, rng=5)
    H = ModelHamiltonian(model, prompts, l2=L2)
    assert H.param_shapes == {"W_Q": (2, 3), "W_K": (2, 3)} and H.n_spins == 12
    x = H.flatten(model)
    params = H.unflatten(x)
    assert all(np.array_equal(params[k], model.params[k]) for k in model.params)
    assert np.array_equal(H.flatten(params), x)
    assert np.allclose(H.merged_weights(x), model.merged_weights(), atol=1e-15)
    X = np.stack([x, 2 * x])
    batch = H.unflatten(X)
    assert batch["W_Q"].shape == (2, 2, 3)
    assert np.allclose(H.merged_weights(X)[1], 4 * model.merged_weights())
    clone = H.model_at(x)
    assert clone is not model and np.array_equal(clone.params["W_K"], model.params["W_K"])
    assert H.energy(x) == pytest.approx(0.5 * model.loss(prompts) + 0.5 * L2 * x @ x, rel=1e-12)


def test_model_given_by_name_and_the_hamiltonian_does_not_follow_later_training(prompts):
    model = SeparateLinearAttention(2, rng=0)
    H = ModelHamiltonian(model, prompts, l2=L2)
    x = np.random.default_rng(4).standard_normal(H.n_spins)
    before = H.energy(x)
    model.params["W_Q"][:] = 0.0          # the Hamiltonian holds its own copy of the model
    assert H.energy(x) == before
    assert ModelHamiltonian("separate", prompts, l2=L2).energy(x) == pytest.approx(before)
    assert "separate" in repr(H)


def test_bad_input_is_refused_naming_the_parameter(prompts):
    with pytest.raises(ValueError, match="model"):
        ModelHamiltonian(spinicl.SpinGlass.from_prompts(prompts), prompts, l2=L2)
    with pytest.raises(ValueError, match="model"):
        ModelHamiltonian("lstm", prompts, l2=L2)
    with pytest.raises(ValueError, match="D = 3"):
        ModelHamiltonian(MergedLinearAttention(3), prompts, l2=L2)
    with pytest.raises(TypeError, match="prompts"):
        ModelHamiltonian(MergedLinearAttention(2), np.zeros((3, 3, 7)), l2=L2)
    with pytest.raises(ValueError, match="l2"):
        ModelHamiltonian(MergedLinearAttention(2), prompts, l2=-0.1)
    with pytest.raises(ValueError, match="normalization"):
        ModelHamiltonian(SoftmaxAttention(2), prompts, l2=L2, normalization="li2024")
    with pytest.raises(ValueError, match="normalization"):
        ModelHamiltonian(MergedLinearAttention(2), prompts, l2=L2, normalization="N")
    with pytest.raises(ValueError, match="operator"):
        ModelHamiltonian(SoftmaxAttention(2), prompts, l2=L2, operator="gram")
    H = ModelHamiltonian(SoftmaxAttention(2), prompts, l2=L2)
    with pytest.raises(ValueError, match="merged"):
        H.merged_weights(np.zeros(H.n_spins))
    with pytest.raises(ValueError, match=f"\\({H.n_spins},\\)"):
        H.energy(np.zeros(H.n_spins + 1))
    with pytest.raises(ValueError, match="W_K"):
        H.flatten({"W_Q": np.zeros((3, 3))})


@pytest.mark.parametrize("rank", [0, 4, 2.5])
def test_rank_out_of_range_is_refused(rank):
    with pytest.raises((ValueError, TypeError), match="rank"):
        SeparateLinearAttention(2, rank=rank)


def test_low_rank_separate_model_trains_and_its_fast_path_matches_the_full_pass(prompts):
    model = SeparateLinearAttention(2, rank=1, rng=3)
    assert model.rank == 1 and model.params["W_Q"].shape == (1, 3)
    assert SeparateLinearAttention(2).rank == 3                      # the default: full rank
    assert SeparateLinearAttention(2).params["W_Q"].shape == (3, 3)
    value_fast, fast = model.loss_and_grad(prompts)
    value_full, full = model.loss_and_grad(prompts, method="full")
    assert value_fast == pytest.approx(value_full, rel=1e-12)
    assert all(np.allclose(fast[k], full[k], atol=1e-12) for k in fast)
    result = spinicl.train("separate", prompts, lr=0.01, steps=50, rng=0, progress=False,
                           model_options={"rank": 1})
    assert result.model.params["W_K"].shape == (1, 3)
    assert np.linalg.matrix_rank(result.model.merged_weights()) == 1


# ---------------------------------------------------------------------------- samplers
@pytest.fixture(scope="module")
def merged_case():
    prompts = spinicl.sample_prompts(2, 10, 40, rng=2)
    H = ModelHamiltonian(MergedLinearAttention(2), prompts, l2=0.1)
    glass = spinicl.SpinGlass.from_prompts(prompts, l2=0.1)
    return H, glass.boltzmann(20.0), glass.dead_spins


@pytest.mark.parametrize("method", ["mala", "hmc", "pt", "anneal"])
def test_gradient_samplers_sample_the_merged_model_hamiltonians_gaussian(merged_case, method):
    # the merged model's exp(−βH) is exactly the Gaussian of SpinGlass: an exact oracle for the
    # samplers driving a ModelHamiltonian through energy/gradient alone
    H, measure, dead = merged_case
    options = {"base": "mala"} if method in ("pt", "anneal") else {}
    if method == "pt":
        options["ladder"] = [5.0, 10.0, 20.0]
    s = spinicl.sample(H, 20.0, method=method, n_chains=4, n_draws=1500, n_warmup=400, rng=6,
                       progress=False, **options)
    for i in np.flatnonzero(~dead)[:4]:
        values = s.draws[:, :, i]
        assert abs(values.mean() - measure.mean[i]) < 5 * dg.mcse_mean(values)
    energy = s.observables["energy"]
    exact = measure.internal_energy + H.offset
    assert abs(energy.mean() - exact) < 5 * dg.mcse_mean(energy)


def test_ula_runs_on_a_model_hamiltonian():
    # ULA is biased by O(ε) (tests/test_oracles_non_gaussian.py measures that); here it must run
    # on a non-quadratic potential and stay finite
    prompts = spinicl.sample_prompts(2, 10, 40, rng=2)
    H = ModelHamiltonian(SeparateLinearAttention(2, rank=2), prompts, l2=0.1)
    s = spinicl.sample(H, 20.0, method="ula", step_size=0.01, n_chains=2, n_draws=200,
                       n_warmup=50, rng=1, progress=False)
    assert np.all(np.isfinite(s.draws)) and s.draws.shape == (2, 200, H.n_spins)


def test_softmax_hamiltonian_is_sampled_by_hmc(prompts):
    H = ModelHamiltonian(SoftmaxAttention(2, head_dim=2), prompts, l2=1.0)
    s = spinicl.sample(H, 5.0, method="hmc", n_chains=2, n_draws=200, n_warmup=100, rng=2,
                       progress=False)
    assert np.all(np.isfinite(s.observables["energy"]))
    assert np.all(s.acceptance_rate > 0.3)


def test_softmax_walker_chunks_do_not_change_the_result(prompts, monkeypatch):
    from spinicl.training import hamiltonian as module

    H = ModelHamiltonian(SoftmaxAttention(2, head_dim=2), prompts, l2=L2)
    X = np.random.default_rng(9).standard_normal((7, H.n_spins))
    E, G = H.energy_gradient(X)
    P, _, T = prompts.tokens.shape
    monkeypatch.setattr(module, "_SOFTMAX_CHUNK", 2 * P * T)      # chunks of 2 walkers
    E2, G2 = H.energy_gradient(X)
    assert np.allclose(E2, E, rtol=1e-14, atol=0) and np.allclose(G2, G, rtol=1e-13, atol=1e-15)
