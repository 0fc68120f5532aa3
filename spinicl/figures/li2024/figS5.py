"""Fig. S5 of Li, Bai & Huang (arXiv:2408.02288): why the context covariance C ≈ I.

The correct in-context solution is W₁₁ = C⁻¹ with C = XXᵀ/N the empirical covariance of the N
context inputs (X of size D×N, entries N(0, 1)). Its eigenvalues follow the Marchenko–Pastur law
with ratio q = D/N,

    ρ(λ) = √((λ₊ − λ)(λ − λ₋)) / (2π q λ),   λ± = (1 ± √q)²,

which concentrates at 1 as N/D grows, so C⁻¹ → I. We draw C from its exact law, the Wishart
distribution W_D(N, I/N) (Bartlett decomposition, O(D²) per matrix instead of O(D²N)), and check
the pooled eigenvalue variance against its exact finite-D value E[tr C²]/D − 1 = (D+1)/N.
"""
from __future__ import annotations

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import plt, style
from ..._validation import check_int
from ...experiments.covariance_spectra import covariance_spectra
from ...theory.random_matrix import marchenko_pastur_density

__all__ = ["make"]


@register_figure("figS5", "Li et al. Fig. S5: eigenvalues of C = XX^T/N against Marchenko-Pastur")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S5 (D=100, N/D ∈ {1, 5, 10, 20, 50, 100}); ``quick``: D=30, 60 matrices per ratio.

    Options: ``dim``, ``ratios`` (N/D values), ``n_matrices``.
    """
    dim = check_int("dim", options.pop("dim", 30 if quick else 100), minimum=1)
    ratios = [check_int("ratios", r, minimum=1)
              for r in options.pop("ratios", (1, 5, 10, 20, 50, 100))]
    n_matrices = check_int("n_matrices", options.pop("n_matrices", 60 if quick else 1000),
                           minimum=2)
    if options:
        raise TypeError(f"unknown option(s) for figS5: {', '.join(sorted(options))}")
    eig = covariance_spectra(dim, ratios, n_matrices, rng=rng, progress=progress)
    numbers = {}
    for i, r in enumerate(ratios):
        N = r * dim
        q = dim / N
        per_matrix = np.sum(eig[i] ** 2, axis=1) / dim - 1.0  # tr C²/D − 1, mean (D+1)/N
        numbers[f"N/D={r}"] = {
            "pooled_variance": float(per_matrix.mean()),
            "pooled_variance_stderr": float(per_matrix.std(ddof=1) / np.sqrt(n_matrices)),
            "pooled_variance_exact": (dim + 1) / N, "mp_variance": q,
            "min": float(eig[i].min()), "max": float(eig[i].max()),
            "mp_edges": [(1 - np.sqrt(q)) ** 2, (1 + np.sqrt(q)) ** 2],
            "mean": float(eig[i].mean()),
        }
    parameters = dict(dim=dim, ratios=ratios, n_matrices=n_matrices,
                      sampler="scipy.stats.wishart (exact law of XX^T/N)", rng=str(rng),
                      quick=quick)
    with style():
        fig, axes = plt.subplots(2, 3, figsize=(7.2, 4.3), constrained_layout=True)
        for i, (ax, r) in enumerate(zip(axes.flat, ratios)):
            q = 1.0 / r
            lo, hi = (1 - np.sqrt(q)) ** 2, (1 + np.sqrt(q)) ** 2
            pad = 0.15 * (hi - lo)
            bins = np.linspace(max(lo - pad, 0.0), hi + pad, 60)
            ax.hist(eig[i].ravel(), bins=bins, density=True, color="0.65", edgecolor="none",
                    label="eigenvalues of $C$")
            x = np.linspace(bins[0], bins[-1], 800)
            ax.plot(x, marchenko_pastur_density(x, q), color="C3", lw=1.1,
                    label="Marchenko–Pastur")
            ax.axvline(1.0, color="0.3", ls=":", lw=0.7)
            ax.set_xlim(bins[0], bins[-1])
            if r == 1:
                ax.set_ylim(0, 1.6)
            ax.set_title(rf"$N/D = {r}$")
            ax.text(0.97, 0.95, rf"var {numbers[f'N/D={r}']['pooled_variance']:.3f}"
                    "\n" rf"exact $\frac{{D+1}}{{N}}$ = {(dim + 1) / (r * dim):.3f}",
                    transform=ax.transAxes, ha="right", va="top", fontsize=6.5)
            ax.locator_params(axis="x", nbins=4)
            if i % 3 == 0:
                ax.set_ylabel("density")
            if i >= 3:
                ax.set_xlabel(r"eigenvalue $\lambda$ of $C = XX^\top/N$")
        axes.flat[0].legend(frameon=False, fontsize=6.5, loc="center right")
        for ax in axes.flat[len(ratios):]:
            ax.set_visible(False)
        caption = (f"Li et al. Fig. S5 regenerated: eigenvalues of the context covariance "
                   f"C = XX^T/N, D={dim}, {n_matrices} matrices per N/D (paper: D=100, 1e4 "
                   f"matrices), drawn from the exact Wishart law. Red: Marchenko-Pastur density "
                   f"with q = D/N; the spectrum concentrates at 1 as N/D grows, so C^-1 -> I. "
                   f"Top right of each panel: pooled eigenvalue variance and its exact value "
                   f"(D+1)/N.")
        add_caption(fig, caption)
        arrays = {"ratios": np.array(ratios), "eigenvalues": eig}
        return write_outputs(out_dir, "figS5", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
