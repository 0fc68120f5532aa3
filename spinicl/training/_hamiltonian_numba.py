"""Numba energy and gradient of the linear-attention ModelHamiltonians, for in-numba samplers.

``ModelHamiltonian.numba_energy_gradient`` hands ``(linear_energy_gradient, args)`` to a sampler
whose whole trajectory runs in numba (NUTS): the function takes one spin vector θ and the args
tuple and returns (H(θ), ∇H(θ)). For the merged and separate (any rank) models H depends on θ only
through W (plus the regulariser), so one evaluation is

* W = θ reshaped (merged) or W = W_Qᵀ W_K (separate, an r×m by r×m product);
* the data term through the Gram A = SᵀS/P (one n_W×n_W GEMV, ``operator="gram"``) or through
  the prompts' feature factors (ŷ_p = c_pᵀ W q_p, O(P·m²), ``"factored"``);
* the chain rule dH/dW_Q = W_K Gᵀ, dH/dW_K = W_Q G (separate).

It is the same arithmetic as ``ModelHamiltonian.energy_gradient`` for one walker (tested to
agree to rounding in tests/test_samplers_general_nuts.py).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["linear_energy_gradient", "linear_args"]

MERGED = 0
SEPARATE = 1


@njit(cache=True)
def linear_energy_gradient(x, args):
    """(H(θ), ∇H(θ)) of a merged or separate linear-attention ModelHamiltonian."""
    kind, m, r, use_gram, gram, fields, offset, l2, context, query, targets = args
    if kind == MERGED:
        W = x.reshape(m, m).copy()
    else:
        WQ = x[:r * m].reshape(r, m)
        WK = x[r * m:].reshape(r, m)
        W = np.dot(WQ.T.copy(), WK)
    if use_gram:
        w = W.ravel()
        Aw = np.dot(gram, w)
        e = 0.5 * np.dot(w, Aw) - np.dot(fields, w) + offset
        dW = (Aw - fields).reshape(m, m)
    else:
        P = targets.size
        cw = np.dot(context, W)                               # (P, m): c_pᵀ W
        resid = np.empty(P)
        e = 0.0
        for p in range(P):
            resid[p] = np.dot(cw[p], query[p]) - targets[p]
            e += resid[p] * resid[p]
        e = 0.5 * e / P
        rq = query * (resid / P).reshape(P, 1)
        dW = np.dot(context.T.copy(), rq)                     # Σ_p r_p c_p q_pᵀ / P
    if kind == MERGED:
        g = dW.ravel().copy()
    else:
        g = np.empty(x.size)
        g[:r * m] = np.dot(WK, dW.T.copy()).ravel()
        g[r * m:] = np.dot(WQ, dW).ravel()
    e += 0.5 * l2 * np.dot(x, x)
    for i in range(x.size):
        g[i] += l2 * x[i]
    return e, g


def linear_args(kind: str, *, dim: int, rank: int, operator: str, glass, factors, targets,
                offset: float, l2: float) -> tuple:
    """The args tuple of :func:`linear_energy_gradient` for a merged or separate model."""
    m = dim + 1
    placeholder = np.zeros((1, 1))
    use_gram = operator == "gram"
    gram = np.ascontiguousarray(glass.hessian(), dtype=float) if use_gram else placeholder
    context, query = factors
    return (MERGED if kind == "merged" else SEPARATE, int(m), int(rank), bool(use_gram), gram,
            np.ascontiguousarray(glass.fields, dtype=float), float(offset), float(l2),
            np.ascontiguousarray(context, dtype=float), np.ascontiguousarray(query, dtype=float),
            np.ascontiguousarray(targets, dtype=float))
