"""First-order optimisers with PyTorch's update conventions, for dicts of numpy arrays.

Every optimiser updates ``params`` (name → ndarray) **in place** from ``grads`` (same names and
shapes), so a model can hand over its own parameter dict. The update rules are those of
``torch.optim`` (2.x), step ``t = 1, 2, …``:

* :class:`Adam` (coupled L2, ``torch.optim.Adam(weight_decay=wd)``)::

      g ← g + wd·θ;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
      θ ← θ − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)

  A stationary point has g + wd·θ = 0, i.e. it minimises L(θ) + (wd/2)|θ|². For the MSE loss of
  linear attention, L = (1/P)Σ(ŷ−y)² = 2·(H + offset − (λ0/2)|θ|²), so the stationary point
  minimises H with **λ0 = wd/2** (see :func:`spinicl.training.equivalent_l2`).
* :class:`AdamW` (decoupled, ``torch.optim.AdamW``): θ ← θ(1 − lr·wd) first, then the Adam step
  on the plain gradient. Its stationary points depend on lr; no fixed λ0 corresponds to them in
  general (for a fixed point, the decay balances the normalised Adam step).
* :class:`SGD` (``torch.optim.SGD``): g ← g + wd·θ; with momentum μ the buffer is b ← g on the
  first step and b ← μb + (1−dampening)g afterwards; Nesterov uses g + μb; θ ← θ − lr·b.

``state_dict()`` returns plain arrays and numbers (safe for
:func:`spinicl._checkpoint.save_checkpoint` after :func:`flatten_state`); ``load_state_dict``
restores a run bitwise.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_real

__all__ = ["Optimizer", "Adam", "AdamW", "SGD", "make_optimizer", "OPTIMIZERS",
           "flatten_state", "unflatten_state"]


def _check_lr(lr) -> float:
    lr = check_real("lr", lr, minimum=0.0, strict_min=True)
    return lr


class Optimizer:
    """Base class: the bookkeeping shared by every optimiser (step count, per-parameter buffers).

    Subclasses implement :meth:`_update` for one parameter array.
    """

    name = "optimizer"
    _buffers: tuple[str, ...] = ()

    def __init__(self, lr: float, *, weight_decay: float = 0.0):
        self.lr = _check_lr(lr)
        self.weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
        self.n_steps = 0
        self.state: dict[str, dict[str, np.ndarray]] = {b: {} for b in self._buffers}

    # ------------------------------------------------------------------ stepping
    def step(self, params: dict, grads: dict) -> None:
        """One update of every array in ``params`` (in place) from ``grads``."""
        if set(params) != set(grads):
            missing = sorted(set(params) ^ set(grads))
            raise ValueError(f"params and grads must have the same names; mismatch in {missing}")
        self.n_steps += 1
        for key in sorted(params):
            p, g = params[key], grads[key]
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(f"params[{key!r}] must be a float ndarray (updated in place)")
            g = np.asarray(g, dtype=p.dtype)
            if g.shape != p.shape:
                raise ValueError(f"grads[{key!r}] has shape {g.shape}, params[{key!r}] has "
                                 f"{p.shape}")
            self._update(key, p, g)

    def _update(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        raise TypeError(f"{type(self).__name__} does not define an update rule")

    def _buffer(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        store = self.state[name]
        if key not in store:
            store[key] = np.zeros_like(like)
        return store[key]

    # ------------------------------------------------------------------ checkpoints
    def hyperparameters(self) -> dict:
        """The settings that define the update rule (JSON-able)."""
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def state_dict(self) -> dict:
        """``{"name", "hyperparameters", "n_steps", "state": {buffer: {param: array}}}``, copied."""
        return {"name": self.name, "hyperparameters": self.hyperparameters(),
                "n_steps": self.n_steps,
                "state": {b: {k: v.copy() for k, v in s.items()} for b, s in self.state.items()}}

    def load_state_dict(self, state: dict) -> None:
        """Restore buffers and the step count written by :meth:`state_dict`.

        The hyperparameters are restored too, so a resumed run continues with the settings it was
        saved with.
        """
        if state.get("name") != self.name:
            raise ValueError(f"state_dict was written by optimizer {state.get('name')!r}, "
                             f"cannot load it into {self.name!r}")
        for key, value in state.get("hyperparameters", {}).items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        self.n_steps = int(state["n_steps"])
        self.state = {b: {k: np.array(v, dtype=float, copy=True)
                          for k, v in state["state"].get(b, {}).items()}
                      for b in self._buffers}

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp}, n_steps={self.n_steps})"


class Adam(Optimizer):
    """Adam with coupled (L2) weight decay, as ``torch.optim.Adam``.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    betas : (float, float)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float
        Added to the denominator (>= 0).
    weight_decay : float
        Coupled L2 coefficient wd (>= 0): the gradient becomes g + wd·θ.
    amsgrad : bool
        Use the running maximum of the second moment (``torch`` ``amsgrad=True``).
    """

    name = "adam"
    _buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, lr: float = 1e-3, *, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(lr, weight_decay=weight_decay)
        if len(tuple(betas)) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b1, b2 = (check_real(f"betas[{i}]", b, minimum=0.0, maximum=1.0, strict_max=True)
                  for i, b in enumerate(betas))
        self.betas = (b1, b2)
        self.eps = check_real("eps", eps, minimum=0.0)
        self.amsgrad = bool(amsgrad)

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay, "amsgrad": self.amsgrad}

    def _update(self, key, p, g):
        b1, b2 = self.betas
        if self.weight_decay:
            if self._decoupled:
                p *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * p
        m = self._buffer("exp_avg", key, p)
        v = self._buffer("exp_avg_sq", key, p)
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        t = self.n_steps
        if self.amsgrad:
            vmax = self._buffer("max_exp_avg_sq", key, p)
            np.maximum(vmax, v, out=vmax)
            v = vmax
        # Same operation order as torch: denom = √v/√(1−β₂ᵗ) + ε; step = lr/(1−β₁ᵗ).
        denom = np.sqrt(v) / np.sqrt(1.0 - b2**t) + self.eps
        p -= (self.lr / (1.0 - b1**t)) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW`` (default wd = 0.01).

    Each step first shrinks θ ← θ(1 − lr·wd), then applies the Adam step to the plain gradient.
    """

    name = "adamw"
    _decoupled = True

    def __init__(self, lr: float = 1e-3, *, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    momentum : float
        μ in [0, 1).
    weight_decay : float
        Coupled L2 coefficient (>= 0).
    dampening : float
        Weight 1 − dampening on the new gradient in the momentum buffer (torch's convention).
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening = 0).
    """

    name = "sgd"
    _buffers = ("momentum_buffer",)

    def __init__(self, lr: float, *, momentum: float = 0.0, weight_decay: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False):
        super().__init__(lr, weight_decay=weight_decay)
        self.momentum = check_real("momentum", momentum, minimum=0.0, maximum=1.0,
                                   strict_max=True)
        self.dampening = check_real("dampening", dampening, minimum=0.0, maximum=1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay,
                "dampening": self.dampening, "nesterov": self.nesterov}

    def _update(self, key, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            store = self.state["momentum_buffer"]
            if key not in store:
                store[key] = g.copy()
            else:
                buf = store[key]
                buf *= self.momentum
                buf += (1.0 - self.dampening) * g
            buf = store[key]
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "sgd": SGD}


def make_optimizer(name, **kwargs) -> Optimizer:
    """Build an optimiser by name (``"adam"``, ``"adamw"``, ``"sgd"``; case-insensitive).

    An :class:`Optimizer` instance is returned unchanged (``kwargs`` must then be empty).
    """
    if isinstance(name, Optimizer):
        if kwargs:
            raise ValueError("pass either an Optimizer instance or a name with settings, not both")
        return name
    if not isinstance(name, str):
        raise TypeError(f"optimizer must be a name or an Optimizer, got {type(name).__name__}")
    key = name.lower()
    check_choice("optimizer", key, OPTIMIZERS)
    return OPTIMIZERS[key](**kwargs)


def flatten_state(state: dict, prefix: str = "optimizer") -> tuple[dict, dict]:
    """Split a ``state_dict`` into (arrays, meta).

    The pair is what :func:`spinicl._checkpoint.save_checkpoint` takes.
    """
    arrays = {}
    for buffer, per_param in state["state"].items():
        for key, value in per_param.items():
            arrays[f"{prefix}/{buffer}/{key}"] = value
    meta = {"name": state["name"], "hyperparameters": state["hyperparameters"],
            "n_steps": state["n_steps"]}
    return arrays, meta


def unflatten_state(arrays: dict, meta: dict, prefix: str = "optimizer") -> dict:
    """Inverse of :func:`flatten_state`."""
    state: dict[str, dict] = {}
    head = prefix + "/"
    for name, value in arrays.items():
        if name.startswith(head):
            buffer, key = name[len(head):].split("/", 1)
            state.setdefault(buffer, {})[key] = value
    return {"name": meta["name"], "hyperparameters": meta["hyperparameters"],
            "n_steps": meta["n_steps"], "state": state}
