"""The S6 identity equations of Li, Bai & Huang (2024): Adam finds the unique correct solution.

The merged-attention prediction is exact for a task w when (W₁₁ + w W₂₁/√D) C = I, with C = XXᵀ/N
the context covariance shared by the tasks (W₁₁ the top D×D block of W, W₂₁ the last row). Two
different tasks force W₂₁ = 0, and then W₁₁ = C⁻¹: the solution is unique, at distance
MSE(C⁻¹, I) from the identity.

The repeats run as one batch: the loss and its gradient only involve Σ_μ w_μ and Σ_μ |w_μ|², so
a step costs O(D³) per repeat, and :class:`spinicl.training.optimizers.Adam` updates all repeats
element-wise, which is the same as independent optimisers.
"""
from __future__ import annotations

import numpy as np

from .._progress import progress_bar
from .._validation import as_seed_sequence, check_int, check_real
from ..training.optimizers import Adam

__all__ = ["solve_identity_equations"]


def _loss_and_grads(W11, W21, C, task_sum, task_sq, n_tasks):
    """Mean of (A_μ C − I)² over (μ, a, b), A_μ = W11 + w_μ W21/√D, and its gradients (batched)."""
    R, D, _ = W11.shape
    eye = np.eye(D)
    root = np.sqrt(D)
    # Σ_μ A_μ = P W11 + (Σw) W21/√D ;  Σ_μ w_μᵀ A_μ = (Σw)ᵀ W11 + (Σ|w|²) W21/√D
    sum_A = n_tasks * W11 + task_sum[:, :, None] * W21 / root
    wA = np.einsum("ra,rab->rb", task_sum, W11)[:, None, :] + task_sq[:, None, None] * W21 / root
    scale = 2.0 / (n_tasks * D * D)
    g11 = scale * (sum_A @ C - n_tasks * eye) @ C
    g21 = scale * (wA @ C - task_sum[:, None, :]) @ C / root
    # Σ_μ |A_μ C − I|² = tr(C (Σ A_μᵀA_μ) C) − 2 tr((Σ A_μ) C) + P D
    cross = np.einsum("rab,ra,rc->rbc", W11, task_sum, W21[:, 0, :]) / root
    gram = (n_tasks * np.swapaxes(W11, 1, 2) @ W11 + cross + np.swapaxes(cross, 1, 2)
            + task_sq[:, None, None] * np.swapaxes(W21, 1, 2) @ W21 / D)
    total = (np.einsum("rab,rbc,rca->r", C, gram, C) - 2 * np.einsum("rab,rba->r", sum_A, C)
             + n_tasks * D)
    return total / (n_tasks * D * D), g11, g21


def solve_identity_equations(dim: int = 10, context_length: int = 50, n_tasks: int = 10, *,
                             repeats: int = 5000, steps: int = 1000, lr: float = 1e-2,
                             record_every: int = 10, rng=None, progress: bool = False) -> dict:
    """Adam on the S6 equations for ``repeats`` independent (C, tasks, initialisation) draws.

    Returns a dict with the distance MSE(W₁₁, I) + MSE(W₂₁, 0) over the recorded steps
    (``distance``, shape (n_records, repeats)), the loss, the final weights and the exact
    distance of the unique solution, MSE(C⁻¹, I).
    """
    D = check_int("dim", dim, minimum=1)
    N = check_int("context_length", context_length, minimum=1)
    P = check_int("n_tasks", n_tasks, minimum=2)
    R = check_int("repeats", repeats, minimum=1)
    steps = check_int("steps", steps, minimum=1)
    record_every = check_int("record_every", record_every, minimum=1)
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    gen = np.random.default_rng(as_seed_sequence(rng))
    X = gen.standard_normal((R, D, N))
    C = X @ np.swapaxes(X, 1, 2) / N
    tasks = gen.standard_normal((R, P, D))
    task_sum, task_sq = tasks.sum(axis=1), np.sum(tasks**2, axis=(1, 2))
    params = {"W11": gen.standard_normal((R, D, D)), "W21": gen.standard_normal((R, 1, D))}
    opt = Adam(lr=lr)
    eye = np.eye(D)

    def distance():
        return (np.mean((params["W11"] - eye) ** 2, axis=(1, 2))
                + np.mean(params["W21"] ** 2, axis=(1, 2)))

    recorded_steps, dist, loss = [], [], []
    with progress_bar(total=steps, desc="figS6 Adam", enabled=progress) as bar:
        for step in range(steps + 1):
            value, g11, g21 = _loss_and_grads(params["W11"], params["W21"], C, task_sum,
                                              task_sq, P)
            if step % record_every == 0 or step == steps:
                recorded_steps.append(step)
                dist.append(distance())
                loss.append(value)
            if step == steps:
                break
            opt.step(params, {"W11": g11, "W21": g21})
            bar.update(1)
    exact = np.mean((np.linalg.inv(C) - eye) ** 2, axis=(1, 2))
    return {"steps": np.array(recorded_steps), "distance": np.array(dist), "loss": np.array(loss),
            "W11": params["W11"], "W21": params["W21"], "exact_distance": exact}
