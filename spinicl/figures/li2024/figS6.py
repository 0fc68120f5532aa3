"""Fig. S6 of Li, Bai & Huang (arXiv:2408.02288): the correct solution is unique.

The merged-attention prediction is exact for a task w when (W₁₁ + w W₂₁/√D) C = I, with C = XXᵀ/N
the context covariance shared by the tasks (W₁₁ the top D×D block of W, W₂₁ the last row). The
authors solve these equations for P=10 tasks at once (D=10, N=50) by Adam (lr 1e-2, 1000 steps,
W₁₁ and W₂₁ initialised N(0, 1)) on the mean squared residual, and histogram the distance
MSE(W₁₁, I) + MSE(W₂₁, 0) over 5000 repeats: it falls from about 2 to a few hundredths.

Two different tasks force W₂₁ = 0, and then W₁₁ = C⁻¹: the solution is unique, and the remaining
distance is MSE(C⁻¹, I), small because C ≈ I (Fig. S5). We draw that exact value next to Adam's.

Data: :func:`spinicl.experiments.identity_equations.solve_identity_equations`.
"""
from __future__ import annotations

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import panel_label, plt, style
from ...experiments.identity_equations import solve_identity_equations

__all__ = ["make"]


@register_figure("figS6", "Li et al. Fig. S6: uniqueness of the correct solution "
                          "(Adam on (w W21/sqrt(D) + W11) C = I)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S6 (D=10, N=50, P=10, Adam lr 1e-2, 1000 steps); ``quick``: 50 repeats, not 5000.

    Options: ``dim``, ``context_length``, ``n_tasks``, ``repeats``, ``steps``, ``lr``.
    """
    kw = dict(dim=options.pop("dim", 10), context_length=options.pop("context_length", 50),
              n_tasks=options.pop("n_tasks", 10),
              repeats=options.pop("repeats", 50 if quick else 5000),
              steps=options.pop("steps", 1000), lr=options.pop("lr", 1e-2))
    if options:
        raise TypeError(f"unknown option(s) for figS6: {', '.join(sorted(options))}")
    res = solve_identity_equations(**kw, rng=rng, progress=progress)
    d0, d1, exact = res["distance"][0], res["distance"][-1], res["exact_distance"]
    hist, edges = np.histogram(d1, bins=np.linspace(0, max(0.3, np.quantile(d1, 0.995)), 61))
    mode = 0.5 * (edges[np.argmax(hist)] + edges[np.argmax(hist) + 1])
    numbers = {
        "initial_distance_range": [d0.min(), d0.max()],
        "final_distance_range": [d1.min(), d1.max()],
        "final_distance_median": float(np.median(d1)), "final_distance_mode": float(mode),
        "final_minus_exact_max_abs": float(np.abs(d1 - exact).max()),
        "final_minus_exact_median_abs": float(np.median(np.abs(d1 - exact))),
        "fraction_within_10pct_of_exact": float(np.mean(np.abs(d1 - exact) <= 0.1 * exact)),
        "exact_distance_median": float(np.median(exact)),
        "final_loss_max": float(res["loss"][-1].max()),
        "final_W21_rms_max": float(np.sqrt(np.mean(res["W21"] ** 2, axis=(1, 2))).max()),
        "paper": {"initial_distance_range": [1.3, 3.4], "final_distance_range": [0.03, 0.1],
                  "final_distance_mode": 0.04, "tail": 0.25},
    }
    parameters = dict(kw, init="N(0,1)", optimizer="Adam (torch conventions)", rng=str(rng),
                      quick=quick)
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.0, 2.9), constrained_layout=True)
        bins = np.geomspace(min(d1.min(), exact.min()) * 0.8, d0.max() * 1.2, 70)
        ax.hist(d0, bins=bins, color="0.7", label="initial (step 0)")
        ax.hist(d1, bins=bins, color="C0", alpha=0.8, label=f"Adam, step {kw['steps']}")
        ax.hist(exact, bins=bins, histtype="step", color="C3", lw=1.1,
                label=r"unique solution: MSE$(C^{-1}, I)$")
        ax.set_xscale("log")
        ax.set_xlabel(r"distance MSE$(W_{11}, I)$ + MSE$(W_{21}, 0)$")
        ax.set_ylabel(f"count (of {kw['repeats']} repeats)")
        ax.legend(frameon=False, fontsize=7, loc="upper center")
        ax.set_title("distance to the identity solution")
        panel_label(ax, "a")

        steps = res["steps"]
        for arr, colour, label in ((res["distance"], "C0", "distance"),
                                   (res["loss"], "C2", "training loss")):
            lo, med, hi = np.quantile(arr, [0.1, 0.5, 0.9], axis=1)
            ax2.fill_between(steps, lo, hi, color=colour, alpha=0.25, lw=0)
            ax2.plot(steps, med, color=colour, label=f"{label} (median, 10–90%)")
        ax2.axhline(np.median(exact), color="C3", ls="--", lw=0.9,
                    label=r"median MSE$(C^{-1}, I)$")
        ax2.set_yscale("log")
        ax2.set_xlabel("Adam step")
        ax2.set_title("convergence")
        ax2.legend(frameon=False, fontsize=7)
        panel_label(ax2, "b")
        caption = (
            f"Li et al. Fig. S6 regenerated: Adam (lr {kw['lr']:g}, {kw['steps']} steps, init "
            f"N(0,1)) on (W11 + w W21/sqrt(D)) C = I for P={kw['n_tasks']} tasks sharing one C, "
            f"D={kw['dim']}, N={kw['context_length']}, {kw['repeats']} repeats (paper: 5000). "
            f"Final distance median {numbers['final_distance_median']:.3f}, mode "
            f"{mode:.3f} (paper: mode 0.04, range 0.03-0.1, tail to 0.25). The unique solution "
            f"W11 = C^-1, W21 = 0 has distance MSE(C^-1, I) (red); Adam is within 10% of it in "
            f"{100 * numbers['fraction_within_10pct_of_exact']:.0f}% of repeats (median |diff| "
            f"{numbers['final_minus_exact_median_abs']:.1e}); the rest are still converging "
            f"at step {kw['steps']}.")
        add_caption(fig, caption)
        arrays = {k: res[k] for k in ("steps", "distance", "loss", "exact_distance")}
        return write_outputs(out_dir, "figS6", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
