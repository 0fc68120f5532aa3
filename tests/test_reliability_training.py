"""``converged`` from train() means a stated criterion was met, never just "all steps ran"."""
import numpy as np
import pytest

import spinicl
from spinicl.training import MergedLinearAttention, equivalent_l2, train


@pytest.fixture(scope="module")
def prompts():
    # The CLI's default problem (D = 10, N = 100, P = 1000): P ≫ (D+1)² = 121, so the merged
    # model's loss is a well-conditioned convex quadratic with a unique minimiser.
    return spinicl.sample_prompts(10, 100, 1000, rng=1)


def test_three_steps_far_from_the_minimum_are_not_converged(prompts):
    result = train("merged", prompts, lr=1e-2, steps=3, rng=2, progress=False)
    assert not result.diverged and result.n_iter == 3
    assert result.final_grad_norm > 1.0  # the bug: converged=True at a gradient norm of ~2
    assert not result.converged
    assert result.message.startswith("not converged after 3 steps: final gradient norm")
    assert "rtol 1e-06 x initial gradient norm" in result.message
    assert "(the default criterion)" in result.message


def test_a_run_that_reaches_the_minimiser_is_converged_and_says_why(prompts):
    wd = 0.01  # coupled decay: strictly convex, also along the dead spins (λ0 = wd/2 > 0)
    result = train("merged", prompts, lr=1e-2, steps=1000, weight_decay=wd, rng=2,
                   progress=False)
    g0, g = result.history.grad_norm[0], result.final_grad_norm
    assert result.converged and g <= 1e-6 * g0
    assert result.message == (f"converged after 1000 steps: final gradient norm {g:.3g} <= "
                              f"rtol 1e-06 x initial gradient norm {g0:.3g} "
                              "(the default criterion)")
    # and converged means what it claims: the weights are certified close to the exact
    # minimiser A⁻¹h at λ0 = wd/2, ‖W − A⁻¹h‖ <= ‖∇H‖/λ_min(A) with ∇L + wd·W = 2∇H
    glass = spinicl.SpinGlass.from_prompts(prompts, l2=equivalent_l2(wd))
    minimiser = glass.boltzmann(1.0).mean.reshape(11, 11)
    bound = g / 2 / np.linalg.eigvalsh(glass.hessian())[0]
    assert np.linalg.norm(result.mean_weights - minimiser) <= bound * (1 + 1e-9)
    assert bound < 1e-3 * np.linalg.norm(minimiser)


def test_stated_tolerances_decide(prompts):
    short = dict(lr=1e-2, steps=30, rng=2, progress=False)
    first = train(MergedLinearAttention(10, rng=0), prompts, **short)
    g = first.final_grad_norm
    assert not first.converged and g > 1e-3
    # an absolute tol just above the final gradient norm is met, and named
    loose = train(MergedLinearAttention(10, rng=0), prompts, tol=1.01 * g, **short)
    assert loose.converged and loose.final_grad_norm == g
    assert loose.message == (f"converged after 30 steps: final gradient norm {g:.3g} <= "
                             f"tol {1.01 * g:g}")
    # one just below is missed, with the threshold and the numbers in the message
    tight = train(MergedLinearAttention(10, rng=0), prompts, tol=0.99 * g, **short)
    assert not tight.converged
    assert f"> {0.99 * g:.3g} = tol {0.99 * g:g}" in tight.message
    # tol and rtol together: either one suffices
    g0 = first.history.grad_norm[0]
    both = train(MergedLinearAttention(10, rng=0), prompts, tol=1e-12, rtol=1.01 * g / g0,
                 **short)
    assert both.converged and "rtol" in both.message and "default" not in both.message
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match="rtol"):
            train("merged", prompts, rtol=bad, **short)


def test_a_diverged_run_is_not_converged(prompts):
    with pytest.warns(RuntimeWarning, match="diverged"):
        result = train("merged", prompts, optimizer="sgd", lr=1e3, steps=50, rng=2,
                       progress=False, tol=1e30)
    assert result.diverged and not result.converged


def test_concept_training_message_states_the_verdict_and_criterion():
    from spinicl.concepts.train import default_setup, train_concepts

    _, sampler, model = default_setup(dim=32, n_concepts=3, context_length=8)
    short = train_concepts(model, sampler, steps=5, log_every=5, n_test=500, rng=0,
                           progress=False)
    err, floor = short.series("test.error")[-1], short.floors["test"]
    assert not short.converged and err > floor + 0.01  # 5 SGD steps stay near chance
    assert short.message == (f"not converged after 5 steps: final test error {err:.4g} > floor "
                             f"{floor:.4g} + tolerance 0.01")
