"""The cavity (TAP/AMP) update equations of the Gaussian spin glass, as numba kernels.

For H(σ) = −Σ_{i<j} J_ij σ_i σ_j − Σ h_i σ_i + ½ Σ λ_i σ_i² the cavity field on spin i is taken
Gaussian with mean Σ_{j≠i} J_ij m_j and variance Σ_{j≠i} J_ij² v_j (Li, Bai & Huang 2024,
arXiv:2408.02288, §4.1 of our notes), giving

    M_i = β Σ_{j≠i} J_ij m_j ,    V_i = β² Σ_{j≠i} J_ij² v_j
    li2024:  m_i ← (β h_i + M_i) / (β λ_i − V_i)                 (the authors' code)
    tap:     m_i ← (β h_i + M_i − V_i m_i) / (β λ_i − V_i)       (full Onsager reaction term)
    both:    v_i ← 1 / (β λ_i − V_i)

The tap mean update equals m + β (h − A m) / (β λ − V): a Jacobi step preconditioned by the cavity
precision, so its fixed point is exactly A⁻¹h. The li2024 fixed point solves (A − diag(V/β)) m = h
instead: the Onsager term acts as a lowering of the self-couplings, which is its finite-size bias.

Damping θ is the weight on the OLD value (x ← θ x_old + (1 − θ) x_new), as in the authors' code,
tramp and GCMProject. The convergence error of one iteration is MSE(m_new, m) + MSE(v_new, v)
between the undamped update and the old state (the authors' ``MSE`` is a mean over spins).

One pass over J yields both products J·m and (J∘J)·v (the squares are formed in registers, never
stored), and a batch runs each instance to convergence while its couplings stay in cache.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "VARIANT_CODES",
    "STATUS_CONVERGED",
    "STATUS_MAX_ITER",
    "STATUS_DIVERGED",
    "STATUS_NONFINITE",
    "STATUS_CALLBACK",
    "prepare_couplings",
    "coupling_products",
    "parallel_update",
    "sequential_sweep",
    "run_single",
    "run_parallel_batch",
]

VARIANT_CODES = {"li2024": 0, "tap": 1}

# integer status codes of the compiled loops; spinicl._result.Status.code maps them onto the
# shared vocabulary of every result (5 is solvers.direct.STATUS_FAILED)
STATUS_CONVERGED = 0
STATUS_MAX_ITER = 1
STATUS_DIVERGED = 2
STATUS_NONFINITE = 3
STATUS_CALLBACK = 4


def prepare_couplings(couplings, dtype=np.float64) -> np.ndarray:
    """J (or a stack (B, n, n)) as a C-contiguous array of ``dtype``; no copy when it already is.

    The diagonal is kept: :func:`coupling_products` removes its contribution itself, so a caller
    that already holds contiguous couplings of the right precision pays no copy.
    """
    return np.ascontiguousarray(couplings, dtype=dtype)


@njit(cache=True, fastmath=True, nogil=True)
def coupling_products(couplings, m, v, M, V):
    """M ← J·m and V ← (J∘J)·v, diagonal excluded, in one pass over J (row-major).

    Four rows are processed together so that each m_j, v_j is loaded once per four rows; the
    squares J_ij² are formed in registers rather than read from a second matrix. The diagonal
    terms are summed with the rest and subtracted afterwards, which keeps the inner loop free of
    branches and lets callers pass J as stored.
    """
    n = m.shape[0]
    # zero accumulators of the arrays' own precision (a literal 0 would promote float32 sums to
    # float64 and halve the vector width)
    M[:] = 0
    V[:] = 0
    i = 0
    while i + 4 <= n:
        zero = M[i]
        a0 = zero
        a1 = zero
        a2 = zero
        a3 = zero
        b0 = zero
        b1 = zero
        b2 = zero
        b3 = zero
        for j in range(n):
            mj = m[j]
            vj = v[j]
            c0 = couplings[i, j]
            c1 = couplings[i + 1, j]
            c2 = couplings[i + 2, j]
            c3 = couplings[i + 3, j]
            a0 += c0 * mj
            a1 += c1 * mj
            a2 += c2 * mj
            a3 += c3 * mj
            b0 += c0 * c0 * vj
            b1 += c1 * c1 * vj
            b2 += c2 * c2 * vj
            b3 += c3 * c3 * vj
        M[i] = a0
        M[i + 1] = a1
        M[i + 2] = a2
        M[i + 3] = a3
        V[i] = b0
        V[i + 1] = b1
        V[i + 2] = b2
        V[i + 3] = b3
        i += 4
    for r in range(i, n):
        acc_m = M[r]
        acc_v = V[r]
        for j in range(n):
            c = couplings[r, j]
            acc_m += c * m[j]
            acc_v += c * c * v[j]
        M[r] = acc_m
        V[r] = acc_v
    for r in range(n):
        c = couplings[r, r]
        M[r] -= c * m[r]
        V[r] -= c * c * v[r]


@njit(cache=True, nogil=True)
def parallel_update(variant, fields, self_couplings, beta, m, v, M, V, m_new, v_new):
    """One undamped parallel update from the products M = J·m and V = (J∘J)·v (unscaled by β).

    Writes m_new, v_new and returns the error MSE(m_new, m) + MSE(v_new, v).
    """
    n = m.shape[0]
    err_m = 0.0
    err_v = 0.0
    for i in range(n):
        onsager = beta * beta * V[i]
        precision = beta * self_couplings[i] - onsager
        numerator = beta * fields[i] + beta * M[i]
        if variant == 1:
            numerator -= onsager * m[i]
        m_new[i] = numerator / precision
        v_new[i] = 1.0 / precision
        dm = m_new[i] - m[i]
        dv = v_new[i] - v[i]
        err_m += dm * dm
        err_v += dv * dv
    return (err_m + err_v) / n


@njit(cache=True, nogil=True)
def sequential_sweep(variant, couplings, fields, self_couplings, beta, damping, order, m, v):
    """One Gauss–Seidel sweep in the given site order, damping each site as it is updated.

    ``couplings`` is the dense J (its diagonal is skipped). Updates m, v in place and returns the
    sweep's error: the mean over sites of the squared undamped changes of m and v.
    """
    n = m.shape[0]
    err = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        field = 0.0
        onsager = 0.0
        for j in range(n):
            if j != i:
                coupling = couplings[i, j]
                field += coupling * m[j]
                onsager += coupling * coupling * v[j]
        onsager *= beta * beta
        precision = beta * self_couplings[i] - onsager
        numerator = beta * fields[i] + beta * field
        if variant == 1:
            numerator -= onsager * m[i]
        m_i = numerator / precision
        v_i = 1.0 / precision
        dm = m_i - m[i]
        dv = v_i - v[i]
        err += dm * dm + dv * dv
        m[i] = damping * m[i] + (1.0 - damping) * m_i
        v[i] = damping * v[i] + (1.0 - damping) * v_i
    return err / n


@njit(cache=True, nogil=True)
def _all_finite(x):
    for i in range(x.shape[0]):
        if not np.isfinite(x[i]):
            return False
    return True


@njit(cache=True, nogil=True)
def run_single(variant, couplings, fields, self_couplings, beta, m, v, damping, max_iter, tol,
               divergence_factor, residuals):
    """Iterate one instance to convergence in place; returns (n_iter, status)."""
    n = m.shape[0]
    M = np.zeros(n, dtype=m.dtype)
    V = np.zeros(n, dtype=m.dtype)
    m_new = np.zeros(n, dtype=m.dtype)
    v_new = np.zeros(n, dtype=m.dtype)
    best_m = m.copy()
    best_v = v.copy()
    best_err = np.inf
    keep = damping
    take = 1.0 - damping
    for it in range(max_iter):
        coupling_products(couplings, m, v, M, V)
        err = parallel_update(variant, fields, self_couplings, beta, m, v, M, V, m_new, v_new)
        residuals[it] = err
        if not (np.isfinite(err) and _all_finite(m_new) and _all_finite(v_new)):
            # restore the best state seen; before any finite step that is the (finite) old one
            if best_err < np.inf:
                m[:] = best_m
                v[:] = best_v
            return it + 1, STATUS_NONFINITE
        if err < best_err:
            best_err = err
            best_m[:] = m
            best_v[:] = v
        elif err > divergence_factor * best_err:
            m[:] = best_m
            v[:] = best_v
            return it + 1, STATUS_DIVERGED
        for i in range(n):
            m[i] = keep * m[i] + take * m_new[i]
            v[i] = keep * v[i] + take * v_new[i]
        if err <= tol:
            return it + 1, STATUS_CONVERGED
    return max_iter, STATUS_MAX_ITER


@njit(cache=True, parallel=True)
def run_parallel_batch(variant, couplings, fields, self_couplings, beta, m, v, damping, max_iter,
                       tol, divergence_factor, residuals, n_iter, status):
    """Run independent instances b = 0..B−1 (rows of every array) to convergence, in parallel.

    Each instance is iterated to the end while its couplings stay in cache. ``m`` and
    ``v`` (B, n) hold the initial states and receive the final ones; ``residuals`` (B, max_iter)
    the per-iteration errors (untouched beyond n_iter); ``n_iter`` and ``status`` (B,) the
    outcome (the STATUS_* codes).
    """
    for b in prange(couplings.shape[0]):
        k, s = run_single(variant, couplings[b], fields[b], self_couplings[b], beta, m[b], v[b],
                          damping, max_iter, tol, divergence_factor, residuals[b])
        n_iter[b] = k
        status[b] = s
