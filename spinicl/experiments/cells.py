"""The spin-glass sweep cells: pure functions of their parameters and a seed, by kind name.

Registered with the sweep engine's registry (:func:`spinicl.sweep.register_cell`) when
:mod:`spinicl.experiments` is imported; the engine imports this package by name on a lookup
miss, so ``kind = "exact"`` in a TOML file finds them without the engine depending on them.

* ``"exact"`` — the exact Boltzmann measure along a nested prompt axis (the phase diagram);
* ``"exact-cg"`` — its mean by matrix-free preconditioned CG, for large D;
* ``"amp-li2024"`` — the authors' AMP, batched over the nested prompt axis (Fig. 4(a));
* ``"sampled"`` — thermal averages from an MCMC sampler beside exact i.i.d. draws.

Every child stream is :func:`spinicl._validation.child_seed` of the cell's seed, so a cell
called twice with the same seed returns the same numbers (``SeedSequence.spawn`` would advance
the seed's counter and give new ones the second time).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from .._validation import as_seed_sequence, child_seed
from ..attention import feature_factors
from ..hamiltonian import SpinGlass
from ..observables import contrast_ratio, identity_overlap, population_test_error
from ..prompts import sample_prompts
from ..solvers.direct import inverse_diagonal
from ..sweep.cells import Parameter, register_cell
from .phase_diagram import measure_observables

__all__ = ["exact_cell", "exact_cg_cell", "amp_li2024_cell", "sampled_cell"]

# Declarations shared by the kinds below.
_SIZE = Parameter(int, minimum=1)
_NON_NEGATIVE = Parameter(float, minimum=0.0)
_POSITIVE = Parameter(float, minimum=0.0, strict_min=True)
_NORMALIZATION = Parameter(str, choices=("model", "li2024"))
#: The preconditioners of :func:`spinicl.solvers.solve_cg` the exact-cg cell accepts.
_CG_PRECONDITIONERS = ("jacobi", "kronecker", "none")
_INSTANCE = dict(dim=_SIZE, context_length=_SIZE, n_prompts=_SIZE, l2=_NON_NEGATIVE,
                 beta=_POSITIVE, normalization=_NORMALIZATION)


def _sampler_methods():
    from ..samplers import METHODS

    return tuple(METHODS)


@register_cell("exact", nested="n_prompts",
               description="exact Boltzmann measure: contrast ratio, ICL and Gibbs errors",
               parameters=_INSTANCE)
def exact_cell(*, dim, context_length, n_prompts, l2=1e-3, beta=100.0, normalization="model",
               rng=None):
    """Exact-measure observables for nested prompt sets P_1 < P_2 < … (one draw of max P).

    Every observable is closed-form in the mean m = A⁻¹h and the variances diag(βA)⁻¹
    (:func:`~spinicl.experiments.phase_diagram.measure_observables`), so no measure object is
    built. The D+1 dead spins (the query's label slot is 0) are decoupled and enter no
    observable, so only the (D+1)·D live ones are solved. Below n_live prompts the P×P dual
    (l2·P I + S Sᵀ, whose entries (c·c')(q·q') come from the factors) is factored instead of
    the n_live×n_live primal: m = Sᵀ K⁻¹ y, and the Gibbs error needs only two traces of A⁻¹
    (all live spins: (n − P + l2 P tr K⁻¹)/l2; the last row: a D-column triangular solve).
    Above, the Gram SᵀS is accumulated over the nested prefixes by SYRK and each P is one
    POTRF, POTRS and triangular inverse. Agrees with
    :func:`_exact_cell_reference` (one :class:`BoltzmannMeasure` per P) to round-off; at
    l2 = 0 (the pseudo-inverse) and wherever the reference would leave its Cholesky path for an
    eigendecomposition, the reference computes that P.
    """
    counts = np.atleast_1d(np.asarray(n_prompts, dtype=int))
    if np.any(counts < 1):
        raise ValueError(f"n_prompts must be >= 1, got {counts.min()}")
    if l2 == 0:
        return _exact_cell_reference(dim=dim, context_length=context_length,
                                     n_prompts=n_prompts, l2=l2, beta=beta,
                                     normalization=normalization, rng=rng)
    dim, N = int(dim), int(context_length)
    prompts = sample_prompts(dim, N, int(counts.max()), rng=rng)
    context, query = feature_factors(prompts, normalization=normalization)
    targets = prompts.targets
    m = dim + 1
    live = m * dim                      # spins W[a, b] with b < D; b = D is the dead column
    query = np.ascontiguousarray(query[:, :dim])
    means = np.empty((counts.size, live))
    # Σ diag A⁻¹ over all live spins and over the last row (a = D, the last D live spins): all
    # that the Gibbs error needs of the variances
    trace = np.empty(counts.size)
    trace_row = np.empty(counts.size)
    reference = []
    dual = [k for k in range(counts.size) if counts[k] < live]
    primal = [k for k in range(counts.size) if counts[k] >= live]
    if dual:
        top = int(counts[dual].max())
        kernel = (context[:top] @ context[:top].T) * (query[:top] @ query[:top].T)
        # the last-row features s[p, D·D + b] = c_p[D] q_p[b]
        row = context[:top, dim:] * query[:top]
        for k in dual:
            P = int(counts[k])
            K = kernel[:P, :P] + (l2 * P) * np.eye(P)
            factor = sla.cholesky(K, lower=True, check_finite=False)
            alpha = sla.cho_solve((factor, True), targets[:P], check_finite=False)
            means[k] = ((context[:P].T * alpha) @ query[:P]).ravel()
            # A⁻¹ = (I − Sᵀ K⁻¹ S)/l2 and S Sᵀ = K − l2 P I give tr A⁻¹ = (n − P + l2 P tr K⁻¹)/l2
            trace[k] = (live - P + l2 * P * inverse_diagonal(factor).sum()) / l2
            whitened = sla.solve_triangular(factor, row[:P], lower=True, check_finite=False)
            trace_row[k] = (dim - np.einsum("pi,pi->", whitened, whitened)) / l2
            diag_gram = ((context[:P] ** 2).T @ query[:P] ** 2).ravel() / P
            if not _reference_takes_cholesky(l2, diag_gram, m * m):
                reference.append(k)
    if primal:
        # only the lower triangles: the Gram by SYRK, the factors by POTRF (numpy's stacked
        # cholesky measured 2.5× slower than LAPACK's at n = 420)
        gram = np.zeros((live, live), order="F")
        proj = np.zeros(live)
        done = 0
        for k in sorted(primal, key=lambda k: counts[k]):
            P = int(counts[k])
            if P > done:
                S = (context[done:P, :, None] * query[done:P, None, :]).reshape(P - done, live)
                gram = sla.blas.dsyrk(1.0, S, beta=1.0, c=gram, trans=1, lower=1,
                                      overwrite_c=1)
                proj += S.T @ targets[done:P]
                done = P
            hessian = gram * (1.0 / P)
            hessian.flat[::live + 1] += l2
            L, info = sla.lapack.dpotrf(hessian, lower=1, clean=1, overwrite_a=1)
            d = np.diag(L) ** 2 if info == 0 else None
            # the reference's test on its factor, whose dead spins add diag(L)² = l2
            if info != 0 or not (min(d.min(), l2)
                                 > max(d.max(), l2) * m * m * np.finfo(float).eps * 1e3):
                reference.append(k)
                continue
            means[k] = sla.lapack.dpotrs(L, proj / P, lower=1)[0]
            diagonal = inverse_diagonal(L)          # the last row's spins are the last D
            trace[k] = diagonal.sum()
            trace_row[k] = diagonal[-dim:].sum()
    W = np.zeros((counts.size, m, m))
    W[:, :, :dim] = means.reshape(-1, m, dim)
    out = _closed_form_observables(W, (trace - trace_row) / beta, trace_row / beta, N,
                                   normalization)
    for k in reference:
        exact = _exact_cell_reference(dim=dim, context_length=N, n_prompts=int(counts[k]),
                                      l2=l2, beta=beta, normalization=normalization, rng=rng)
        for name, value in exact.items():
            out[name][k] = value
    return out if np.ndim(n_prompts) else {k: float(v[0]) for k, v in out.items()}


def _reference_takes_cholesky(l2, diag_gram, n):
    """Whether BoltzmannMeasure surely keeps its Cholesky factor (diag(L)² ∈ [λ_min, max A_ii]).

    It keeps it when min diag(L)² > max diag(L)² · n ε 10³; λ_min(A) >= l2 and diag(L)² <= A_ii
    bound the two sides, so l2 > max A_ii · n ε 10³ is sufficient.
    """
    largest = l2 + (float(diag_gram.max()) if diag_gram.size else 0.0)
    return l2 > max(largest, l2) * n * np.finfo(float).eps * 1e3


def _closed_form_observables(W, variance_rows, variance_last_row, context_length,
                             normalization):
    """measure_observables for a stack of means W (k, m, m) and the summed live variances of
    the first D rows and of the last row, each (k,)."""
    from ..observables import _population_moments

    D = W.shape[-1] - 1
    icl = np.atleast_1d(population_test_error(W, context_length, normalization=normalization))
    c11, c22, _, _, sx2, _ = _population_moments(D, context_length, 1.0, 1.0, 0.0, "li2024")
    scale = (context_length / (context_length + 1)) ** 2 if normalization == "li2024" else 1.0
    quad = sx2 * scale * (c11 * variance_rows + c22 * variance_last_row)
    return {"contrast_ratio": np.atleast_1d(contrast_ratio(W)), "icl_error": icl,
            "gibbs_error": icl + quad, "identity_overlap": np.atleast_1d(identity_overlap(W))}


def _exact_cell_reference(*, dim, context_length, n_prompts, l2=1e-3, beta=100.0,
                          normalization="model", rng=None):
    """The "exact" cell as it was: one SpinGlass and BoltzmannMeasure per P (the oracle of the
    fast path and the benchmark's baseline; same draw, same observables)."""

    counts = np.atleast_1d(np.asarray(n_prompts, dtype=int))
    if np.any(counts < 1):
        raise ValueError(f"n_prompts must be >= 1, got {counts.min()}")
    order = np.argsort(counts, kind="stable")
    prompts = sample_prompts(int(dim), int(context_length), int(counts.max()), rng=rng)
    context, query = feature_factors(prompts, normalization=normalization)
    m = context.shape[1]
    gram = np.zeros((m * m, m * m))
    proj = np.zeros(m * m)
    done = 0
    out: dict[str, np.ndarray] = {}
    for k in order:
        P = int(counts[k])
        if P > done:
            S = (context[done:P, :, None] * query[done:P, None, :]).reshape(P - done, m * m)
            gram += S.T @ S
            proj += S.T @ prompts.targets[done:P]
            done = P
        model = SpinGlass(couplings=-gram / P, fields=proj / P,
                          self_couplings=l2 + np.diag(gram) / P)
        model.normalization = normalization
        measure = model.boltzmann(beta, pseudo_inverse=(l2 == 0))
        for name, value in measure_observables(measure, int(context_length)).items():
            out.setdefault(name, np.empty(counts.size))[k] = value
    return out if np.ndim(n_prompts) else {k: float(v[0]) for k, v in out.items()}


# as a sweep kind "spinicl.experiments.cells:_exact_cell_reference" (benchmarks/bench_sweep.py)
_exact_cell_reference.nested_axis = "n_prompts"


def _chunked_feature_factors(dim, context_length, n_prompts, rng, chunk, normalization):
    """Feature factors of n_prompts prompts drawn chunk by chunk (chunk j: child j of rng).

    Only 2·(D+1)+1 numbers per prompt are kept, so P·(D+1)·(N+1) tokens never sit in memory.
    """

    root = as_seed_sequence(rng)
    contexts, queries, targets = [], [], []
    for j, start in enumerate(range(0, n_prompts, chunk)):
        size = min(chunk, n_prompts - start)
        prompts = sample_prompts(dim, context_length, size, rng=child_seed(root, j))
        c, q = feature_factors(prompts, normalization=normalization)
        contexts.append(c)
        queries.append(q)
        targets.append(prompts.targets)
    return np.concatenate(contexts), np.concatenate(queries), np.concatenate(targets)


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@register_cell("exact-cg", nested="n_prompts",
               description="matrix-free Boltzmann mean by preconditioned CG (large D)",
               parameters=dict(_INSTANCE, l2=_POSITIVE, tol=_POSITIVE, chunk=_SIZE,
                               preconditioner=Parameter(str, choices=_CG_PRECONDITIONERS)))
def exact_cg_cell(*, dim, context_length, n_prompts, l2=1e-3, tol=1e-8, chunk=1024,
                  normalization="model", preconditioner="jacobi", rng=None):
    """ICL error and contrast ratio of the mean A⁻¹h without ever forming the n×n couplings.

    Each A·v costs two (P, D+1)×(D+1) GEMMs through s = c ⊗ q; conjugate gradients
    (:func:`spinicl.solvers.solve_cg`) with the chosen preconditioner — "jacobi" (default,
    diag A: it equalises the very different curvatures of the top block and the last row),
    "kronecker" ((α C ⊗ Q + λ0 I)⁻¹ from the factors' second moments) or "none" — solve
    A m = h, warm-started along the nested P axis from the previous solution. Memory stays
    O(P·D + D²) for any D.
    """
    from ..solvers import solve_cg
    from ..solvers.direct import _FactoredProduct

    counts = np.atleast_1d(np.asarray(n_prompts, dtype=int))
    if np.any(counts < 1):
        raise ValueError(f"n_prompts must be >= 1, got {counts.min()}")
    if l2 <= 0:
        raise ValueError("exact-cg needs l2 > 0 (CG on a singular Hessian has no unique answer)")
    if preconditioner not in _CG_PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {list(_CG_PRECONDITIONERS)}, "
                         f"got {preconditioner!r}")
    context, query, targets = _chunked_feature_factors(int(dim), int(context_length),
                                                       int(counts.max()), rng, int(chunk),
                                                       normalization)
    m = dim + 1
    out = {k: np.empty(counts.size) for k in ("contrast_ratio", "icl_error",
                                              "identity_overlap", "cg_iterations",
                                              "relative_residual", "peak_rss_mib")}
    previous = None
    for k in np.argsort(counts, kind="stable"):
        P = int(counts[k])
        model = SpinGlass.from_feature_factors(context[:P], query[:P], targets[:P], l2=l2,
                                               normalization=normalization)
        result = solve_cg(model, 1.0, tol=tol, max_iter=20 * model.n_spins, init=previous,
                          operator="factored", preconditioner=preconditioner)
        previous = result
        W = result.mean.reshape(m, m)
        out["contrast_ratio"][k] = contrast_ratio(W)
        out["identity_overlap"][k] = identity_overlap(W)
        out["icl_error"][k] = population_test_error(W, int(context_length),
                                                    normalization=normalization)
        out["cg_iterations"][k] = result.n_iter
        # the true residual |h − A m| / |h| (the recursion's own drifts in floating point)
        residual = np.linalg.norm(_FactoredProduct(model) @ result.mean - model.fields) \
            / np.linalg.norm(model.fields)
        out["relative_residual"][k] = residual if result.converged else np.nan
        out["peak_rss_mib"][k] = _peak_rss_mib()
    return out if np.ndim(n_prompts) else {k: float(v[0]) for k, v in out.items()}


@register_cell("amp-li2024", nested="n_prompts",
               description="the authors' AMP (li2024 variant), batched over the nested P axis",
               parameters=dict(_INSTANCE, damping=Parameter(float, minimum=0.0, maximum=1.0,
                                                            strict_max=True),
                               max_iter=_SIZE, tol=_NON_NEGATIVE,
                               precision=Parameter(str, choices=("float32", "float64"))))
def amp_li2024_cell(*, dim, context_length, n_prompts, l2=1.0, beta=100.0,
                    normalization="li2024", damping=0.9, max_iter=100, tol=1e-6,
                    precision="float32", rng=None):
    """Contrast ratio and ICL error of the li2024 AMP mean, as in Fig. 4(a) of Li et al.

    The couplings of the nested prompt sets are accumulated incrementally and all P values are
    solved in one batched call. Runs whose final error exceeds ``tol`` are reported as NaN (the
    authors' convergence masking) with ``converged = 0``; average over repeats with ``nanmean``.
    """
    from ..solvers import solve_li2024_batch

    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', got {precision!r}")
    counts = np.atleast_1d(np.asarray(n_prompts, dtype=int))
    if np.any(counts < 1):
        raise ValueError(f"n_prompts must be >= 1, got {counts.min()}")
    root = as_seed_sequence(rng)
    prompt_seed, init_seed = child_seed(root, 0), child_seed(root, 1)
    prompts = sample_prompts(int(dim), int(context_length), int(counts.max()), rng=prompt_seed)
    context, query = feature_factors(prompts, normalization=normalization)
    m = context.shape[1]
    n = m * m
    B = counts.size
    couplings = np.empty((B, n, n), dtype=precision)
    fields = np.empty((B, n))
    gram = np.zeros((n, n))
    proj = np.zeros(n)
    done = 0
    for k in np.argsort(counts, kind="stable"):
        P = int(counts[k])
        if P > done:
            S = (context[done:P, :, None] * query[done:P, None, :]).reshape(P - done, n)
            gram += S.T @ S
            proj += S.T @ prompts.targets[done:P]
            done = P
        couplings[k] = -gram / P
        fields[k] = proj / P
    self_couplings = l2 - np.diagonal(couplings, axis1=1, axis2=2).astype(float)
    result = solve_li2024_batch(couplings, fields, self_couplings, beta, damping=damping,
                                max_iter=max_iter, tol=tol, rng=init_seed,
                                dtype=np.dtype(precision).type)
    W = result.mean.reshape(B, m, m)
    ok = result.converged
    cr = np.where(ok, contrast_ratio(W), np.nan)
    err = np.where(ok, population_test_error(W, int(context_length),
                                             normalization=normalization), np.nan)
    out = {"contrast_ratio": cr, "icl_error": err, "converged": ok.astype(float),
           "n_iter": result.n_iter.astype(float)}
    return out if np.ndim(n_prompts) else {k: float(v[0]) for k, v in out.items()}


@register_cell("sampled", description="thermal averages from an MCMC sampler, beside the exact "
                                      "measure",
               parameters=dict(_INSTANCE, method=Parameter(str, choices=_sampler_methods),
                               n_chains=_SIZE, n_draws=_SIZE,
                               n_warmup=Parameter(int, minimum=0)))
def sampled_cell(*, dim, context_length, n_prompts, beta, l2=1e-2, method="hmc", n_chains=4,
                 n_draws=400, n_warmup=300, rng=None):
    """⟨contrast ratio⟩_β and ⟨overlap⟩_β of the weights sampled by ``method``.

    The same averages from exact i.i.d. draws of N(A⁻¹h, (βA)⁻¹) (as many as the sampler's
    effective sample size would need to match) are returned alongside, with the sampler's MCSE
    and R̂, so a phase diagram from samplers carries its own check.
    """
    from ..samplers import sample

    root = as_seed_sequence(rng)
    prompt_seed, chain_seed, exact_seed = (child_seed(root, i) for i in range(3))
    prompts = sample_prompts(int(dim), int(context_length), int(n_prompts), rng=prompt_seed)
    model = SpinGlass.from_prompts(prompts, l2=l2)
    samples = sample(model, beta, method=method, n_chains=int(n_chains), n_draws=int(n_draws),
                     # exact draws are i.i.d.: it takes no warm-up (None counts as not given)
                     n_warmup=None if method == "exact" else int(n_warmup), rng=chain_seed,
                     progress=False,
                     observables=["contrast_ratio", "energy"], keep_draws=False)
    stats = samples.stats("contrast_ratio")
    exact_draws = model.boltzmann(beta).sample(int(n_chains) * int(n_draws), rng=exact_seed)
    exact_cr = contrast_ratio(exact_draws.reshape(-1, dim + 1, dim + 1))
    return {"contrast_ratio": stats.mean, "contrast_ratio_mcse": stats.error_of_mean,
            "r_hat": stats.R_hat, "ess_bulk": stats.ess_bulk,
            "exact_contrast_ratio": float(np.mean(exact_cr)),
            "exact_contrast_ratio_se": float(np.std(exact_cr) / np.sqrt(exact_cr.size)),
            "acceptance": float(np.mean(samples.acceptance_rate))}
