"""Fig. 1 of Li, Bai & Huang (arXiv:2408.02288): the couplings and fields of the spin glass.

(a) the (D+1)×(D+1) field matrix h and (b) the (D+1)²×(D+1)² coupling matrix J of one disorder
draw (D=5, N=100, P=1000, λ0=0), built with the authors' ``get_field`` prefactor 1/(N+1); (c) the
element histograms of the five blocks, pooled over many independent draws with the model's 1/N
prefactor (the authors' ``gen_field``):

* 𝒜 — fields on the top D×D block (diagonal ≈ 1/D, off-diagonal ≈ 0);
* ℬ — fields on the last row;
* 𝒞 — couplings among top-block spins (off-diagonal);
* 𝒟 — couplings between the top block and the last row (both orderings, as the authors pool);
* ℰ — couplings within the last row (off-diagonal).

The red curves are the authors' hand-fitted guides. Their 𝒞 guide is coded as a σ = 0.024
Gaussian evaluated on a grid three times wider than the one it is drawn on, so the curve in the
paper is a σ = 0.008 Gaussian: we draw that curve.

The block extraction and pooling live in :mod:`spinicl.experiments.disorder_blocks`.
"""
from __future__ import annotations

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import panel_label, plt, style
from ..._validation import check_int
from ...experiments.disorder_blocks import (BLOCKS, disorder_blocks, fig1_disorder,
                                            population_block_moments)

__all__ = ["make"]

#: The authors' guide curves (Fig. 1c): (weight, mean, std) mixtures, as drawn in the paper.
GUIDES = {"A": ((0.82, 0.0, 0.02), (0.18, 0.2, 0.02)), "B": ((1.0, 0.0, 0.06),),
          "C": ((1.0, 0.0, 0.008),), "D": ((1.0, 0.0, 0.027),), "E": ((1.0, 0.0, 0.08),)}

#: Horizontal ranges of the paper's histogram panels.
RANGES = {"A": (-0.2, 0.4), "B": (-0.3, 0.3), "C": (-0.1, 0.1), "D": (-0.3, 0.3),
          "E": (-0.55, 0.55)}


def _gaussian_mixture(x, parts):
    """The guide curve (a drawing aid, not a fit): a mixture of Gaussian densities at ``x``."""
    return sum(w * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (np.sqrt(2 * np.pi) * sd)
               for w, mu, sd in parts)


# --------------------------------------------------------------------------- the figure
@register_figure("fig1", "Li et al. Fig. 1: field and coupling matrices and block histograms")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. 1 (D=5, N=100, P=1000, λ0=0); ``quick`` pools 150 draws instead of 20 000.

    Options: ``dim``, ``context_length``, ``n_prompts``, ``n_draws``.
    """
    dim = check_int("dim", options.pop("dim", 5), minimum=1)
    N = check_int("context_length", options.pop("context_length", 100), minimum=1)
    P = check_int("n_prompts", options.pop("n_prompts", 1000), minimum=1)
    n_draws = check_int("n_draws", options.pop("n_draws", 150 if quick else 20000), minimum=1)
    if options:
        raise TypeError(f"unknown option(s) for fig1: {', '.join(sorted(options))}")
    # (a, b): one draw with the authors' get_field prefactor 1/(N+1); (c): pooled draws with
    # the 1/N prefactor of gen_field
    model, pooled = fig1_disorder(dim, N, P, n_draws, rng=rng, progress=progress)
    h = model.fields.reshape(dim + 1, dim + 1)
    J = model.couplings
    single = disorder_blocks(J, model.fields, dim)

    theory = population_block_moments(dim, N)
    numbers = {
        "single_draw": {"A_diag_range": [single["A_diag"].min(), single["A_diag"].max()],
                        "A_off_max_abs": np.abs(single["A_off"]).max(),
                        "B_max_abs": np.abs(single["B"]).max(),
                        "C_diag_mean": single["C_diag"].mean(),
                        "E_diag_range": [single["E_diag"].min(), single["E_diag"].max()],
                        "C_std": single["C"].std(), "D_std": single["D"].std(),
                        "E_min": single["E"].min()},
        "pooled": {k: {"mean": v.mean(), "std": v.std(), "count": v.size}
                   for k, v in pooled.items()},
        "population": theory,
        "paper": {"A_diag_range": [0.19, 0.22], "A_off_max_abs": 0.06, "B_max_abs": 0.11,
                  "C_diag_mean": -0.20, "E_diag_range": [-1.35, -1.26], "C_std": 0.008,
                  "D_std": 0.024, "E_min": -0.17, "B_pooled_std": 0.0600,
                  "guide_std": {"B": 0.06, "C": 0.008, "D": 0.027, "E": 0.08}},
    }
    parameters = dict(dim=dim, context_length=N, n_prompts=P, l2=0.0, n_draws=n_draws,
                      normalization_ab="li2024 (1/(N+1))", normalization_c="model (1/N)",
                      rng=str(rng), quick=quick)

    with style():
        fig = plt.figure(figsize=(7.2, 5.0))
        gs = fig.add_gridspec(2, 5, height_ratios=[1.25, 1.0], hspace=0.42, wspace=0.45,
                              left=0.06, right=0.98, top=0.95, bottom=0.1)
        ax_h = fig.add_subplot(gs[0, :2])
        ax_J = fig.add_subplot(gs[0, 2:])
        lim_h = np.abs(h).max()
        im = ax_h.imshow(h, cmap="RdBu_r", vmin=-lim_h, vmax=lim_h)
        fig.colorbar(im, ax=ax_h, fraction=0.046, pad=0.03).set_label(r"$h_{mn}$")
        ax_h.axhline(dim - 0.5, color="k", ls="--", lw=0.8)
        ax_h.axvline(dim - 0.5, color="k", ls="--", lw=0.8)
        ax_h.text((dim - 1) / 2, (dim - 1) / 2, BLOCKS["A"], ha="center", va="center",
                  fontsize=13, color="k", alpha=0.6)
        ax_h.text((dim - 1) / 2, dim, BLOCKS["B"], ha="center", va="center", fontsize=11)
        ax_h.set_xlabel("column $n$ of $W$")
        ax_h.set_ylabel("row $m$ of $W$")
        ax_h.set_title(r"fields $h$ (one draw)")
        ticks = np.arange(dim + 1)
        ax_h.set_xticks(ticks, [str(t + 1) for t in ticks])
        ax_h.set_yticks(ticks, [str(t + 1) for t in ticks])
        panel_label(ax_h, "a")

        n_top = dim * (dim + 1)
        from matplotlib.colors import SymLogNorm

        # the last-row diagonal (≈ −1.4) is 100 times the typical off-diagonal coupling: a
        # symmetric-log scale shows both
        lim_J = np.abs(J).max()
        norm = SymLogNorm(linthresh=0.01, linscale=0.6, vmin=-lim_J, vmax=lim_J, base=10)
        im = ax_J.imshow(J, cmap="RdBu_r", norm=norm, interpolation="nearest")
        cb = fig.colorbar(im, ax=ax_J, fraction=0.046, pad=0.03)
        cb.set_label(r"$J_{ij}$ (symmetric log scale)")
        for pos in (n_top - 0.5,):
            ax_J.axhline(pos, color="k", ls="--", lw=0.8)
            ax_J.axvline(pos, color="k", ls="--", lw=0.8)
        mid_top, mid_last = (n_top - 1) / 2, n_top + dim / 2
        for (x, y), key in (((mid_top, mid_top), "C"), ((mid_last, mid_top), "D"),
                            ((mid_last, mid_last), "E")):
            ax_J.text(x, y, BLOCKS[key], ha="center", va="center", fontsize=12, alpha=0.7)
        ax_J.set_xlabel(r"spin $j$ ($m$-major order)")
        ax_J.set_ylabel(r"spin $i$")
        ax_J.set_title(r"couplings $J$ (one draw)")
        panel_label(ax_J, "b")

        for col, key in enumerate(BLOCKS):
            ax = fig.add_subplot(gs[1, col])
            lo, hi = RANGES[key]
            vals = pooled[key]
            n_bins = int(np.clip(2 * np.sqrt(vals.size), 30, 120))
            ax.hist(vals, bins=np.linspace(lo, hi, n_bins + 1), density=True, color="0.6",
                    edgecolor="none")
            x = np.linspace(lo, hi, 400)
            ax.plot(x, _gaussian_mixture(x, GUIDES[key]), color="C3", lw=0.9)
            ax.set_xlim(lo, hi)
            ax.text(0.95, 0.95, BLOCKS[key], transform=ax.transAxes, ha="right", va="top",
                    fontsize=11, color="C3")
            if key == "A":
                stat = (f"diag mean {pooled['A_diag'].mean():.3f}\n"
                        f"off sd {pooled['A_off'].std():.3f}")
            else:
                stat = f"sd {vals.std():.3f}"
            if key == "A":
                ax.text(0.95, 0.78, stat, transform=ax.transAxes, ha="right", va="top",
                        fontsize=6.5)
            else:
                ax.text(0.04, 0.95, stat, transform=ax.transAxes, ha="left", va="top",
                        fontsize=6.5)
            ax.set_xlabel({"A": "$h$ (top block)", "B": "$h$ (last row)"}.get(key, "$J_{ij}$"))
            ax.tick_params(labelsize=7)
            ax.locator_params(axis="x", nbins=3)
            if col == 0:
                ax.set_ylabel("density")
                panel_label(ax, "c")
        caption = (f"Li et al. Fig. 1 regenerated. D={dim}, N={N}, P={P}, lambda0=0, one fresh "
                   f"task per prompt. (a,b) one draw with the authors' get_field prefactor "
                   f"1/(N+1); (c) histograms pooled over {n_draws} independent draws with the "
                   f"1/N prefactor (paper: 1e5 draws); red: the authors' hand-fitted guide "
                   f"Gaussians (C drawn with sd 0.008 as in the paper's plot). "
                   f"Diagonal of J in (b): "
                   f"{single['C_diag'].mean():.3f} (top block, mean), "
                   f"{single['E_diag'].min():.2f} to {single['E_diag'].max():.2f} (last row). "
                   f"Exact P->inf means: A diag {theory['A_diag']:.3f}, "
                   f"C diag {theory['C_diag']:.3f}, "
                   f"E diag {theory['E_diag']:.3f}.")
        add_caption(fig, caption, y=0.0)
        arrays = {"h": h, "J": J, **{f"pooled_{k}": v for k, v in pooled.items()},
                  **{f"single_{k}": v for k, v in single.items()}}
        return write_outputs(out_dir, "fig1", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
