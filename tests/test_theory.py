"""Replica-symmetric theory: resolvents, closed-form limits, thermodynamic identities, solver."""
import numpy as np
import pytest

from spinicl import theory
from spinicl.theory.equations import Parameters, saddle_point_map
from spinicl.theory.resolvent import (SpectralQuadrature, deterministic_log_det, mp_log_potential,
                                      mp_stieltjes, mp_stieltjes_derivative)
from spinicl.theory.solver import iterate

KAPPAS = [0.3, 1.0, 2.5, 1e9, np.inf]


# ---------------------------------------------------------------- resolvent
@pytest.mark.parametrize("kappa", KAPPAS)
def test_stieltjes_transform_matches_quadrature_of_the_mp_density(kappa):
    quad = SpectralQuadrature([kappa], n_nodes=256)
    for z in (0.05, 0.7, 3.0):
        t = quad.nodes
        assert quad.integrate(np.ones_like(t))[0] == pytest.approx(1.0, abs=1e-13)
        assert quad.integrate(t)[0] == pytest.approx(1.0, abs=1e-12)        # unit mean
        if np.isfinite(kappa):                                              # variance 1/κ
            assert quad.integrate((t - 1) ** 2)[0] == pytest.approx(1 / kappa, rel=1e-10)
        assert mp_stieltjes(z, kappa) == pytest.approx(quad.integrate(1 / (t + z))[0], rel=1e-10)
        assert mp_stieltjes_derivative(z, kappa) == pytest.approx(
            -quad.integrate(1 / (t + z) ** 2)[0], rel=1e-9)
        assert mp_log_potential(z, kappa) == pytest.approx(
            quad.integrate(np.log(t + z))[0], abs=1e-10)


@pytest.mark.parametrize("kappa", [0.4, 1.0, 3.0, np.inf])
def test_log_potential_derivative_is_the_stieltjes_transform(kappa):
    z, h = 0.8, 1e-5
    fd = (mp_log_potential(z + h, kappa) - mp_log_potential(z - h, kappa)) / (2 * h)
    assert fd == pytest.approx(mp_stieltjes(z, kappa), rel=1e-8)


def test_deterministic_log_det_matches_a_large_wishart_matrix():
    rng = np.random.default_rng(0)
    p, ratio, z = 600, 1.5, 0.3
    X = rng.standard_normal((int(ratio * p), p))
    sample = X.T @ X / X.shape[0]
    logdet = np.linalg.slogdet(sample + z * np.eye(p))[1] / p
    # finite-p fluctuations of a linear spectral statistic are O(1/p)
    assert logdet == pytest.approx(deterministic_log_det(z, ratio), abs=5.0 / p)


# ---------------------------------------------------------------- closed forms of Lu et al.
@pytest.mark.parametrize("alpha,tau,kappa,noise", [
    (5.0, 0.5, np.inf, 0.0), (5.0, 0.5, 2.0, 0.0), (2.0, 0.3, 0.5, 0.2), (1.0, 0.8, 3.0, 0.5),
    (3.0, 2.0, 1.5, 0.1), (3.0, 4.0, 0.7, 0.0), (5.0, 1.05, np.inf, 0.0), (0.5, 7.0, np.inf, 1.0)])
def test_ridgeless_limit_reproduces_lu_closed_forms(alpha, tau, kappa, noise):
    r = theory.solve_saddle_point(alpha, tau, kappa=kappa, noise=noise)
    assert r.converged and r.n_solutions == 1
    lu = dict(kappa=kappa, noise=noise)
    assert r.icl_error == pytest.approx(theory.lu_icl_error(alpha, tau, **lu), rel=1e-10)
    assert r.idg_error == pytest.approx(theory.lu_idg_error(alpha, tau, **lu), rel=1e-10)


def test_small_ridge_and_low_temperature_approach_the_ridgeless_ground_state():
    for tau in (0.5, 2.0):
        exact = theory.lu_icl_error(5.0, tau)
        r = theory.solve_saddle_point(5.0, tau, l2=1e-9, beta=1e12)
        assert r.icl_error == pytest.approx(exact, rel=1e-7)
        assert r.gibbs_error == pytest.approx(exact, rel=1e-3)


@pytest.mark.parametrize("alpha,tau,l2,kappa,noise", [
    (5.0, 0.5, 1.0, np.inf, 0.0), (5.0, 2.0, 0.1, np.inf, 0.0), (2.0, 0.3, 0.3, 0.5, 0.2),
    (3.0, 2.0, 0.01, 1.5, 0.1)])
def test_ridge_error_matches_lu_ridge_formula(alpha, tau, l2, kappa, noise):
    r = theory.solve_saddle_point(alpha, tau, l2=l2, kappa=kappa, noise=noise)
    lu = theory.lu_icl_error_ridge(alpha, tau, l2, kappa=kappa, noise=noise)
    assert r.icl_error == pytest.approx(lu, rel=1e-10)


def test_reference_numbers_of_the_notes():
    # spin_glass_icl.md §8b table: α = 5, fresh tasks
    assert theory.solve_saddle_point(5.0, 0.5).icl_error == pytest.approx(0.750, abs=5e-4)
    assert theory.solve_saddle_point(5.0, 0.5, l2=1.0).icl_error == pytest.approx(0.697, abs=5e-4)
    assert theory.solve_saddle_point(5.0, 2.0, l2=0.1).icl_error == pytest.approx(0.291, abs=5e-4)
    assert theory.solve_saddle_point(5.0, 2.0).icl_error == pytest.approx(1 / 3, abs=1e-12)


def test_double_descent_peak_at_tau_one_and_large_tau_limit():
    alpha = 5.0
    taus = np.concatenate([np.linspace(0.2, 0.99, 40), np.linspace(1.01, 3.0, 40)])
    s = theory.solve_grid(alpha, taus)
    below, above = s.icl_error[:40], s.icl_error[40:]
    assert np.all(np.diff(below[20:]) > 0) and np.all(np.diff(above[:20]) < 0)
    assert below[-1] > 10 and above[0] > 10
    assert np.isinf(theory.solve_saddle_point(alpha, 1.0).icl_error)
    for alpha in (0.5, 2.0, 5.0):
        assert theory.solve_saddle_point(alpha, 1e8).icl_error == pytest.approx(1 / (1 + alpha),
                                                                                rel=1e-7)
    # the ridge regularises the peak
    assert theory.solve_saddle_point(5.0, 1.0, l2=0.1).icl_error < 1.0


def test_single_instance_in_distribution_error_equals_icl_error():
    s = theory.solve_grid(3.0, [0.4, 1.7, 5.0], l2=[0.0, 0.2, 0.05], noise=0.1, beta=3.0)
    np.testing.assert_allclose(s.idg_error, s.icl_error, rtol=1e-12)
    np.testing.assert_allclose(s.task_gap, 0.0, atol=1e-12)


def test_small_task_pool_memorises():
    r = theory.solve_saddle_point(3.0, 4.0, kappa=0.5, l2=0.01)
    assert r.idg_error < r.icl_error and r.task_gap > 0.1
    big = theory.solve_saddle_point(3.0, 4.0, kappa=100.0, l2=0.01)
    assert big.task_gap < r.task_gap


def test_icl_error_is_the_fresh_task_form_of_the_order_parameters():
    r = theory.solve_saddle_point(2.0, 1.5, l2=0.2, noise=0.3, kappa=2.0)
    x = 1.3 / 2.0
    assert r.icl_error == pytest.approx(1.3 - 2 * r.identity_overlap + (1 + x) * r.norm, rel=1e-12)


# ---------------------------------------------------------------- thermodynamics
POINTS = [(5.0, 0.5, np.inf, 0.0, 0.3, 2.0), (2.0, 1.7, 1.5, 0.2, 0.05, 0.7),
          (3.0, 0.6, 0.8, 0.1, 0.2, 5.0)]


def _f(point, **changes):
    alpha, tau, kappa, noise, l2, beta = point
    kw = dict(kappa=kappa, noise=noise, l2=l2, beta=beta)
    kw.update(changes)
    return theory.solve_saddle_point(alpha, tau, **kw)


@pytest.mark.parametrize("point", POINTS)
def test_beta_derivative_of_beta_f_is_the_internal_energy(point):
    beta, h = point[-1], 1e-5
    d = ((beta + h) * _f(point, beta=beta + h).free_energy
         - (beta - h) * _f(point, beta=beta - h).free_energy) / (2 * h)
    r = _f(point)
    assert d == pytest.approx(r.internal_energy, abs=1e-8)
    assert r.entropy == pytest.approx(beta * (r.internal_energy - r.free_energy), rel=1e-12)


@pytest.mark.parametrize("point", POINTS)
def test_field_derivatives_are_mean_and_susceptibility(point):
    h = 1e-5
    r = _f(point)
    d1 = (_f(point, field=h).free_energy - _f(point, field=-h).free_energy) / (2 * h)
    assert d1 == pytest.approx(-r.identity_overlap, abs=1e-8)
    H = 1e-3
    d2 = (_f(point, field=H).free_energy - 2 * r.free_energy
          + _f(point, field=-H).free_energy) / H**2
    assert d2 == pytest.approx(-r.susceptibility, rel=1e-6)
    dq = (_f(point, field=h).identity_overlap - _f(point, field=-h).identity_overlap) / (2 * h)
    assert dq == pytest.approx(r.susceptibility, rel=1e-6)


@pytest.mark.parametrize("point", POINTS)
def test_ridge_derivative_of_f_is_half_the_thermal_norm(point):
    # ∂f/∂λ = ½⟨|θ|²⟩: ties the ln det, the training error and the norm formulas together
    l2, h = point[4], 1e-6
    d = (_f(point, l2=l2 + h).free_energy - _f(point, l2=l2 - h).free_energy) / (2 * h)
    assert d == pytest.approx(0.5 * _f(point).thermal_norm, rel=1e-7)


def test_field_shifts_the_mean_consistently_with_the_errors():
    # finite differences of the errors in the field against the analytic field terms
    point = POINTS[1]
    h = 1e-5
    up, down = _f(point, field=h), _f(point, field=-h)
    r = _f(point)
    x = (1 + point[3]) / point[0]
    dnorm = (up.norm - down.norm) / (2 * h)
    d_icl = (up.icl_error - down.icl_error) / (2 * h)
    assert d_icl == pytest.approx(-2 * r.susceptibility + (1 + x) * dnorm, rel=1e-6)


def test_zero_temperature_and_flat_directions():
    r = theory.solve_saddle_point(5.0, 0.5)
    assert r.free_energy == r.internal_energy == r.ground_state_energy
    assert r.entropy == -np.inf and r.gibbs_error == r.icl_error
    assert r.train_error == 0.0 and r.ground_state_energy == pytest.approx(-0.5)
    hot = theory.solve_saddle_point(5.0, 0.5, beta=2.0)
    assert np.isinf(hot.gibbs_error) and hot.free_energy == -np.inf
    assert "not normalisable" in hot.message
    assert "interpolation peak" in theory.solve_saddle_point(5.0, 1.0).message


# ---------------------------------------------------------------- solver
def test_accelerations_agree_and_accelerate_near_the_peak():
    taus = np.linspace(0.9, 0.99, 6)
    out = {a: theory.solve_grid(2.0, taus, l2=1e-5, acceleration=a, max_iter=200_000)
           for a in ("none", "steffensen", "anderson")}
    for a in ("steffensen", "anderson"):
        np.testing.assert_allclose(out[a].effective_ridge, out["none"].effective_ridge, rtol=1e-9)
        assert out[a].n_iter.sum() * 5 < out["none"].n_iter.sum()
    assert all(o.all_converged for o in out.values())


def test_damping_and_continuation_give_the_same_root():
    taus = np.linspace(0.2, 3.0, 15)
    plain = theory.solve_grid(2.0, taus, l2=0.05, kappa=2.0)
    damped = theory.solve_grid(2.0, taus, l2=0.05, kappa=2.0, damping=0.5,
                               acceleration="none", max_iter=100_000)
    cont = theory.solve_grid(2.0, taus, l2=0.05, kappa=2.0, continuation=True)
    for other in (damped, cont):
        np.testing.assert_allclose(other.effective_ridge, plain.effective_ridge, rtol=1e-9)
        assert other.all_converged
    assert np.all(cont.n_iter[1:] <= plain.n_iter[1:])


def test_multistart_finds_a_unique_solution_everywhere():
    grid = np.meshgrid([0.3, 1.0, 4.0], [0.2, 0.9, 1.1, 5.0], [0.5, 2.0, np.inf], [0.0, 0.1])
    s = theory.solve_grid(grid[0], grid[1], kappa=grid[2], l2=grid[3], noise=0.2,
                          starts=[1e-6, 1e-2, 1.0, 100.0])
    assert s.all_converged
    assert np.all(s.n_solutions == 1)


def test_non_convergence_is_reported_not_raised():
    p = Parameters(2.0, 0.999, np.inf, 0.0, 1e-8, np.inf, 0.0)
    out = iterate(p, 10.0, acceleration="none", max_iter=3)
    assert not out.converged[0] and out.n_iter[0] == 3
    r = theory.solve_saddle_point(2.0, 0.999, l2=1e-8, acceleration="none", max_iter=3)
    assert r.converged and "bisection" in r.message
    exact = theory.solve_saddle_point(2.0, 0.999, l2=1e-8).icl_error
    assert r.icl_error == pytest.approx(exact, rel=1e-9)


def test_saddle_point_map_fixed_point():
    r = theory.solve_saddle_point(2.0, 0.7, l2=0.3, kappa=1.3, noise=0.4)
    p = Parameters(2.0, 0.7, 1.3, 0.4, 0.3, np.inf, 0.0)
    assert saddle_point_map(r.effective_ridge, p)[0] == pytest.approx(r.effective_ridge, rel=1e-12)


def test_sweep_broadcasts_and_points_match_solve():
    s = theory.solve_grid([[1.0], [3.0]], [0.5, 2.0, 4.0], l2=0.1, beta=5.0)
    assert s.shape == (2, 3) and s.icl_error.shape == (2, 3)
    one = theory.solve_saddle_point(3.0, 2.0, l2=0.1, beta=5.0)
    assert s[(1, 1)].icl_error == pytest.approx(one.icl_error, rel=1e-13)
    assert s[4].free_energy == pytest.approx(one.free_energy, rel=1e-13)
    assert "TheorySweep" in repr(s) and "icl_error" in repr(one)
    assert one.g_task == one.task_gap and set(theory.OBSERVABLES) <= set(one.as_dict())


def test_finite_size_parameters():
    p = theory.finite_size_parameters(20, 100, 800, n_tasks=40, label_noise=0.5, l2=0.01,
                                      beta=400.0)
    assert p == dict(alpha=5.0, tau=2.0, kappa=2.0, noise=0.25, l2=0.2, beta=1.0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,name", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=-1.0), "alpha"), (dict(alpha=np.inf), "alpha"),
    (dict(tau=0.0), "tau"), (dict(tau=-2.0), "tau"), (dict(kappa=0.0), "kappa"),
    (dict(kappa=-1.0), "kappa"), (dict(noise=-0.1), "noise"), (dict(l2=-1e-3), "l2"),
    (dict(beta=0.0), "beta"), (dict(beta=-1.0), "beta"), (dict(alpha=np.nan), "alpha"),
    (dict(field=np.inf), "field"), (dict(damping=1.0), "damping"),
    (dict(acceleration="newton"), "acceleration"), (dict(max_iter=0), "max_iter"),
    (dict(tol=0.0), "tol"), (dict(alpha=[1.0, 2.0]), "alpha")])
def test_bad_input_raises_value_error_naming_the_parameter(kwargs, name):
    args = dict(alpha=2.0, tau=1.5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        theory.solve_saddle_point(args.pop("alpha"), args.pop("tau"), **args)


@pytest.mark.parametrize("kwargs,name", [(dict(alpha="2"), "alpha"), (dict(beta=True), "beta"),
                                         (dict(l2=None), "l2")])
def test_bad_types_raise_type_error(kwargs, name):
    args = dict(alpha=2.0, tau=1.5)
    args.update(kwargs)
    with pytest.raises(TypeError, match=name):
        theory.solve_saddle_point(args.pop("alpha"), args.pop("tau"), **args)


def test_sweep_rejects_bad_entries_and_shapes():
    with pytest.raises(ValueError, match="tau"):
        theory.solve_grid(2.0, [0.5, 0.0])
    with pytest.raises(ValueError, match="broadcast"):
        theory.solve_grid([1.0, 2.0], [0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match="starts"):
        theory.solve_grid(2.0, 0.5, starts=[-1.0])


def test_public_theory_solvers_take_the_shared_callbacks():
    from spinicl.callbacks import History, Timeout

    history = History()
    result = theory.solve_saddle_point(1.0, 0.7, l2=0.1, callbacks=history)
    assert result.converged and len(history.steps) >= 1 and history.ended == 1
    assert "error" in history.metrics
    stopped = theory.solve_saddle_point(1.0, 0.7, l2=0.1, callbacks=lambda info: info.step >= 2)
    assert not stopped.converged and stopped.status == "stopped"
    assert "stopped by the callback" in stopped.message
    grid = theory.solve_grid(np.array([1.0, 2.0]), 0.7, l2=0.1, callbacks=Timeout(1e-9))
    assert list(grid.status) == ["stopped", "stopped"]
    with pytest.raises(TypeError, match="callbacks"):
        theory.solve_grid(1.0, 0.7, callbacks=3)
