"""Optimisers against hand-computed steps, checkpoint round trips and bad inputs."""
import numpy as np
import pytest

from spinicl.training import SGD, Adam, AdamW, make_optimizer
from spinicl.training.optimizers import flatten_state, unflatten_state


def test_adam_first_two_steps_by_hand():
    lr, b1, b2, eps, wd = 0.1, 0.9, 0.999, 1e-8, 0.5
    p = {"w": np.array([1.0, -2.0])}
    opt = Adam(lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    g1 = np.array([0.3, 0.4])
    opt.step(p, {"w": g1})
    # step 1 with coupled decay: g = g1 + wd·θ0; m̂ = g, v̂ = g² → θ1 = θ0 − lr·g/(|g| + eps)
    theta0 = np.array([1.0, -2.0])
    g = g1 + wd * theta0
    m, v = (1 - b1) * g, (1 - b2) * g**2
    theta1 = theta0 - lr / (1 - b1) * m / (np.sqrt(v) / np.sqrt(1 - b2) + eps)
    np.testing.assert_allclose(p["w"], theta1, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(theta1, theta0 - lr * np.sign(g), rtol=1e-6)
    g2 = np.array([-0.1, 0.2])
    opt.step(p, {"w": g2})
    gg = g2 + wd * theta1
    m = b1 * m + (1 - b1) * gg
    v = b2 * v + (1 - b2) * gg**2
    theta2 = theta1 - lr / (1 - b1**2) * m / (np.sqrt(v) / np.sqrt(1 - b2**2) + eps)
    np.testing.assert_allclose(p["w"], theta2, rtol=1e-14)


def test_adamw_decouples_decay():
    lr, wd = 0.01, 0.1
    theta0 = np.array([2.0, -1.0, 0.5])
    g = np.array([1.0, 1.0, -1.0])
    p = {"w": theta0.copy()}
    AdamW(lr, weight_decay=wd).step(p, {"w": g})
    # θ1 = θ0(1 − lr·wd) − lr·g/(|g| + ε) on the first step
    expected = theta0 * (1 - lr * wd) - lr * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(p["w"], expected, rtol=1e-12)


def test_amsgrad_uses_running_max():
    p = {"w": np.array([0.0])}
    opt = Adam(1.0, betas=(0.0, 0.5), eps=0.0, amsgrad=True)
    opt.step(p, {"w": np.array([2.0])})      # v = 2, vmax = 2
    opt.step(p, {"w": np.array([0.0])})      # v = 1, vmax stays 2; m = 0 → no move
    np.testing.assert_allclose(p["w"], [-1.0])
    opt.step(p, {"w": np.array([1.0])})      # v = 1, vmax = 2 → step 1/√(2/(1−1/8))
    np.testing.assert_allclose(p["w"], [-1.0 - 1.0 / np.sqrt(2 / (1 - 0.125))])


def test_sgd_momentum_and_nesterov_by_hand():
    theta = np.array([1.0])
    p = {"w": theta.copy()}
    opt = SGD(0.1, momentum=0.9, weight_decay=0.2)
    gs = [np.array([1.0]), np.array([-2.0]), np.array([0.5])]
    buf, ref = None, theta.copy()
    for g in gs:
        opt.step(p, {"w": g})
        gg = g + 0.2 * ref
        buf = gg.copy() if buf is None else 0.9 * buf + gg
        ref = ref - 0.1 * buf
        np.testing.assert_allclose(p["w"], ref, rtol=1e-15)
    p = {"w": theta.copy()}
    opt = SGD(0.1, momentum=0.5, nesterov=True)
    opt.step(p, {"w": np.array([1.0])})
    np.testing.assert_allclose(p["w"], [1.0 - 0.1 * (1.0 + 0.5 * 1.0)])


def test_plain_sgd_is_gradient_descent():
    p = {"a": np.array([[1.0, 2.0]]), "b": np.array([3.0])}
    SGD(0.5).step(p, {"a": np.array([[2.0, 2.0]]), "b": np.array([-2.0])})
    np.testing.assert_allclose(p["a"], [[0.0, 1.0]])
    np.testing.assert_allclose(p["b"], [4.0])


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_state_dict_resume_is_bitwise(name):
    rng = np.random.default_rng(0)
    grads = [{"w": rng.standard_normal((3, 2)), "v": rng.standard_normal(4)} for _ in range(6)]
    kwargs = {"lr": 0.05, "weight_decay": 0.1} | ({"momentum": 0.8} if name == "sgd" else {})
    start = {"w": np.ones((3, 2)), "v": np.zeros(4)}
    full = {k: v.copy() for k, v in start.items()}
    opt = make_optimizer(name, **kwargs)
    for g in grads:
        opt.step(full, g)
    part = {k: v.copy() for k, v in start.items()}
    opt1 = make_optimizer(name, **kwargs)
    for g in grads[:3]:
        opt1.step(part, g)
    arrays, meta = flatten_state(opt1.state_dict())
    opt2 = make_optimizer(name, lr=1.0)          # hyperparameters come back from the state
    opt2.load_state_dict(unflatten_state(arrays, meta))
    for g in grads[3:]:
        opt2.step(part, g)
    for k in start:
        assert np.array_equal(part[k], full[k])
    assert opt2.n_steps == 6 and opt2.lr == 0.05


def test_make_optimizer_names_and_instances():
    assert isinstance(make_optimizer("Adam", lr=0.1), Adam)
    assert isinstance(make_optimizer("adamw", lr=0.1), AdamW)
    opt = SGD(0.1)
    assert make_optimizer(opt) is opt
    assert "lr=0.1" in repr(opt)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay"),
    ({"lr": 0.1, "betas": (1.0, 0.9)}, "betas"), ({"lr": 0.1, "eps": -1.0}, "eps"),
])
def test_adam_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam(**kwargs)


def test_bad_optimizer_inputs():
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("lbfgs", lr=0.1)
    with pytest.raises(TypeError, match="optimizer"):
        make_optimizer(3)
    with pytest.raises(ValueError, match="momentum"):
        SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(0.1, nesterov=True)
    opt = Adam(0.1)
    with pytest.raises(ValueError, match="same names"):
        opt.step({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        opt.step({"w": np.zeros(2)}, {"w": np.zeros(3)})
    with pytest.raises(ValueError, match="sgd"):
        opt.load_state_dict(SGD(0.1).state_dict())
