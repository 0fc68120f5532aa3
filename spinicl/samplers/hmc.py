"""Hamiltonian Monte Carlo (batched leapfrog) and the no-U-turn sampler (numba, per chain).

Both integrate Hamilton's equations for ℋ(σ, p) = βH(σ) + ½pᵀM⁻¹p with the leapfrog scheme and a
mass matrix M adapted during warm-up (identity, diagonal or dense M⁻¹ ≈ Cov σ; see
:mod:`spinicl.samplers.adaptation`). A dense M⁻¹ equal to the covariance turns the Gaussian
Boltzmann measure into an isotropic one, which is what makes HMC/NUTS fast on the
ill-conditioned spin glass.

* HMC (Duane et al. 1987; Neal 2011): ``n_leapfrog`` steps of size ε·U(1 − jitter, 1 + jitter),
  all walkers in lockstep so every leapfrog step is one batched gradient (one GEMM).
* NUTS (Hoffman & Gelman 2014), multinomial variant with the generalised U-turn criterion
  (Betancourt 2017): the trajectory length adapts per transition, to depth ``max_depth``. It runs
  chain by chain in numba: on the quadratic spin glass (dense or matrix-free) through its
  operator arrays, on a potential with a ``numba_energy_gradient`` (the linear-attention
  ModelHamiltonians) through that compiled function, and on any other potential with the same
  tree in plain Python, one ``energy_gradient`` call per leapfrog step (the fallback: correct,
  but about two orders of magnitude slower per gradient than the numba paths).

A transition whose energy error exceeds 1000 is counted as divergent (Stan's convention).
"""
from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from scipy.linalg import solve_triangular

from . import _kernels as K
from ._base import Kernel, largest_curvature

__all__ = ["HMCKernel", "NUTSKernel"]

_PLACEHOLDER = np.zeros((1, 1))


class _HamiltonianKernel(Kernel):
    adapts_step = True
    beta_exponent = 0.5
    uses_metric = True

    def initial_step_size(self, X, betas, metric):
        # leapfrog is stable for ε√λ_max < 2; start at half that
        lam = largest_curvature(self.target, X[0], float(np.max(betas)), metric)
        return 1.0 / np.sqrt(lam)


class HMCKernel(_HamiltonianKernel):
    """HMC with a fixed number of leapfrog steps and step-size jitter."""

    name = "hmc"
    default_target_accept = 0.8

    def noise_shape(self):
        return (self.n, 2)

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        n_leapfrog = int(self.options.get("n_leapfrog", 10))
        jitter = float(self.options.get("jitter", 0.2))
        step = (eps * (1.0 + jitter * (2.0 * uniforms[:, 1] - 1.0)))[:, None]
        kick = 0.5 * step * betas[:, None]
        P = metric.momenta(normals)
        H0 = betas * cache["E"] + 0.5 * np.einsum("bi,bi->b", P, metric.velocity(P))
        Xn, G = X.copy(), cache["G"]
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(n_leapfrog):
                P = P - kick * G
                Xn += step * metric.velocity(P)
                E, G = self.target.energy_gradient(Xn)
                P = P - kick * G
            H1 = betas * E + 0.5 * np.einsum("bi,bi->b", P, metric.velocity(P))
            dH = H1 - H0
            finite = np.isfinite(dH)
            prob = np.where(finite, np.exp(-np.maximum(np.where(finite, dH, 0.0), 0.0)), 0.0)
            with np.errstate(divide="ignore"):
                take = active & finite & (np.log(uniforms[:, 0]) < -np.where(finite, dH, 0.0))
        divergent = active & (~finite | (dH > K.DIVERGENCE_THRESHOLD))
        X[take] = Xn[take]
        cache["E"][take] = E[take]
        cache["G"][take] = G[take]
        prob[~active] = 0.0
        # ℋ of the state the chain moves to (Stan's energy__): H1 when accepted, else H0
        hamiltonian = np.where(take, H1, H0)
        return prob, {"divergent": divergent, "n_leapfrog": np.where(active, n_leapfrog, 0),
                      "hamiltonian": hamiltonian}


class NUTSKernel(_HamiltonianKernel):
    """Multinomial NUTS, one numba call per walker and iteration, walkers spread over threads."""

    name = "nuts"
    default_target_accept = 0.8

    def __init__(self, target, options):
        super().__init__(target, options)
        self._whitened = None

    def transition(self):
        """(step function, its leading arguments) for this target."""
        target = self.target
        if target.quadratic:
            return K.nuts_step_fn, (K.quadratic_energy_gradient, target.kernel_args)
        if target.numba_energy_gradient is not None:
            return K.nuts_step_fn, target.numba_energy_gradient
        return K.nuts_step_fn.py_func, (target.python_energy_gradient, ())

    def whitening(self, metric):
        """(L, (step function, arguments)) of the whitened spin glass, or None.

        With a dense metric M⁻¹ = LLᵀ on the dense spin glass, NUTS runs in z = L⁻¹σ, where
        H = ½zᵀ(LᵀAL)z − (Lᵀh)·z and the metric is the identity: the same leapfrog trajectories
        (leapfrog is affine-covariant), with one mat-vec per step instead of two (A and M⁻¹).
        LᵀAL costs two n³ GEMMs once per metric, paid back after about 2n leapfrog steps.
        """
        target = self.target
        if not (target.quadratic and target.mode == K.DENSE and metric.dense):
            return None
        key = (id(metric), metric.version)
        if self._whitened is None or self._whitened[0] != key:
            L = np.linalg.cholesky(metric.inv_mass)
            B = L.T @ target.A @ L
            B = np.ascontiguousarray(0.5 * (B + B.T))
            args = (K.DENSE, B, _PLACEHOLDER, _PLACEHOLDER, 1.0, 0.0,
                    np.ascontiguousarray(L.T @ target.fields))
            self._whitened = (key, L, (K.nuts_step_fn, (K.quadratic_energy_gradient, args)))
        return self._whitened[1], self._whitened[2]

    def n_threads(self, n_walkers):
        """Threads for this step: the option (default numba's thread count), at most one per
        walker, and one for a potential whose gradient is plain Python (it holds the GIL)."""
        target = self.target
        if not target.quadratic and target.numba_energy_gradient is None:
            return 1
        threads = self.options.get("threads")
        threads = numba.get_num_threads() if threads is None else int(threads)
        return max(1, min(threads, n_walkers))

    def step(self, X, cache, betas, eps, active, normals, uniforms, gens, metric):
        out = self.run_block(X, cache, betas, eps, active, gens, metric, 1)
        return out["prob"][0], {key: out[key][0] for key in _INFO}

    def run_block(self, X, cache, betas, eps, active, gens, metric, n_iter):
        """``n_iter`` transitions of every active walker with nothing adapted between them.

        X and ``cache`` are advanced in place to the last state; returns the per-iteration
        arrays ``X`` (n_iter, B, n), ``E``, ``prob`` (the acceptance statistic) and the
        statistics ``divergent``, ``n_leapfrog``, ``tree_depth``, ``hamiltonian`` (n_iter, B).
        Each chunk of walkers runs its whole block in one numba call on its own thread.
        """
        max_depth = int(self.options.get("max_depth", 10))
        B, n = X.shape
        out = {"X": np.repeat(X[None], n_iter, axis=0),
               "E": np.repeat(cache["E"][None], n_iter, axis=0),
               "prob": np.zeros((n_iter, B)), "divergent": np.zeros((n_iter, B), dtype=bool),
               "n_leapfrog": np.zeros((n_iter, B), dtype=np.int64),
               "tree_depth": np.zeros((n_iter, B), dtype=np.int64),
               "hamiltonian": np.full((n_iter, B), np.nan)}
        walkers = np.flatnonzero(active)
        if walkers.size == 0:
            return out
        E, G = cache["E"], cache["G"]
        white = self.whitening(metric)
        if white is None:
            (nuts_step, args), Z, GZ = self.transition(), X.copy(), G.copy()
            metric_args = (metric.dense, metric.inv_mass_diag, metric.inv_mass,
                           metric.chol_mass)
        else:
            L, (nuts_step, args) = white
            # z = L⁻¹σ and ∇_z H = Lᵀ∇H, rows stacked
            Z = solve_triangular(L, X.T, lower=True, check_finite=False).T
            GZ = G @ L
            metric_args = (False, np.ones(n), _PLACEHOLDER, _PLACEHOLDER)
        # per walker, (n_iter, ...) rows for the numba call to fill
        traj = np.empty((B, n_iter, n))
        cols = {key: np.ascontiguousarray(out[key].T) for key in ("E", "prob", *_INFO)}
        compiled = nuts_step is K.nuts_step_fn

        def run(chunk):
            for b in chunk:
                head = (*args, float(betas[b]), *metric_args)
                z, e, g = Z[b].copy(), float(E[b]), GZ[b].copy()
                tail = (float(eps[b]), max_depth, gens[b])
                if compiled:
                    Z[b], E[b], GZ[b] = K.nuts_chain(
                        *head, z, e, g, *tail, traj[b], cols["E"][b], cols["prob"][b],
                        cols["n_leapfrog"][b], cols["tree_depth"][b], cols["divergent"][b],
                        cols["hamiltonian"][b])
                    continue
                # a plain-Python potential: the same loop as nuts_chain, one call per transition
                for t in range(n_iter):
                    z, e, g, *stats = nuts_step(*head, z, e, g, *tail)
                    traj[b, t], cols["E"][b, t] = z, e
                    for key, value in zip(("prob", *_INFO_ORDER), stats):
                        cols[key][b, t] = value
                Z[b], E[b], GZ[b] = z, e, g

        # every walker draws only from its own Generator, so the split does not change results
        threads = self.n_threads(walkers.size)
        if threads == 1:
            run(walkers)
        else:
            list(_pool(threads).map(run, np.array_split(walkers, threads)))
        for key, col in cols.items():
            out[key][:, walkers] = col[walkers].T
        if white is None:
            out["X"][:, walkers] = traj[walkers].transpose(1, 0, 2)
            X[walkers], G[walkers] = Z[walkers], GZ[walkers]
        else:
            # one GEMM back to σ = Lz for the whole block
            out["X"][:, walkers] = (traj[walkers] @ L.T).transpose(1, 0, 2)
            X[walkers] = out["X"][-1, walkers]
            G[walkers] = solve_triangular(L, GZ[walkers].T, lower=True, trans="T",
                                          check_finite=False).T
        return out


# the statistics of a transition besides its acceptance, in nuts_step_fn's return order
_INFO_ORDER = ("n_leapfrog", "tree_depth", "divergent", "hamiltonian")
_INFO = ("divergent", "n_leapfrog", "tree_depth", "hamiltonian")


@functools.lru_cache(maxsize=None)
def _pool(threads: int) -> ThreadPoolExecutor:
    # one pool per size for the whole process: creating threads per step would cost more
    # than a short NUTS transition
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="spinicl-nuts")
