"""Numba kernels: the inner loops of every sampler.

Two operator layouts reach the kernels that work spin by spin or chain by chain:

* ``dense``: the Hessian A (n×n), so (Aσ)_i = A[i]·σ;
* ``features``: the feature matrix S (P×n) and its transpose, A = SᵀS/P + λ0 I, so one spin
  update costs O(P) through the cached predictions y = Sσ, and the n×n couplings are never built.

``mode`` selects the layout (0 dense, 1 features); the unused arrays are (1, 1) placeholders.
Kernels that draw random numbers take the chain's own ``numpy.random.Generator`` (numba
reproduces numpy's streams exactly), so a chain's trajectory does not depend on how many chains run
beside it or on the thread count.
"""
from __future__ import annotations

import numpy as np
from numba import njit

DENSE = 0
FEATURES = 1

# |ΔH| above which a leapfrog trajectory is declared divergent (Stan's threshold).
DIVERGENCE_THRESHOLD = 1000.0


# ---------------------------------------------------------------------------- operator products
@njit(cache=True)
def hessian_vector(mode, A, S, St, inv_P, l2, x):
    """A·x for one spin vector."""
    if mode == DENSE:
        return np.dot(A, x)
    return np.dot(St, np.dot(S, x)) * inv_P + l2 * x


@njit(cache=True)
def energy_gradient(mode, A, S, St, inv_P, l2, h, x):
    """(H(x), ∇H(x)) with H = ½xᵀAx − h·x."""
    g = hessian_vector(mode, A, S, St, inv_P, l2, x)
    e = 0.5 * np.dot(x, g) - np.dot(h, x)
    for i in range(g.size):
        g[i] -= h[i]
    return e, g


# ---------------------------------------------------------------------------- Langevin
@njit(cache=True)
def langevin_propose(X, G, drift, scale, noise, out):
    """out = X − drift·G + scale·noise, row by row (drift, scale per walker)."""
    B, n = X.shape
    for b in range(B):
        d = drift[b]
        s = scale[b]
        for i in range(n):
            out[b, i] = X[b, i] - d * G[b, i] + s * noise[b, i]


@njit(cache=True)
def mala_accept(X, G, E, Y, GY, EY, beta, eps, log_u, active, accept_prob):
    """Metropolis–Hastings correction of the Langevin proposal Y, in place on (X, G, E).

    log α = −β(H(y) − H(x)) − [|x − y + εβ∇H(y)|² − |y − x + εβ∇H(x)|²]/(4ε).
    A proposal with a non-finite energy is rejected (probability 0).
    """
    B, n = X.shape
    for b in range(B):
        if not active[b]:
            accept_prob[b] = 0.0
            continue
        if not np.isfinite(EY[b]):
            accept_prob[b] = 0.0
            continue
        a = eps[b] * beta[b]
        fwd = 0.0
        bwd = 0.0
        for i in range(n):
            r = Y[b, i] - X[b, i] + a * G[b, i]
            fwd += r * r
            r = X[b, i] - Y[b, i] + a * GY[b, i]
            bwd += r * r
        log_alpha = -beta[b] * (EY[b] - E[b]) - (bwd - fwd) / (4.0 * eps[b])
        if not np.isfinite(log_alpha):
            accept_prob[b] = 0.0
            continue
        accept_prob[b] = 1.0 if log_alpha >= 0.0 else np.exp(log_alpha)
        if log_u[b] < log_alpha:
            for i in range(n):
                X[b, i] = Y[b, i]
                G[b, i] = GY[b, i]
            E[b] = EY[b]


# ---------------------------------------------------------------------------- single-spin moves
@njit(cache=True, fastmath=True)
def _dot(a, b):
    """a·b as a plain loop: vectorised by LLVM, and free of BLAS call overhead at this size."""
    s = 0.0
    for k in range(a.size):
        s += a[k] * b[k]
    return s


@njit(cache=True)
def _local_field(mode, A, St, inv_P, l2, h, x, y, i):
    """(Aσ)_i − h_i, using the cached predictions y = Sσ in the features layout."""
    if mode == DENSE:
        return _dot(A[i], x) - h[i]
    return _dot(St[i], y) * inv_P + l2 * x[i] - h[i]


@njit(cache=True)
def gibbs_sweeps(mode, A, S, St, inv_P, l2, h, diag, x, energy, beta, n_sweeps, rng):
    """Heat-bath sweeps in place: σ_i ← N(σ_i − r_i/A_ii, 1/(βA_ii)), sequentially in i.

    The conditional of spin i given the rest is Gaussian with mean (h_i − Σ_{j≠i} A_ij σ_j)/A_ii
    = σ_i − r_i/A_ii where r = Aσ − h is the current residual. A sweep's n normals are drawn
    at once. The energy is carried along exactly, ΔH = δ r_i + ½ A_ii δ² per update, so no
    extra n² product is spent on it. Returns the energy afterwards.
    """
    n = x.size
    y = np.dot(S, x) if mode == FEATURES else np.zeros(1)
    inv_diag = 1.0 / diag
    sd = 1.0 / np.sqrt(beta * diag)
    for _ in range(n_sweeps):
        z = rng.standard_normal(n)
        for i in range(n):
            r = _local_field(mode, A, St, inv_P, l2, h, x, y, i)
            new = x[i] - r * inv_diag[i] + z[i] * sd[i]
            delta = new - x[i]
            x[i] = new
            energy += delta * r + 0.5 * diag[i] * delta * delta
            if mode == FEATURES:
                col = St[i]
                for k in range(y.size):
                    y[k] += delta * col[k]
    return energy


@njit(cache=True)
def metropolis_sweeps(mode, A, S, St, inv_P, l2, h, diag, x, energy, beta, step, n_sweeps,
                      rng):
    """Random-walk Metropolis sweeps in place, one spin at a time.

    The proposal σ_i + δ, δ ~ N(0, step²/(βA_ii)), changes the energy by
    ΔH = δ r_i + ½ A_ii δ² with r = Aσ − h (the energy is carried along with it). Returns
    (energy, mean acceptance probability).
    """
    n = x.size
    y = np.dot(S, x) if mode == FEATURES else np.zeros(1)
    acc = 0.0
    for _ in range(n_sweeps):
        for i in range(n):
            r = _local_field(mode, A, St, inv_P, l2, h, x, y, i)
            delta = step * rng.standard_normal() / np.sqrt(beta * diag[i])
            dH = delta * r + 0.5 * diag[i] * delta * delta
            log_alpha = -beta * dH
            acc += 1.0 if log_alpha >= 0.0 else np.exp(log_alpha)
            if np.log(rng.random()) < log_alpha:
                x[i] += delta
                energy += dH
                if mode == FEATURES:
                    col = St[i]
                    for k in range(y.size):
                        y[k] += delta * col[k]
    return energy, acc / (n * n_sweeps)


# ---------------------------------------------------------------------------- HMC / NUTS
@njit(cache=True)
def _velocity(dense_metric, minv_diag, minv_dense, p):
    if dense_metric:
        return np.dot(minv_dense, p)
    return minv_diag * p


@njit(cache=True)
def _draw_momentum(dense_metric, minv_diag, chol_mass, n, rng):
    xi = np.empty(n)
    for i in range(n):
        xi[i] = rng.standard_normal()
    if dense_metric:
        return np.dot(chol_mass, xi)
    return xi / np.sqrt(minv_diag)


@njit(cache=True, nogil=True)
def quadratic_energy_gradient(x, args):
    """(H(x), ∇H(x)) of the spin glass, with ``args`` = (mode, A, S, Sᵀ, 1/P, λ0, h): the
    ``energy_grad`` that :func:`nuts_step_fn` takes for a quadratic target."""
    mode, A, S, St, inv_P, l2, h = args
    return energy_gradient(mode, A, S, St, inv_P, l2, h, x)


@njit(cache=True, nogil=True)
def nuts_step_fn(energy_grad, grad_args, beta, dense_metric, minv_diag, minv_dense, chol_mass,
                 x, e, g, eps, max_depth, rng):
    """One multinomial no-U-turn transition (Hoffman & Gelman 2014; Betancourt 2017) of
    U = βH, with ``energy_grad(x, grad_args) -> (H(x), ∇H(x))``.

    The trajectory doubles in a random direction; inside each new half the leaf is drawn with
    probability ∝ exp(−ℋ) (ℋ = βH + ½pᵀM⁻¹p) and every balanced sub-tree is checked for a U-turn
    with the generalised criterion ρ·v⁻ > 0, ρ·v⁺ > 0 (ρ the summed momentum). The new half
    replaces the current draw with probability min(1, W_new/W_old) (biased progressive sampling).

    H is a numba-compiled function and its argument tuple (numba compiles one specialisation
    per function, cached on disk), so the whole trajectory stays in numba and, the GIL released,
    chains run in parallel threads: :func:`quadratic_energy_gradient` for the spin glass, the
    linear-attention ModelHamiltonians' own for those. The plain-Python body
    (``nuts_step_fn.py_func``) is the fallback for potentials with only a Python
    ``energy_gradient``: then ``energy_grad`` is a Python callable, one call per leapfrog step.

    Returns (x, e, g, mean acceptance statistic, n_leapfrog, tree depth, divergent, ℋ of the
    returned point): ℋ is Stan's ``energy__``, whose draw-to-draw changes give the E-BFMI.
    """
    n = x.size
    p0 = _draw_momentum(dense_metric, minv_diag, chol_mass, n, rng)
    v0 = _velocity(dense_metric, minv_diag, minv_dense, p0)
    h0 = beta * e + 0.5 * np.dot(p0, v0)
    x_minus = x.copy()
    p_minus = p0.copy()
    g_minus = g.copy()
    v_minus = v0.copy()
    x_plus = x.copy()
    p_plus = p0.copy()
    g_plus = g.copy()
    v_plus = v0.copy()
    x_out = x.copy()
    g_out = g.copy()
    e_out = e
    h_out = h0
    rho = p0.copy()
    log_w = 0.0
    sum_accept = 0.0
    n_leaf = 0
    divergent = False
    depth = 0
    rho_level = np.zeros((max_depth + 1, n))
    v_start = np.zeros((max_depth + 1, n))
    while depth < max_depth:
        direction = 1.0 if rng.random() < 0.5 else -1.0
        n_new = 1 << depth
        sub_log_w = -np.inf
        sub_x = x
        sub_g = g
        sub_e = e
        sub_h = h0
        sub_rho = np.zeros(n)
        turned = False
        for k in range(n_new):
            # one leapfrog step from the edge the trajectory grows at
            if direction > 0:
                x_edge, p_edge, g_edge = x_plus, p_plus, g_plus
            else:
                x_edge, p_edge, g_edge = x_minus, p_minus, g_minus
            step = direction * eps
            p_half = p_edge - (0.5 * step * beta) * g_edge
            x_leaf = x_edge + step * _velocity(dense_metric, minv_diag, minv_dense, p_half)
            e_new, g_leaf = energy_grad(x_leaf, grad_args)
            p_leaf = p_half - (0.5 * step * beta) * g_leaf
            v_leaf = _velocity(dense_metric, minv_diag, minv_dense, p_leaf)
            if direction > 0:
                x_plus, p_plus, g_plus, v_plus = x_leaf, p_leaf, g_leaf, v_leaf
            else:
                x_minus, p_minus, g_minus, v_minus = x_leaf, p_leaf, g_leaf, v_leaf
            n_leaf += 1
            h_new = beta * e_new + 0.5 * np.dot(p_leaf, v_leaf)
            delta = h_new - h0
            if not np.isfinite(delta) or delta > DIVERGENCE_THRESHOLD:
                divergent = True
                break
            sum_accept += 1.0 if delta <= 0.0 else np.exp(-delta)
            leaf_log_w = -delta
            new_total = np.logaddexp(sub_log_w, leaf_log_w)
            if np.log(rng.random()) < leaf_log_w - new_total:
                sub_x = x_leaf
                sub_g = g_leaf
                sub_e = e_new
                sub_h = h_new
            sub_log_w = new_total
            sub_rho += p_leaf
            level = 1
            while (1 << level) <= n_new:
                size = 1 << level
                if k % size == 0:
                    v_start[level] = v_leaf
                    rho_level[level] = 0.0
                rho_level[level] += p_leaf
                if (k + 1) % size == 0:
                    r = rho_level[level]
                    if np.dot(r, v_start[level]) <= 0.0 or np.dot(r, v_leaf) <= 0.0:
                        turned = True
                level += 1
            if turned:
                break
        depth += 1
        if divergent or turned:
            break
        if np.log(rng.random()) < sub_log_w - log_w:
            x_out = sub_x
            g_out = sub_g
            e_out = sub_e
            h_out = sub_h
        log_w = np.logaddexp(log_w, sub_log_w)
        rho += sub_rho
        if np.dot(rho, v_minus) <= 0.0 or np.dot(rho, v_plus) <= 0.0:
            break
    mean_accept = sum_accept / max(n_leaf, 1)
    return x_out.copy(), e_out, g_out.copy(), mean_accept, n_leaf, depth, divergent, h_out


@njit(cache=True, nogil=True)
def nuts_chain(energy_grad, grad_args, beta, dense_metric, minv_diag, minv_dense, chol_mass,
               x, e, g, eps, max_depth, rng, xs, es, probs, n_leaps, depths, divs, hams):
    """``xs.shape[0]`` transitions of :func:`nuts_step_fn` from (x, e, g), one chain.

    Iteration t's state and statistics go to row t of ``xs`` (n_iter, n), ``es``, ``probs``,
    ``n_leaps``, ``depths``, ``divs``, ``hams``; returns the final (x, e, g). One call runs a
    whole block of a chain without returning to Python, so threads need no per-iteration sync.
    """
    for t in range(xs.shape[0]):
        x, e, g, probs[t], n_leaps[t], depths[t], divs[t], hams[t] = nuts_step_fn(
            energy_grad, grad_args, beta, dense_metric, minv_diag, minv_dense, chol_mass,
            x, e, g, eps, max_depth, rng)
        xs[t] = x
        es[t] = e
    return x, e, g
