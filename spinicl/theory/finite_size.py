"""Exact finite-size counterparts of the theory's observables, from the package's exact measure.

For a theory point (α, τ, κ, ρ, λ, β̂) and a dimension D, :func:`exact_observables` draws
P = round(τD²) prompts with N = round(αD) context tokens (k = round(κD) pool tasks, label-noise
std √ρ), builds the spin glass with λ0 = λ/D, takes its exact Boltzmann measure at β = β̂D², and
evaluates every observable exactly (population errors in closed form, no Monte Carlo):

* ``icl_error`` — :func:`spinicl.observables.population_test_error` of the mean;
* ``gibbs_error`` — the thermal average, e(m) + Σ_i Q_ii Var σ_i (the fresh-task error form Q is
  diagonal);
* ``idg_error`` — :func:`pool_test_error`: the exact expected error of the mean on fresh tokens
  for tasks of the training pool (every training task when κ = ∞);
* ``identity_overlap``, ``norm``, ``train_error``, ``ground_state_energy``;
* ``free_energy``, ``internal_energy``, ``entropy`` — in the theory's units: F − (n/2β) ln D and
  (S + (n/2) ln D)/D² (spins in thermal units φ = √D σ, see ``docs/theory.md`` §5).

``features="lu"`` divides the last-row features by √D (Lu et al.'s scaling, §8b of the notes):
the same weights read in the paper's units then carry a last row √D times smaller.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_seed_sequence, check_choice, check_finite_array, check_int, check_real
from ..hamiltonian import SpinGlass
from ..observables import identity_overlap, norm_order_parameter, population_test_error
from ..prompts import sample_prompts

__all__ = ["exact_observables", "pool_test_error", "finite_size_settings", "FEATURE_SCALINGS"]

FEATURE_SCALINGS = ("paper", "lu")


def finite_size_settings(dim, alpha, tau, *, kappa=np.inf, noise=0.0, l2=0.0, beta=np.inf) -> dict:
    """Finite-size settings (N, P, k, label-noise std, λ0, β) nearest to a theory point."""
    dim = check_int("dim", dim, minimum=2)
    alpha = check_real("alpha", alpha, minimum=0.0, strict_min=True)
    tau = check_real("tau", tau, minimum=0.0, strict_min=True)
    kappa = check_real("kappa", kappa, minimum=0.0, strict_min=True, allow_inf=True)
    noise = check_real("noise", noise, minimum=0.0)
    l2 = check_real("l2", l2, minimum=0.0)
    beta = check_real("beta", beta, minimum=0.0, strict_min=True, allow_inf=True)
    return dict(dim=dim, context_length=max(1, int(round(alpha * dim))),
                n_prompts=max(1, int(round(tau * dim * dim))),
                n_tasks=None if np.isinf(kappa) else max(1, int(round(kappa * dim))),
                label_noise=float(np.sqrt(noise)), l2=l2 / dim, beta=beta * dim * dim)


def pool_test_error(W, tasks, context_length: int, *, label_noise: float = 0.0) -> float:
    """Exact expected test error of W on prompts whose task is drawn uniformly from ``tasks``.

    Paper conventions (x ~ N(0, I), y = w·x/√D + ε). With a = w/√D, s² = |a|² + ρ, the
    prediction reads v·x_q with v = W_topᵀc₁ + c₂ w_last, and Gaussian moments give

        e(W; w) = (s²/N)|W_top|² + (1 + 1/N)|W_topᵀa|² + 2s²(1 + 2/N)(W_topᵀa)·w_last
                  + s⁴(1 + 2/N)|w_last|² − 2aᵀW_top a − 2s² a·w_last + |a|² + ρ,

    averaged over the tasks. Averaged over Gaussian tasks it equals
    :func:`~spinicl.observables.population_test_error` (a test checks this).
    """
    W = check_finite_array("W", W, ndim=2)
    D = W.shape[0] - 1
    if W.shape != (D + 1, D + 1):
        raise ValueError(f"W must be square (D+1, D+1), got {W.shape}")
    tasks = check_finite_array("tasks", tasks, shape=(None, D))
    N = check_int("context_length", context_length, minimum=1)
    rho = check_real("label_noise", label_noise, minimum=0.0) ** 2
    top, last = W[:D, :D], W[D, :D]
    a = tasks / np.sqrt(D)
    s2 = np.sum(a**2, axis=1) + rho
    Wa = a @ top                                   # rows: (W_topᵀ a)ᵀ
    err = (s2 / N * np.sum(top**2) + (1 + 1 / N) * np.sum(Wa**2, axis=1)
           + 2 * s2 * (1 + 2 / N) * (Wa @ last) + s2**2 * (1 + 2 / N) * np.sum(last**2)
           - 2 * np.sum(Wa * a, axis=1) - 2 * s2 * (a @ last) + np.sum(a**2, axis=1) + rho)
    return float(np.mean(err))


def _quadratic_coefficients(D, N, label_noise):
    """Diagonal of the fresh-task error form on a top-block and a last-row entry of W."""
    zero = np.zeros((D + 1, D + 1))
    base = population_test_error(zero, N, label_noise=label_noise)
    out = []
    for index in ((0, 1), (D, 0)):
        unit = zero.copy()
        unit[index] = 1.0
        plus = population_test_error(unit, N, label_noise=label_noise)
        minus = population_test_error(-unit, N, label_noise=label_noise)
        out.append(0.5 * (plus + minus) - base)
    return out


def _model(prompts, l2, features):
    if features == "paper":
        return SpinGlass.from_prompts(prompts, l2=l2)
    base = SpinGlass.from_prompts(prompts, l2=l2)
    S = base.feature_matrix().copy()
    m = prompts.dim + 1
    S[:, (m - 1) * m:] /= np.sqrt(prompts.dim)
    P = S.shape[0]
    gram = S.T @ S / P
    return SpinGlass(couplings=-gram, fields=S.T @ prompts.targets / P,
                     self_couplings=l2 + np.diag(gram))


def exact_observables(dim, alpha, tau, *, kappa=np.inf, noise=0.0, l2=0.0, beta=np.inf,
                      repeats: int = 3, features: str = "paper", rng=None) -> dict:
    """Exact observables of ``repeats`` disorder draws at dimension ``dim`` (arrays (repeats,)).

    Parameters are the theory's (λ = Dλ0, β̂ = β/D²). With l2 = 0 the measure is restricted to
    the non-flat subspace (minimum-norm mean; the dead column is always flat then). Each repeat
    uses a child of one SeedSequence.
    """
    check_choice("features", features, FEATURE_SCALINGS)
    repeats = check_int("repeats", repeats, minimum=1)
    cfg = finite_size_settings(dim, alpha, tau, kappa=kappa, noise=noise, l2=l2, beta=beta)
    D, N = cfg["dim"], cfg["context_length"]
    children = as_seed_sequence(rng).spawn(repeats)
    c_top, c_last = _quadratic_coefficients(D, N, cfg["label_noise"])
    keys = ("icl_error", "gibbs_error", "idg_error", "identity_overlap", "norm", "train_error",
            "ground_state_energy", "internal_energy", "free_energy", "entropy")
    out = {k: np.empty(repeats) for k in keys}
    for r, child in enumerate(children):
        prompts = sample_prompts(D, N, cfg["n_prompts"], n_tasks=cfg["n_tasks"],
                                 label_noise=cfg["label_noise"], rng=child)
        model = _model(prompts, cfg["l2"], features)
        finite_beta = np.isfinite(cfg["beta"])
        measure = model.boltzmann(cfg["beta"] if finite_beta else 1.0,
                                  pseudo_inverse=cfg["l2"] == 0)
        W = measure.mean.reshape(D + 1, D + 1).copy()
        if features == "lu":
            W[D] /= np.sqrt(D)
        pool = prompts.task_pool if prompts.task_pool is not None else prompts.tasks
        out["icl_error"][r] = population_test_error(W, N, label_noise=cfg["label_noise"])
        out["idg_error"][r] = pool_test_error(W, pool, N, label_noise=cfg["label_noise"])
        out["identity_overlap"][r] = identity_overlap(W)
        out["norm"][r] = norm_order_parameter(W)
        pred = model.feature_matrix() @ measure.mean if model.is_factored else None
        if pred is None:
            S = SpinGlass.from_prompts(prompts).feature_matrix()
            pred = S @ W.ravel()
        out["train_error"][r] = float(np.mean((pred - prompts.targets) ** 2))
        out["ground_state_energy"][r] = measure.ground_state_energy
        if finite_beta:
            var = measure.variance.reshape(D + 1, D + 1).copy()
            if features == "lu":
                var[D] /= D
            out["gibbs_error"][r] = (out["icl_error"][r] + c_top * var[:D, :D].sum()
                                     + c_last * var[D, :D].sum())
            shift = 0.5 * measure.n_eff / measure.beta * np.log(D)
            out["free_energy"][r] = measure.free_energy - shift
            out["internal_energy"][r] = measure.internal_energy
            out["entropy"][r] = (measure.entropy + 0.5 * measure.n_eff * np.log(D)) / D**2
        else:
            out["gibbs_error"][r] = out["icl_error"][r]
            out["free_energy"][r] = out["internal_energy"][r] = measure.ground_state_energy
            out["entropy"][r] = -np.inf
    out["settings"] = cfg
    return out
