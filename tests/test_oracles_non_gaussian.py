"""Exact oracles for Boltzmann measures with no closed form (issue 16, "Beyond the Gaussian").

(1) Large β: the separate model with weight decay on both factors concentrates on the minimiser
    of ½ L(W) + λ0 ‖W‖_* (nuclear norm), solved by proximal gradient.
(2) Quadrature: a two-spin factorised model (w = k·q) and a four-spin one (rank-1 factors at
    D = 1) whose moments are integrated numerically; every sampler lands within 5 MCSE.
(3) Gauge symmetry: W_Q → G W_Q, W_K → G^{-T} W_K leaves the loss invariant, and the measure too
    when G is orthogonal.

The sampler battery is parametrised over ``METHODS`` (NUTS: numba on ModelHamiltonian,
Python on TwoSpin).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

import spinicl
from spinicl import diagnostics as dg
from spinicl._result import check_result
from spinicl.attention import feature_factors
from spinicl.training import SeparateLinearAttention
from spinicl.training.hamiltonian import ModelHamiltonian, nuclear_norm_minimiser

# gradient samplers that take any potential with energy/gradient/n_spins, and emcee
METHODS = ["mala", "hmc", "pt", "anneal", "emcee", "nuts"]


def _sample(H, beta, method, *, seed, n_draws=3000, n_chains=4, init=None):
    # anneal ramps β through its warm-up, so it gets a longer one: with 500 its chains still
    # carried the ramp (|z| up to 5 over six seeds; 3.4 with 1500, like the other methods)
    options = dict(n_chains=n_chains, n_draws=n_draws, n_warmup=1500 if method == "anneal"
                   else 500, rng=seed, progress=False, init=init)
    if method in ("pt", "anneal"):
        options["base"] = "mala"
    if method == "pt":
        options["ladder"] = [beta / 4, beta / 2, beta]
    if method == "emcee":
        options["n_chains"] = 4 * H.n_spins
        options["n_draws"] = n_draws // 2
    return spinicl.sample(H, beta, method=method, **options)


def _within(values, exact, n_mcse=5.0):
    """|mean − exact| / MCSE for (chain, draw) values; asserts it is below n_mcse."""
    err = dg.mcse_mean(values)
    z = abs(values.mean() - exact) / err
    assert z < n_mcse, f"mean {values.mean():.5g} vs exact {exact:.5g}: {z:.2f} MCSE"
    return z


# ---------------------------------------------------------------------------- (2) quadrature
class TwoSpin:
    """H(k, q) = ½ mean_μ (y^μ − s^μ k q)² + (λ0/2)(k² + q²), w = k·q.

    The factorised scalar model: s^μ is the feature of W_00 of D = 1 prompts (the only weight
    of a 1×1 merged model, the D = 0 limit of separate attention with r = 1). With
    a = mean s², b = mean s y, c = mean y²: H = ½ a k²q² − b kq + ½ c + (λ0/2)(k² + q²).
    """

    n_spins = 2

    def __init__(self, prompts, l2):
        context, query = feature_factors(prompts)
        s = context[:, 0] * query[:, 0]
        y = prompts.targets
        self.a, self.b, self.c = np.mean(s * s), np.mean(s * y), np.mean(y * y)
        self.l2 = l2

    def energy(self, X):
        k, q = X[:, 0], X[:, 1]
        w = k * q
        return 0.5 * self.a * w**2 - self.b * w + 0.5 * self.c + 0.5 * self.l2 * (k * k + q * q)

    def gradient(self, X):
        k, q = X[:, 0], X[:, 1]
        dw = self.a * k * q - self.b
        return np.stack([dw * q + self.l2 * k, dw * k + self.l2 * q], axis=1)


def _trapezoid_weights(grid):
    w = np.full(grid.size, grid[1] - grid[0])
    w[[0, -1]] *= 0.5
    return w


def two_spin_moments_conditional(model, beta, *, n=4001, half_width=None):
    """⟨k⟩, ⟨q⟩, ⟨k²⟩, ⟨kq⟩, ⟨q²⟩ by 1-D quadrature over k, q integrated exactly.

    For fixed k, H is quadratic in q with precision β(a k² + λ0) and mean b k/(a k² + λ0), so
    the k-marginal is ∝ exp(−β[λ0 k²/2 − b²k²/(2(a k² + λ0))]) (a k² + λ0)^{-1/2}.
    """
    a, b, l2 = model.a, model.b, model.l2
    half_width = half_width or 12.0 / np.sqrt(beta * l2)
    k = np.linspace(-half_width, half_width, n)
    prec = a * k * k + l2
    log_p = -beta * (0.5 * l2 * k * k - 0.5 * (b * k) ** 2 / prec) - 0.5 * np.log(prec)
    p = np.exp(log_p - log_p.max()) * _trapezoid_weights(k)
    p /= p.sum()
    mean_q = b * k / prec
    var_q = 1.0 / (beta * prec)
    return {"k": p @ k, "q": p @ mean_q, "k2": p @ (k * k), "kq": p @ (k * mean_q),
            "q2": p @ (var_q + mean_q**2)}


def two_spin_moments_grid(model, beta, *, n=801, half_width=None):
    """The same moments by a 2-D tensor trapezoid grid over (k, q) of the model's energy."""
    half_width = half_width or 12.0 / np.sqrt(beta * model.l2)
    g = np.linspace(-half_width, half_width, n)
    K, Q = np.meshgrid(g, g, indexing="ij")
    E = model.energy(np.stack([K.ravel(), Q.ravel()], axis=1)).reshape(K.shape)
    wts = np.outer(_trapezoid_weights(g), _trapezoid_weights(g))
    p = np.exp(-beta * (E - E.min())) * wts
    p /= p.sum()
    return {"k": np.sum(p * K), "q": np.sum(p * Q), "k2": np.sum(p * K * K),
            "kq": np.sum(p * K * Q), "q2": np.sum(p * Q * Q)}


def four_spin_moments_conditional(H, beta, *, n=4001):
    """Moments of the rank-1 separate model at D = 1 by 1-D quadrature over k0.

    θ = (q0, q1, k0, k1) with W = qᵀk; the prediction is (c·q)(k·x) = (c·q) k0 x0 (the query's
    label slot is 0), so k1 only meets the regulariser (N(0, 1/(βλ0)), independent) and, for
    fixed k0, H is quadratic in q with A(k0) = k0² mean(x0² c cᵀ) + λ0 I and
    b(k0) = k0 mean(y x0 c). The k0-marginal is ∝ exp(−β[λ0 k0²/2 − ½ bᵀA⁻¹b]) det A^{-½}.
    """
    context, query = feature_factors(H._batch)
    y = H._batch.targets
    x0 = query[:, 0]
    l2 = H.l2
    C = np.einsum("p,pa,pb->ab", x0**2, context, context) / len(y)
    u = np.einsum("p,pa->a", y * x0, context) / len(y)
    half = 12.0 / np.sqrt(beta * l2)
    k0 = np.linspace(-half, half, n)
    A = k0[:, None, None] ** 2 * C + l2 * np.eye(2)
    bvec = k0[:, None] * u
    mean_q = np.linalg.solve(A, bvec[:, :, None])[:, :, 0]
    log_p = (-beta * (0.5 * l2 * k0**2 - 0.5 * np.einsum("ka,ka->k", bvec, mean_q))
             - 0.5 * np.linalg.slogdet(A)[1])
    p = np.exp(log_p - log_p.max()) * _trapezoid_weights(k0)
    p /= p.sum()
    second_q = np.linalg.inv(A) / beta + mean_q[:, :, None] * mean_q[:, None, :]
    return {"q0": p @ mean_q[:, 0], "q1": p @ mean_q[:, 1], "k0": p @ k0, "k1": 0.0,
            "q0q0": p @ second_q[:, 0, 0], "q0q1": p @ second_q[:, 0, 1],
            "q1q1": p @ second_q[:, 1, 1], "k0k0": p @ k0**2, "k1k1": 1.0 / (beta * l2),
            "W00": p @ (k0 * mean_q[:, 0]), "W10": p @ (k0 * mean_q[:, 1])}


def four_spin_observables(X):
    q0, q1, k0, k1 = X.T
    return {"q0": q0, "q1": q1, "k0": k0, "k1": k1, "q0q0": q0 * q0, "q0q1": q0 * q1,
            "q1q1": q1 * q1, "k0k0": k0 * k0, "k1k1": k1 * k1, "W00": q0 * k0, "W10": q1 * k0}


TWO_BETA, FOUR_BETA = 10.0, 10.0


@pytest.fixture(scope="module")
def quad_prompts():
    return spinicl.sample_prompts(1, 10, 20, rng=0)


@pytest.fixture(scope="module")
def two_spin(quad_prompts):
    # b = 0.51 > λ0 = 0.1: two wells at k = q = ±0.73 with a barrier β·(b − λ0)²/(2a) ≈ 1.1
    return TwoSpin(quad_prompts, l2=0.1)


@pytest.fixture(scope="module")
def four_spin(quad_prompts):
    return ModelHamiltonian(SeparateLinearAttention(1, rank=1), quad_prompts, l2=0.1)


def test_two_spin_quadratures_agree(two_spin):
    # the 1-D (q integrated exactly) and 2-D tensor-grid quadratures are independent routes;
    # doubling the grids moves neither by more than 1e-9 (the trapezoid rule converges
    # geometrically on these smooth, fast-decaying integrands)
    one = two_spin_moments_conditional(two_spin, TWO_BETA)
    two = two_spin_moments_grid(two_spin, TWO_BETA)
    finer = two_spin_moments_conditional(two_spin, TWO_BETA, n=8001)
    for key in one:
        assert abs(one[key] - two[key]) < 1e-8
        assert abs(one[key] - finer[key]) < 1e-9
    assert abs(one["k"]) < 1e-12 and abs(one["k2"] - one["q2"]) < 1e-8   # (k,q) symmetries
    assert one["kq"] > 0.3                                               # the wells are real


def test_four_spin_quadrature_matches_a_grid_over_the_model_hamiltonian(four_spin):
    # brute force: a 3-D trapezoid grid over (q0, q1, k0) of ModelHamiltonian.energy itself
    # (k1 = 0: it is independent Gaussian), against the 1-D conditional quadrature
    exact = four_spin_moments_conditional(four_spin, FOUR_BETA)
    # ±7 holds all but e^-24 of the mass; spacing 0.0875 resolves q's narrowest conditional
    # width (~0.15 at the largest k0 the grid holds)
    g = np.linspace(-7.0, 7.0, 161)
    q0, q1, k0 = np.meshgrid(g, g, g, indexing="ij")
    X = np.stack([q0.ravel(), q1.ravel(), k0.ravel(), np.zeros(q0.size)], axis=1)
    E = four_spin.energy(X)
    w = _trapezoid_weights(g)
    p = np.exp(-FOUR_BETA * (E - E.min())) * np.einsum("i,j,k->ijk", w, w, w).ravel()
    p /= p.sum()
    obs = four_spin_observables(X)
    for key in ("q0q0", "q0q1", "q1q1", "k0k0", "W00", "W10"):
        assert abs(p @ obs[key] - exact[key]) < 1e-7, key


@pytest.mark.parametrize("method", METHODS)
def test_samplers_reach_the_two_spin_quadrature(two_spin, method):
    exact = two_spin_moments_conditional(two_spin, TWO_BETA)
    s = _sample(two_spin, TWO_BETA, method, seed=11)
    k, q = s.draws[..., 0], s.draws[..., 1]
    for key, values in (("k", k), ("q", q), ("k2", k * k), ("kq", k * q), ("q2", q * q)):
        _within(values, exact[key])


@pytest.mark.parametrize("method", METHODS)
def test_samplers_reach_the_four_spin_quadrature(four_spin, method):
    exact = four_spin_moments_conditional(four_spin, FOUR_BETA)
    s = _sample(four_spin, FOUR_BETA, method, seed=12)
    obs = four_spin_observables(s.draws.reshape(-1, 4))
    shape = s.draws.shape[:2]
    for key, values in obs.items():
        _within(values.reshape(shape), exact[key])


def test_ula_bias_shrinks_with_the_step_size(two_spin):
    # ULA has no accept/reject: its stationary law is off by O(ε). It is not held to 5 MCSE;
    # its error in ⟨kq⟩ must shrink when ε is cut by 4, by more than the noise of both runs.
    exact = two_spin_moments_conditional(two_spin, TWO_BETA)["kq"]
    errors, noise = [], []
    # (ε·max curvature of βH must stay below 2 in the tails the chains visit: ε <= 0.06)
    for eps, n_draws in ((0.06, 6000), (0.015, 20000)):
        s = spinicl.sample(two_spin, TWO_BETA, method="ula", step_size=eps, n_chains=4,
                           n_draws=n_draws, n_warmup=500, rng=5, progress=False)
        kq = s.draws[..., 0] * s.draws[..., 1]
        errors.append(abs(kq.mean() - exact))
        noise.append(dg.mcse_mean(kq))
    assert errors[0] - errors[1] > 3 * np.hypot(*noise)


# ---------------------------------------------------------------------------- (1) nuclear norm
L2_NUC = 0.05


@pytest.fixture(scope="module")
def nuc_prompts():
    return spinicl.sample_prompts(2, 10, 30, rng=1)


@pytest.fixture(scope="module")
def nuc(nuc_prompts):
    result = nuclear_norm_minimiser(nuc_prompts, l2=L2_NUC, tol=1e-13)
    assert result.converged, result.message
    check_result(result)
    assert "converged" in repr(result) and result.x.shape == (9,)
    return result


def _gram_fields(prompts):
    glass = spinicl.SpinGlass.from_prompts(prompts, l2=0.0)
    return glass.gram(), glass.fields, glass.offset


def _factors_of(W, rank=None):
    """W_Q = Σ^½Uᵀ, W_K = Σ^½Vᵀ (the factorisation attaining ‖W‖_*), as one spin vector."""
    U, s, Vt = np.linalg.svd(W)
    rank = W.shape[0] if rank is None else rank
    root = np.sqrt(s[:rank])[:, None]
    return np.concatenate([(root * U[:, :rank].T).ravel(), (root * Vt[:rank]).ravel()])


def test_nuclear_minimiser_satisfies_its_optimality_conditions(nuc_prompts, nuc):
    # 0 ∈ ∇f(W) + λ0 ∂‖W‖_*, written out here from the SVD: with R = −∇f/λ0 and U, V the
    # singular vectors of the nonzero singular values, Uᵀ R V = I, Uᵀ R V⊥ = 0, U⊥ᵀ R V = 0 and
    # ‖U⊥ᵀ R V⊥‖₂ <= 1
    M, h, _ = _gram_fields(nuc_prompts)
    m = nuc.W.shape[0]
    R = -(M @ nuc.W.ravel() - h).reshape(m, m) / L2_NUC
    U, s, Vt = np.linalg.svd(nuc.W)
    k = int(np.sum(s > 1e-8))
    assert k == nuc.rank and 0 < k < m        # a genuinely rank-deficient minimiser
    U1, U2, V1, V2 = U[:, :k], U[:, k:], Vt[:k].T, Vt[k:].T
    assert np.allclose(U1.T @ R @ V1, np.eye(k), atol=1e-8)
    assert np.allclose(U1.T @ R @ V2, 0.0, atol=1e-8)
    assert np.allclose(U2.T @ R @ V1, 0.0, atol=1e-8)
    assert np.linalg.norm(U2.T @ R @ V2, 2) < 1.0
    assert nuc.kkt_residual < 1e-8
    F = 0.5 * nuc.W.ravel() @ M @ nuc.W.ravel() - h @ nuc.W.ravel() + 0.5 * np.mean(
        nuc_prompts.targets**2) + L2_NUC * s.sum()
    assert abs(F - nuc.objective) < 1e-12


def test_nuclear_minimiser_is_zero_exactly_when_the_field_is_below_l2(nuc_prompts):
    # at W = 0 the subdifferential is the spectral-norm ball: W* = 0 iff ‖Sᵀy/P‖₂ <= λ0
    _, h, _ = _gram_fields(nuc_prompts)
    m = int(np.sqrt(h.size))
    threshold = np.linalg.norm(h.reshape(m, m), 2)
    above = nuclear_norm_minimiser(nuc_prompts, l2=1.01 * threshold)
    below = nuclear_norm_minimiser(nuc_prompts, l2=0.9 * threshold)
    assert np.all(above.W == 0.0) and above.rank == 0
    assert below.rank == 1 and np.linalg.norm(below.W) > 1e-3


@pytest.mark.parametrize("rank", [3, 2])
def test_min_over_the_factors_is_the_nuclear_objective(nuc_prompts, nuc, rank):
    # the factorisation identity, checked by a generic optimiser (L-BFGS on the separate
    # model's H over W_Q, W_K) from random starts: every run reaches F(W*) and W*
    H = ModelHamiltonian(SeparateLinearAttention(2, rank=rank), nuc_prompts, l2=L2_NUC)
    rng = np.random.default_rng(0)
    for _ in range(4):
        run = minimize(H.energy_gradient, 0.5 * rng.standard_normal(H.n_spins), jac=True,
                       method="L-BFGS-B", options=dict(gtol=1e-12, ftol=1e-15, maxiter=5000))
        assert abs(run.fun - nuc.objective) < 1e-10 * nuc.objective
        assert np.abs(H.merged_weights(run.x) - nuc.W).max() < 1e-6
    assert abs(H.energy(_factors_of(nuc.W, rank)) - nuc.objective) < 1e-12


def test_factors_of_too_low_rank_stay_above_the_nuclear_objective(nuc_prompts, nuc):
    # rank(W*) = 2: rank-1 factors cannot reach it (the convex relaxation is then not tight)
    H = ModelHamiltonian(SeparateLinearAttention(2, rank=1), nuc_prompts, l2=L2_NUC)
    run = minimize(H.energy_gradient, np.full(H.n_spins, 0.3), jac=True, method="L-BFGS-B",
                   options=dict(gtol=1e-12, ftol=1e-15))
    assert run.fun > nuc.objective + 1e-3


@pytest.mark.parametrize("optimizer, lr, steps", [("sgd", 0.1, 20000), ("adam", 0.01, 5000)])
def test_trained_separate_model_reaches_the_nuclear_minimiser(nuc_prompts, nuc, optimizer, lr,
                                                              steps):
    # coupled weight decay wd on MSE is λ0 = wd/2 on H (equivalent_l2); from a random start
    # the factors reach the global minimiser (no spurious local minima at full rank). The
    # tolerance is the optimisers': both gradient norms end below 1e-12 and the smallest
    # nonzero curvature of H is λ0, so ‖ΔW‖ ≲ ‖W_Q‖‖∇H‖/λ0 ≪ 1e-8.
    wd = 2 * L2_NUC
    assert spinicl.training.equivalent_l2(wd, optimizer=optimizer) == L2_NUC
    result = spinicl.train(SeparateLinearAttention(2, rng=4), nuc_prompts, optimizer=optimizer,
                           lr=lr, steps=steps, weight_decay=wd, rtol=1e-10, progress=False)
    assert result.history.grad_norm[-1] < 1e-12
    assert np.abs(result.model.merged_weights() - nuc.W).max() < 1e-8


def test_sampled_separate_model_concentrates_on_the_nuclear_minimiser(nuc_prompts, nuc):
    # Laplace at large β. Near the minimiser manifold (the O(r) gauge orbit of the optimal
    # factors, n_flat = 3 directions here: zero eigenvalues of ∇²H) the measure over θ is
    # Gaussian in the n⊥ = n − n_flat normal directions with covariance (β∇²H)⁻¹, so
    #   ⟨H⟩ − F* = n⊥/(2β) + O(β⁻²)     (equipartition),
    #   ⟨W⟩ − W* = c/β + O(β⁻²)           (W = W_Qᵀ W_K is bilinear: the second-order term is
    #                                      a mean of products of fluctuations, O(1/β)),
    # and draws of W spread by O(β^-½). The O(1/β) bias of ⟨W⟩ is removed by Richardson
    # extrapolation from β and 4β, W_∞ = (4⟨W⟩_4β − ⟨W⟩_β)/3, which must then equal W* within
    # 5 MCSE (MCSE² = (16 MCSE²_4β + MCSE²_β)/9); the remainder O(β⁻²) ~ 1e-6 is far below it.
    H = ModelHamiltonian(SeparateLinearAttention(2), nuc_prompts, l2=L2_NUC)
    theta = _factors_of(nuc.W)
    assert abs(H.energy(theta) - nuc.objective) < 1e-12
    step = 1e-6
    hess = np.array([(H.gradient(theta + step * e) - H.gradient(theta - step * e)) / (2 * step)
                     for e in np.eye(H.n_spins)])
    curvatures = np.linalg.eigvalsh(0.5 * (hess + hess.T))
    assert curvatures.min() > -1e-7                     # a minimum, flat only along the orbit
    n_normal = int(np.sum(curvatures > 1e-6))
    assert n_normal == H.n_spins - 3
    means, errors = {}, {}
    for beta in (1000.0, 4000.0):
        s = spinicl.sample(H, beta, method="hmc", n_chains=4, n_draws=2000, n_warmup=500,
                           init=theta, rng=3, progress=False)
        e = s.observables["energy"]
        _within(2 * beta * (e - nuc.objective), float(n_normal))
        W = H.merged_weights(s.draws.reshape(-1, H.n_spins)).reshape(4, 2000, -1)
        means[beta] = W.mean(axis=(0, 1))
        errors[beta] = np.array([dg.mcse_mean(W[:, :, i]) for i in range(W.shape[2])])
        # draws sit within O(β^-½) of W*: their mean squared distance is of order n⊥/β
        assert np.mean(np.sum((W - nuc.W.ravel()) ** 2, axis=2)) < 10 * n_normal / beta
    live = errors[1000.0] > 0                           # the dead column is exactly 0
    extrapolated = (4 * means[4000.0] - means[1000.0]) / 3
    mcse = np.sqrt(16 * errors[4000.0] ** 2 + errors[1000.0] ** 2) / 3
    z = np.abs(extrapolated - nuc.W.ravel())[live] / mcse[live]
    assert np.all(z < 5), z


# ---------------------------------------------------------------------------- (3) gauge
def _gauge(H, x, G):
    """W_Q → G W_Q, W_K → G^{-T} W_K of a spin vector (the softmax model's W_V untouched)."""
    p = {k: v.copy() for k, v in H.unflatten(x).items()}
    p["W_Q"] = G @ p["W_Q"]
    p["W_K"] = np.linalg.inv(G).T @ p["W_K"]
    return H.flatten(p)


def _random_orthogonal(n, rng):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


@pytest.mark.parametrize("model", [SeparateLinearAttention(2), SeparateLinearAttention(2, rank=2),
                                   spinicl.training.SoftmaxAttention(2, head_dim=2)],
                         ids=["separate", "separate-rank2", "softmax"])
def test_loss_is_gauge_invariant_and_the_measure_under_orthogonal_gauges(nuc_prompts, model):
    H = ModelHamiltonian(model, nuc_prompts, l2=L2_NUC)
    rng = np.random.default_rng(7)
    r = H.param_shapes["W_Q"][0]
    x = rng.standard_normal(H.n_spins)

    def data(z):
        return H.energy(z) - 0.5 * L2_NUC * z @ z

    for _ in range(3):
        G = rng.standard_normal((r, r)) + 2 * np.eye(r)     # invertible, not orthogonal
        y = _gauge(H, x, G)
        assert abs(data(y) - data(x)) < 1e-10 * abs(data(x))
        assert abs(H.energy(y) - H.energy(x)) > 1e-3       # the regulariser is not invariant
        rotation = _random_orthogonal(r, rng)
        z = _gauge(H, x, rotation)
        assert abs(H.energy(z) - H.energy(x)) < 1e-10 * abs(H.energy(x))
        # the gradient is equivariant: ∇H(O·θ) = O·∇H(θ) for the factors
        assert np.allclose(H.gradient(z), _gauge(H, H.gradient(x), rotation), atol=1e-10)
    if H.kind == "separate":
        assert np.allclose(H.merged_weights(_gauge(H, x, G)), H.merged_weights(x), atol=1e-12)


def test_observables_of_the_effective_W_are_constant_along_a_gauge_orbit(nuc_prompts):
    H = ModelHamiltonian(SeparateLinearAttention(2), nuc_prompts, l2=L2_NUC)
    test = spinicl.sample_prompts(2, 10, 200, rng=9)
    rng = np.random.default_rng(8)
    x = rng.standard_normal(H.n_spins)
    W0 = H.merged_weights(x)
    reference = (spinicl.contrast_ratio(W0), spinicl.identity_overlap(W0),
                 spinicl.test_error(W0, test))
    for _ in range(5):
        W = H.merged_weights(_gauge(H, x, rng.standard_normal((3, 3)) + 2 * np.eye(3)))
        values = (spinicl.contrast_ratio(W), spinicl.identity_overlap(W),
                  spinicl.test_error(W, test))
        assert np.allclose(values, reference, rtol=1e-9, atol=1e-12)


def test_chains_from_gauge_related_starts_agree_on_invariant_observables(nuc_prompts, nuc):
    # the measure is invariant under orthogonal gauges, so chains started at θ0 and at O·θ0
    # sample the same law: invariant statistics agree within 5 combined MCSE
    H = ModelHamiltonian(SeparateLinearAttention(2), nuc_prompts, l2=L2_NUC)
    beta = 200.0
    theta = _factors_of(nuc.W)
    rotated = _gauge(H, theta, _random_orthogonal(3, np.random.default_rng(4)))
    assert not np.allclose(rotated, theta)
    stats = []
    for seed, init in ((1, theta), (2, rotated)):
        s = spinicl.sample(H, beta, method="hmc", n_chains=4, n_draws=1500, n_warmup=300,
                           init=init, rng=seed, progress=False)
        W = H.merged_weights(s.draws.reshape(-1, H.n_spins)).reshape(4, 1500, 3, 3)
        stats.append({"contrast": spinicl.contrast_ratio(W.reshape(-1, 3, 3)).reshape(4, -1),
                      "W00": W[..., 0, 0], "W11": W[..., 1, 1], "W20": W[..., 2, 0],
                      "energy": s.observables["energy"]})
    for key in stats[0]:
        a, b = stats[0][key], stats[1][key]
        err = np.hypot(dg.mcse_mean(a), dg.mcse_mean(b))
        assert abs(a.mean() - b.mean()) < 5 * err, key
