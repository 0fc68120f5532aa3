"""Boltzmann measures of the separate, low-rank and softmax transformers, beside the Gaussian.

The merged model's measure exp(−βH) is the exact Gaussian; parametrising W = W_Qᵀ W_K (full
rank or rank r) or using softmax attention makes H quartic or non-polynomial, and only the
gradient samplers draw it (:class:`spinicl.ModelHamiltonian`, docs/beyond_gaussian.md). This
module measures those measures' in-context-learning observables over task diversity and β:

* :func:`weight_measure` — one disorder draw of a linear-attention model (merged, separate,
  low-rank): ⟨cos∠(W, I)⟩_β, the ICL error e(⟨W⟩) of the Boltzmann mean and the Gibbs error
  ⟨e(W)⟩_β, both in closed form on fresh tasks (:func:`spinicl.observables.
  population_test_error`), R̂ between chains started at different minima of H, the smallest
  ESS, PT swap rates, and reference columns on the same prompts: the merged exact Gaussian, the
  nuclear-norm minimiser (the β → ∞ limit of the separate model) and Adam-trained models of the
  same architecture with the equivalent weight decay;
* :func:`softmax_measure` — the same for softmax attention, where nothing is in closed form:
  the errors are measured on fresh test prompts, the Boltzmann mean being the posterior-mean
  predictor ⟨ŷ⟩_β (gauge invariant; for linear models it is e(⟨W⟩));
* the sweep cells ``"separate-measure"`` and ``"softmax-measure"`` wrapping them, and the
  resumable sweeps behind the figures ``separate-phase-diagram``, ``separate-vs-merged`` and
  ``softmax-measure``.

Every random stream is a :func:`spinicl._validation.child_seed` of the cell's seed: prompts 0,
chain starts 1, sampler 2, exact draws 3, training 4, test prompts 5.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import as_seed_sequence, check_choice, check_int, check_real, child_seed
from ..diagnostics import mcse_mean
from ..hamiltonian import SpinGlass
from ..observables import contrast_ratio, gibbs_test_error, identity_overlap, population_test_error
from ..prompts import sample_prompts
from ..sweep.cells import Parameter, register_cell

__all__ = ["LINEAR_MODELS", "SAMPLING_METHODS", "weight_measure", "softmax_measure",
           "separate_measure_cell", "softmax_measure_cell", "separate_phase_diagram",
           "separate_vs_merged", "softmax_measure_sweep", "icl_threshold", "ICL_LEVEL"]

# Names of the linear-attention models; "rank-r" (1 <= r <= D) for any r is accepted too.
LINEAR_MODELS = ("merged", "separate", "rank-1")
# The samplers that take a non-quadratic potential and keep every chain's draws.
SAMPLING_METHODS = ("hmc", "mala", "pt", "nuts")
# Two chain starts whose effective W differ by more than this (relative Frobenius) are counted
# as different minima; L-BFGS stops at a gradient entry of 1e-8, far below it.
_DISTINCT = 1e-3
#: The ICL threshold's error level: e(0) = 1, the fresh-task error of predicting ŷ = 0 (unit
#: task and token variances); the threshold is where the Boltzmann mean starts to beat it.
ICL_LEVEL = 1.0
# Adam's learning rate for the trained reference (Li et al., Fig. S1).
_TRAIN_LR = 0.01


def _architecture(model: str, dim: int):
    """The model named ``model``: "merged", "separate" or "rank-r" (1 <= r <= D)."""
    from ..training import MergedLinearAttention, SeparateLinearAttention

    if not isinstance(model, str):
        raise TypeError(f"model must be a string, got {model!r}")
    if model == "merged":
        return MergedLinearAttention(dim, rng=0)
    if model == "separate":
        return SeparateLinearAttention(dim, rng=0)
    head, _, tail = model.partition("-")
    if head == "rank" and tail.isdigit() and 1 <= int(tail) <= dim:
        return SeparateLinearAttention(dim, rank=int(tail), rng=0)
    raise ValueError(f"model must be 'merged', 'separate' or 'rank-r' with 1 <= r <= D = {dim} "
                     f"(a rank-r W = W_Q^T W_K), got {model!r}")


def _minima(H, n_chains: int, seed) -> np.ndarray:
    """One local minimum of H per chain, by L-BFGS from N(0, 1/(D+1)) starts (child c: chain c).

    Different random starts land on different points of the minimum set (the O(r) gauge orbits,
    and any spurious minimum): chains started there measure, through R̂ between them, whether
    the measure's observables depend on the basin.
    """
    from scipy.optimize import minimize

    std = 1.0 / np.sqrt(H.dim + 1)
    starts = np.empty((n_chains, H.n_spins))
    for c in range(n_chains):
        x0 = np.random.default_rng(child_seed(seed, c)).normal(0.0, std, H.n_spins)
        res = minimize(H.energy_gradient, x0, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "gtol": 1e-8, "ftol": 0.0})
        starts[c] = res.x
    return starts


def _distinct_count(W) -> int:
    """Number of clusters among the matrices W (B, m, m) at relative distance > _DISTINCT."""
    scale = max(float(np.max(np.linalg.norm(W, axis=(1, 2)))), 1e-300)
    reps: list[np.ndarray] = []
    for w in W:
        if all(np.linalg.norm(w - r) > _DISTINCT * scale for r in reps):
            reps.append(w)
    return len(reps)


def _sampler_options(method: str, n_replicas: int) -> dict:
    if method == "pt":
        return {"base": "hmc", "n_replicas": n_replicas}
    return {}


def _chain_summary(samples, names) -> dict:
    """Worst R̂ and smallest bulk ESS over the gauge-invariant observables ``names``."""
    stats = [samples.stats(name) for name in names]
    swaps = samples.swap_acceptance
    return {"r_hat": float(max(s.R_hat for s in stats)),
            "min_ess": float(min(s.ess_bulk for s in stats)),
            "acceptance": float(np.mean(samples.acceptance_rate)),
            "swap_min": float(np.min(swaps)) if swaps is not None else np.nan,
            "swap_mean": float(np.mean(swaps)) if swaps is not None else np.nan,
            "diverged_chains": float(np.sum(samples.diverged))}


def _trained_reference(architecture, prompts, *, l2, steps, seed):
    """The architecture, freshly initialised, trained by full-batch Adam with decay 2λ0.

    Coupled decay wd on the MSE without ½ has the stationary points of H with λ0 = wd/2
    (:func:`spinicl.training.equivalent_l2`), so this is the β → ∞ reference that training
    reaches from a random start (Li et al.'s Fig. S1 uses Adam, lr 0.01).
    """
    from ..training import train

    fresh = type(architecture)(architecture.dim, rng=seed, **_extra_options(architecture))
    return train(fresh, prompts, optimizer="adam", lr=_TRAIN_LR, steps=steps,
                 weight_decay=2.0 * l2, rng=seed, progress=False).model


def _extra_options(architecture) -> dict:
    if getattr(architecture, "name", None) == "separate":
        return {"rank": architecture.rank}
    if getattr(architecture, "name", None) == "softmax":
        return {"head_dim": architecture.head_dim}
    return {}


def _check_sampling(*, beta, l2, method, n_chains, n_draws, n_warmup, n_replicas):
    """The sampling options both measure cells share, validated (n_replicas only for PT)."""
    beta = check_real("beta", beta, minimum=0.0, strict_min=True)
    l2 = check_real("l2", l2, minimum=0.0, strict_min=True)
    check_choice("method", method, SAMPLING_METHODS)
    n_chains = check_int("n_chains", n_chains, minimum=2)
    n_draws = check_int("n_draws", n_draws, minimum=4)
    n_warmup = check_int("n_warmup", n_warmup, minimum=0)
    n_replicas = check_int("n_replicas", n_replicas, minimum=2)
    if method != "pt" and n_replicas != 6:
        raise ValueError(f"n_replicas={n_replicas} applies only to method='pt', not {method!r}")
    return beta, l2, n_chains, n_draws, n_warmup, n_replicas


def weight_measure(prompts, *, model: str = "separate", beta: float,
                   l2: float = 1e-2, method: str = "hmc", n_chains: int = 4,
                   n_draws: int = 400, n_warmup: int = 400, n_replicas: int = 6,
                   train_steps: int = 0, rng=None) -> dict:
    """The ICL observables of exp(−βH) over a linear-attention model's weights, one disorder.

    Parameters
    ----------
    prompts : Prompts
        The training prompts (the quenched disorder).
    model : {"merged", "separate", "rank-r"}
        The weights sampled: W, or W_Q and W_K with W = W_Qᵀ W_K ((D+1) rows each, or r rows
        for ``"rank-r"``, 1 <= r <= D).
    beta : float
        β > 0.
    l2 : float
        λ0 > 0 on every weight (the measure of separate factors is improper at λ0 = 0).
    method : {"hmc", "mala", "pt", "nuts"}
        The sampler; ``"pt"`` runs ``n_replicas`` HMC replicas on a geometric ladder β/10 … β and
        reports swap rates. ``"nuts"`` needs a sampler that takes a potential.
    n_chains, n_draws, n_warmup : int
        Chains (each started at its own minimum of H, found by L-BFGS from its own random
        start), draws kept and warm-up iterations per chain.
    n_replicas : int
        PT replicas (>= 2); an error with another method unless left at its default.
    train_steps : int
        Adam steps of the trained reference (0: no trained columns, NaN).
    rng : int, SeedSequence or Generator

    Returns
    -------
    dict of float
        ``thermal_contrast_ratio`` ⟨cos∠(W, I)⟩_β (and ``_mcse``), ``contrast_ratio`` and
        ``identity_overlap`` of ⟨W⟩, ``icl_error`` e(⟨W⟩), ``gibbs_error`` ⟨e(W)⟩_β (and
        ``_mcse``), ``mean_energy``; ``r_hat`` (worst over energy, cos∠ and e between the chains),
        ``min_ess``, ``acceptance``, ``swap_min``/``swap_mean`` (PT), ``diverged_chains``;
        ``n_minima`` (distinct effective W among the chains' starting minima) and
        ``minima_energy_spread``; ``nuclear_*`` (the β → ∞ limit W*: ``icl_error``,
        ``contrast_ratio``, ``rank``, ``distance`` = max|⟨W⟩ − W*|), ``mean_w_mcse`` (the largest
        MCSE of an entry of ⟨W⟩); ``exact_*`` (the merged Gaussian on the same prompts:
        ``icl_error``, ``gibbs_error``, ``contrast_ratio``, ``thermal_contrast_ratio`` and its
        ``_se`` from as many i.i.d. draws); ``trained_*`` (``icl_error``, ``contrast_ratio``).
        The keys ``mean_w`` and ``nuclear_w`` hold the (D+1)×(D+1) matrices.
    """
    from ..samplers import sample
    from ..training import ModelHamiltonian, nuclear_norm_minimiser

    beta, l2, n_chains, n_draws, n_warmup, n_replicas = _check_sampling(
        beta=beta, l2=l2, method=method, n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
        n_replicas=n_replicas)
    train_steps = check_int("train_steps", train_steps, minimum=0)
    dim, N = prompts.dim, prompts.context_length
    architecture = _architecture(model, dim)
    root = as_seed_sequence(rng)
    H = ModelHamiltonian(architecture, prompts, l2=l2)

    starts = _minima(H, n_chains, child_seed(root, 1))
    start_W = H.merged_weights(starts)

    def cos_angle(X):
        return contrast_ratio(H.merged_weights(X), undefined="nan")

    def icl(X):
        return population_test_error(H.merged_weights(X), N)

    samples = sample(H, beta, method=method, n_chains=n_chains, n_draws=n_draws,
                     n_warmup=n_warmup, rng=child_seed(root, 2), progress=False, init=starts,
                     observables={"cos_angle": cos_angle, "icl": icl}, keep_draws=True,
                     **_sampler_options(method, n_replicas))
    good = ~np.asarray(samples.diverged, dtype=bool)
    m = dim + 1
    W_chains = H.merged_weights(samples.draws[good].reshape(-1, H.n_spins)).reshape(
        int(good.sum()), n_draws, m, m)
    mean_W = W_chains.mean(axis=(0, 1))
    entry_mcse = max(mcse_mean(W_chains[:, :, i, j]) for i in range(m) for j in range(m))
    thermal = samples.stats("cos_angle")
    gibbs = samples.stats("icl")
    out = {"thermal_contrast_ratio": thermal.mean,
           "thermal_contrast_ratio_mcse": thermal.error_of_mean,
           "contrast_ratio": contrast_ratio(mean_W, undefined="nan"),
           "identity_overlap": identity_overlap(mean_W),
           "icl_error": population_test_error(mean_W, N),
           "gibbs_error": gibbs.mean, "gibbs_error_mcse": gibbs.error_of_mean,
           "mean_energy": samples.stats("energy").mean,
           **_chain_summary(samples, ("energy", "cos_angle", "icl")),
           "n_minima": float(_distinct_count(start_W)),
           "minima_energy_spread": float(np.ptp(H.energy(starts))),
           "mean_w_mcse": float(entry_mcse)}

    nuclear = nuclear_norm_minimiser(prompts, l2=l2)
    out.update(nuclear_icl_error=population_test_error(nuclear.W, N),
               nuclear_contrast_ratio=contrast_ratio(nuclear.W, undefined="nan"),
               nuclear_rank=float(nuclear.rank),
               nuclear_distance=float(np.max(np.abs(mean_W - nuclear.W))))

    glass = SpinGlass.from_prompts(prompts, l2=l2)
    measure = glass.boltzmann(beta)
    exact_draws = measure.sample(n_chains * n_draws, rng=child_seed(root, 3))
    exact_cos = contrast_ratio(exact_draws.reshape(-1, m, m), undefined="nan")
    out.update(exact_icl_error=population_test_error(measure.mean_weights, N),
               exact_gibbs_error=gibbs_test_error(measure, context_length=N),
               exact_contrast_ratio=contrast_ratio(measure.mean_weights, undefined="nan"),
               exact_thermal_contrast_ratio=float(np.mean(exact_cos)),
               exact_thermal_contrast_ratio_se=float(np.std(exact_cos, ddof=1)
                                                     / np.sqrt(exact_cos.size)))
    if train_steps:
        trained = _trained_reference(architecture, prompts, l2=l2, steps=train_steps,
                                     seed=child_seed(root, 4)).merged_weights()
        out.update(trained_icl_error=population_test_error(trained, N),
                   trained_contrast_ratio=contrast_ratio(trained, undefined="nan"))
    else:
        out.update(trained_icl_error=np.nan, trained_contrast_ratio=np.nan)
    out = {k: float(v) for k, v in out.items()}
    out["mean_w"] = mean_W
    out["nuclear_w"] = nuclear.W
    return out


def softmax_measure(prompts, *, beta: float, l2: float = 1e-2, head_dim: int = 0,
                    method: str = "hmc", n_chains: int = 4, n_draws: int = 400,
                    n_warmup: int = 400, n_replicas: int = 6, n_test: int = 500,
                    n_predict: int = 200, train_steps: int = 0, rng=None) -> dict:
    """ICL errors of the Boltzmann measure over one softmax-attention head, one disorder.

    Parameters
    ----------
    prompts : Prompts
        The training prompts.
    beta, l2, method, n_chains, n_draws, n_warmup, n_replicas, train_steps, rng
        As in :func:`weight_measure` (chains start at L-BFGS minima of H; training is Adam with
        decay 2λ0).
    head_dim : int
        d_k of W_Q, W_K (0: D+1, the model's default).
    n_test : int
        Fresh-task test prompts (child 5 of the seed) on which every error is measured.
    n_predict : int
        Draws (evenly thinned over all chains) whose test predictions are averaged into the
        posterior-mean predictor ⟨ŷ⟩_β.

    Returns
    -------
    dict of float
        ``icl_error`` (test MSE of ⟨ŷ⟩_β), ``gibbs_error`` ⟨test MSE of ŷ_θ⟩_β (and ``_mcse``),
        ``train_loss`` ⟨L(θ)⟩_β, ``r_hat``, ``min_ess``, ``acceptance``, ``swap_min``,
        ``swap_mean``, ``diverged_chains``, ``n_minima`` (distinct test-prediction vectors among
        the starting minima; the gauge makes parameters useless for this),
        ``minima_energy_spread``, ``minimum_icl_error`` (test MSE at the lowest start: the
        β → ∞ limit as far as L-BFGS finds it), ``trained_icl_error`` and the merged Gaussian on
        the same prompts ``exact_icl_error``, ``exact_gibbs_error``.
    """
    from ..samplers import sample
    from ..training import ModelHamiltonian, SoftmaxAttention

    beta, l2, n_chains, n_draws, n_warmup, n_replicas = _check_sampling(
        beta=beta, l2=l2, method=method, n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
        n_replicas=n_replicas)
    head_dim = check_int("head_dim", head_dim, minimum=0)
    n_test = check_int("n_test", n_test, minimum=1)
    n_predict = check_int("n_predict", n_predict, minimum=2)
    train_steps = check_int("train_steps", train_steps, minimum=0)
    root = as_seed_sequence(rng)
    dim = prompts.dim
    architecture = SoftmaxAttention(dim, head_dim=head_dim or None, rng=0)
    H = ModelHamiltonian(architecture, prompts, l2=l2)
    test = prompts.fresh_test(n_test, rng=child_seed(root, 5))
    # ½ test MSE with no regulariser is a ModelHamiltonian on the test prompts: batched over walkers
    H_test = ModelHamiltonian(architecture, test, l2=0.0)

    def test_mse(X):
        return 2.0 * H_test.energy(X)

    starts = _minima(H, n_chains, child_seed(root, 1))
    start_pred = np.stack([H.model_at(x).predict(test) for x in starts])
    scale = max(float(np.max(np.linalg.norm(start_pred, axis=1))), 1e-300)
    reps: list[np.ndarray] = []
    for p in start_pred:
        if all(np.linalg.norm(p - r) > _DISTINCT * scale for r in reps):
            reps.append(p)
    start_E = H.energy(starts)

    samples = sample(H, beta, method=method, n_chains=n_chains, n_draws=n_draws,
                     n_warmup=n_warmup, rng=child_seed(root, 2), progress=False, init=starts,
                     observables={"test_mse": test_mse}, keep_draws=True,
                     **_sampler_options(method, n_replicas))
    good = ~np.asarray(samples.diverged, dtype=bool)
    flat = samples.draws[good].reshape(-1, H.n_spins)
    pick = np.unique(np.linspace(0, flat.shape[0] - 1, n_predict).astype(int))
    mean_pred = np.mean([H.model_at(x).predict(test) for x in flat[pick]], axis=0)
    gibbs = samples.stats("test_mse")
    energy = samples.stats("energy")
    reg = 0.5 * l2 * float(np.mean(np.sum(flat**2, axis=1)))
    out = {"icl_error": float(np.mean((mean_pred - test.targets) ** 2)),
           "gibbs_error": gibbs.mean, "gibbs_error_mcse": gibbs.error_of_mean,
           "train_loss": 2.0 * (energy.mean - reg),
           **_chain_summary(samples, ("energy", "test_mse")),
           "n_minima": float(len(reps)), "minima_energy_spread": float(np.ptp(start_E)),
           "minimum_icl_error": float(test_mse(starts[int(np.argmin(start_E))]))}
    glass = SpinGlass.from_prompts(prompts, l2=l2)
    measure = glass.boltzmann(beta)
    out.update(exact_icl_error=population_test_error(measure.mean_weights,
                                                     prompts.context_length),
               exact_gibbs_error=gibbs_test_error(measure,
                                                  context_length=prompts.context_length))
    if train_steps:
        trained = _trained_reference(architecture, prompts, l2=l2, steps=train_steps,
                                     seed=child_seed(root, 4))
        out["trained_icl_error"] = float(np.mean((trained.predict(test) - test.targets) ** 2))
    else:
        out["trained_icl_error"] = np.nan
    return {k: float(v) for k, v in out.items()}


# ---------------------------------------------------------------------- sweep cells
_SIZE = Parameter(int, minimum=1)
_COUNT = Parameter(int, minimum=0)
_CHAINS = Parameter(int, minimum=2)
_DRAWS = Parameter(int, minimum=4)
_POSITIVE = Parameter(float, minimum=0.0, strict_min=True)
_SAMPLING = dict(beta=_POSITIVE, l2=_POSITIVE, method=Parameter(str, choices=SAMPLING_METHODS),
                 n_chains=_CHAINS, n_draws=_DRAWS, n_warmup=_COUNT,
                 n_replicas=Parameter(int, minimum=2), train_steps=_COUNT)


@register_cell("separate-measure",
               description="Boltzmann measure of merged/separate/low-rank attention weights: "
                           "cos∠(W, I), ICL and Gibbs errors, R̂ between minima, PT swaps, "
                           "beside the exact Gaussian, the nuclear-norm limit and training",
               parameters=dict(_SAMPLING, dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE,
                               model=Parameter(str)))
def separate_measure_cell(*, dim, context_length, n_prompts, beta, model="separate",
                          l2=1e-2, method="hmc", n_chains=4, n_draws=400, n_warmup=400,
                          n_replicas=6, train_steps=0, rng=None):
    """:func:`weight_measure` on P fresh prompts (child 0 of the seed); scalars only."""
    root = as_seed_sequence(rng)
    prompts = sample_prompts(int(dim), int(context_length), int(n_prompts),
                             rng=child_seed(root, 0))
    out = weight_measure(prompts, model=model, beta=beta, l2=l2, method=method,
                         n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
                         n_replicas=n_replicas, train_steps=train_steps, rng=root)
    return {k: v for k, v in out.items() if np.ndim(v) == 0}


@register_cell("softmax-measure",
               description="Boltzmann measure of one softmax-attention head: ICL error of the "
                           "posterior-mean predictor and the Gibbs error, beside training",
               parameters=dict(_SAMPLING, dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE,
                               head_dim=_COUNT, n_test=_SIZE,
                               n_predict=Parameter(int, minimum=2)))
def softmax_measure_cell(*, dim, context_length, n_prompts, beta, l2=1e-2, head_dim=0,
                         method="hmc", n_chains=4, n_draws=400, n_warmup=400, n_replicas=6,
                         n_test=500, n_predict=200, train_steps=0, rng=None):
    """:func:`softmax_measure` on P fresh prompts (child 0 of the seed)."""
    root = as_seed_sequence(rng)
    prompts = sample_prompts(int(dim), int(context_length), int(n_prompts),
                             rng=child_seed(root, 0))
    return softmax_measure(prompts, beta=beta, l2=l2, head_dim=head_dim, method=method,
                           n_chains=n_chains, n_draws=n_draws, n_warmup=n_warmup,
                           n_replicas=n_replicas, n_test=n_test, n_predict=n_predict,
                           train_steps=train_steps, rng=root)


# ---------------------------------------------------------------------- the figures' sweeps
def _counts(taus, dim):
    return np.unique(np.maximum(1, np.rint(np.asarray(taus) * dim**2))).astype(int)


def separate_phase_diagram(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                           dims=None, rank: int | None = None, l2: float = 1e-2,
                           method: str = "pt", executor: str = "process", workers=None) -> dict:
    """The separate and rank-r measures over (P/D², β), one sweep per D (N = 2D).

    Parameters
    ----------
    out_dir : path
        The sweeps run in ``out_dir/separate-phase-sweep/D<d>-<model>`` (resumable).
    quick : bool
        D = 3 on a 3 × 2 grid, short chains (else D ∈ {5, 10} on 8 × 5 and 6 × 4 grids).
    rng : int or SeedSequence
    dims : sequence of int, optional
    rank : int, optional
        The low-rank model's r (default 1).
    l2 : float
        λ0 > 0.
    method : str
        The sampler (default ``"pt"``, which reports swap rates).
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.

    Returns
    -------
    dict
        ``dims``, ``rank``, ``l2`` and ``results`` {D: {model: SweepResult over (n_prompts,
        beta, repeat)}} for the models "separate" and "rank-r". Every model sees the same
        prompts in a cell (one master seed), so the merged exact columns are shared.
    """
    from ._sweep_runner import run_cells, sweep_seed

    dims = tuple(dims) if dims is not None else ((3,) if quick else (5, 10))
    rank = 1 if rank is None else check_int("rank", rank, minimum=1)
    results = {}
    for dim in dims:
        dim = check_int("dims", dim, minimum=max(2, rank))
        small = quick or dim <= 5
        taus = (np.array([0.4, 1.5, 3.0]) if quick else
                np.array([0.2, 0.5, 0.8, 1.0, 1.2, 1.6, 2.2, 3.0]) if small else
                np.array([0.3, 0.8, 1.1, 1.5, 2.2, 3.0]))
        betas = (np.array([10.0, 1000.0]) if quick else
                 np.geomspace(1.0, 1e4, 5) if small else np.geomspace(1.0, 1e3, 4))
        results[dim] = {}
        for model in ("separate", f"rank-{rank}"):
            results[dim][model] = run_cells(
                kind="separate-measure", name=f"separate-phase-D{dim}-{model}",
                rng=sweep_seed(rng), axes={"n_prompts": _counts(taus, dim), "beta": betas},
                parameters={"dim": dim, "context_length": 2 * dim, "l2": l2, "method": method,
                            "model": model, "n_chains": 4, "n_draws": 100 if quick else 300,
                            "n_warmup": 100 if quick else 300},
                repeats=1, store=Path(out_dir) / "separate-phase-sweep" / f"D{dim}-{model}",
                executor=executor, workers=workers, progress=progress)
    return {"dims": dims, "rank": rank, "l2": l2, "results": results}


def separate_vs_merged(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                       dim: int | None = None, rank: int | None = None, l2: float = 1e-2,
                       beta: float = 100.0, method: str = "hmc", repeats: int | None = None,
                       train_steps: int | None = None, executor: str = "process",
                       workers=None):
    """ICL error against P/D² for merged, separate and rank-r measures, with trained models.

    Parameters
    ----------
    out_dir : path
        The sweeps run in ``out_dir/separate-vs-merged-sweep/<model>`` (resumable).
    quick : bool
        D = 3, 3 task diversities, 2 repeats, short chains (else D = 10, 10 × 4 repeats).
    rng : int or SeedSequence
    dim, rank, l2, beta, method, repeats, train_steps : optional
        D, the low-rank r (default 1), λ0, β, the sampler, disorder draws, Adam steps.
    executor, workers
        See :func:`spinicl.sweep.run_sweep`.

    Returns
    -------
    dict
        {model: SweepResult over (n_prompts, repeat)} for "merged", "separate" and "rank-r";
        the models share the master seed, so a cell's prompts, and its exact merged Gaussian
        and nuclear-norm columns, are the same for every model.
    """
    from ._sweep_runner import run_cells

    dim = check_int("dim", dim if dim is not None else (3 if quick else 10), minimum=2)
    rank = 1 if rank is None else check_int("rank", rank, minimum=1, maximum=dim)
    taus = (np.array([0.4, 1.5, 3.0]) if quick else
            np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.1, 1.3, 1.6, 2.2, 3.0]))
    results = {}
    for model in ("merged", "separate", f"rank-{rank}"):
        results[model] = run_cells(
            kind="separate-measure", name=f"separate-vs-merged-{model}", rng=rng,
            axes={"n_prompts": _counts(taus, dim)},
            parameters={"dim": dim, "context_length": 2 * dim, "l2": l2, "beta": beta,
                        "model": model, "method": method, "n_chains": 4,
                        "n_draws": 100 if quick else 300, "n_warmup": 100 if quick else 300,
                        "train_steps": train_steps or (200 if quick else 3000)},
            repeats=repeats or (2 if quick else 4),
            store=Path(out_dir) / "separate-vs-merged-sweep" / model, executor=executor,
            workers=workers, progress=progress)
    return results


def softmax_measure_sweep(out_dir, *, quick: bool = False, rng=0, progress: bool = True,
                          dim: int | None = None, l2: float = 1e-2, beta: float = 100.0,
                          method: str = "hmc", repeats: int | None = None,
                          train_steps: int | None = None, executor: str = "process",
                          workers=None):
    """Softmax attention's Boltzmann ICL errors against P/D² (N = 2D), with training.

    Parameters
    ----------
    out_dir : path
        The sweep runs in ``out_dir/softmax-measure-sweep`` (resumable).
    quick : bool
        D = 2, 3 task diversities, 1 repeat (else D = 3, 7 × 3 repeats).
    rng, dim, l2, beta, method, repeats, train_steps, executor, workers
        As in :func:`separate_vs_merged`.

    Returns
    -------
    SweepResult
        Over (n_prompts, repeat).
    """
    from ._sweep_runner import run_cells

    dim = check_int("dim", dim if dim is not None else (2 if quick else 3), minimum=1)
    taus = np.array([0.5, 1.5, 3.0]) if quick else np.array([0.3, 0.6, 1.0, 1.5, 2.2, 3.0, 5.0])
    return run_cells(
        kind="softmax-measure", name="softmax-measure", rng=rng,
        axes={"n_prompts": _counts(taus, dim)},
        parameters={"dim": dim, "context_length": 2 * dim, "l2": l2, "beta": beta,
                    "method": method, "n_chains": 4, "n_draws": 100 if quick else 300,
                    "n_warmup": 100 if quick else 300, "n_test": 200 if quick else 1000,
                    "n_predict": 50 if quick else 200,
                    "train_steps": train_steps or (300 if quick else 3000)},
        repeats=repeats or (1 if quick else 3),
        store=Path(out_dir) / "softmax-measure-sweep", executor=executor, workers=workers,
        progress=progress)


def icl_threshold(task_diversity, errors, *, level: float) -> np.ndarray:
    """The task diversity P/D² from which the ICL error stays below ``level``, per curve.

    Parameters
    ----------
    task_diversity : array (T,)
        Increasing P/D² values.
    errors : array (T,) or (T, R)
        ICL errors at those values (R curves, e.g. repeats, in the columns).
    level : float
        The error level (> 0).

    Returns
    -------
    ndarray (R,) or float
        Linear interpolation between the last point above ``level`` and the next one; the
        first value when every point is below, NaN when the last point is above it or a
        curve has a NaN.
    """
    tau = np.asarray(task_diversity, dtype=float)
    level = check_real("level", level, minimum=0.0, strict_min=True)
    if tau.ndim != 1 or tau.size < 2 or np.any(np.diff(tau) <= 0):
        raise ValueError("task_diversity must be an increasing 1-D array of at least 2 values")
    E = np.asarray(errors, dtype=float)
    single = E.ndim == 1
    E = E.reshape(tau.size, -1)
    out = np.full(E.shape[1], np.nan)
    for r in range(E.shape[1]):
        e = E[:, r]
        if np.isnan(e).any() or e[-1] > level:
            continue
        above = np.flatnonzero(e > level)
        if above.size == 0:
            out[r] = tau[0]
            continue
        i = above[-1]
        out[r] = tau[i] + (e[i] - level) / (e[i] - e[i + 1]) * (tau[i + 1] - tau[i])
    return float(out[0]) if single else out
