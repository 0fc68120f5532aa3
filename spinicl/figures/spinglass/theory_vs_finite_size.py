"""The replica-symmetric theory (D → ∞) against the exact finite-size measure, D = 10 … 200.

Data: :func:`spinicl.experiments.finite_size_gap.theory_vs_finite_size` (a resumable sweep of
exact-measure cells plus the theory). Panels: (a) e_ICL of the mean, (b) the Gibbs error, (c) the
free energy per spin, (d) the gap |finite − theory| against D (averaged over τ) with a 1/D guide,
(e) the overlap with the identity and the norm, (f) the ridgeless double descent for several task
diversities κ with Lu et al.'s closed forms as markers. With the finite-size scaling
(:func:`~spinicl.experiments.finite_size_gap.finite_size_scaling`, the Boltzmann mean by
matrix-free CG at D = 10 … 200) a third row shows (g) e_ICL of the mean against τ at every D,
(h) gap × D against D with the fits a/D and a/D + b/D², (i) the gap itself on log axes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot", "make"]


def _mean_se(values):
    mean = values.mean(axis=-1)
    se = values.std(axis=-1, ddof=1) / np.sqrt(values.shape[-1]) if values.shape[-1] > 1 \
        else np.zeros_like(mean)
    return mean, se


def plot(data, path=None):
    """Draw the six panels from the data of
    :func:`spinicl.experiments.finite_size_gap.theory_vs_finite_size`."""
    dims, taus = data["dims"], data["taus"]
    colours = plt.cm.viridis(np.linspace(0.15, 0.8, dims.size))
    scaling = "scaling_dims" in data
    with style():
        fig, grid = plt.subplots(3 if scaling else 2, 3,
                                 figsize=(10.4, 9.3 if scaling else 6.2),
                                 constrained_layout=True)
        axes = grid[:2]
        panels = [("icl_error", r"$e_{\mathrm{ICL}}$ of the Gibbs mean", axes[0, 0]),
                  ("gibbs_error", r"Gibbs error $\langle e_{\mathrm{ICL}}\rangle_\beta$",
                   axes[0, 1]),
                  ("free_energy", r"free energy per spin $f$", axes[0, 2])]
        for key, label, ax in panels:
            ax.plot(data["dense_taus"], data[f"theory_{key}"], color="k", lw=1.4,
                    label=r"RS theory, $D\to\infty$")
            for c, D, i in zip(colours, dims, range(dims.size)):
                mean, se = _mean_se(data[f"finite_{key}"][i])
                ax.errorbar(taus * (1 + 0.012 * (i - 1)), mean, yerr=se, color=c, marker="o",
                            ms=3, lw=0, elinewidth=1, capsize=1.5, label=rf"exact, $D={D}$")
            ax.set_xlabel(r"task diversity $\tau = P/D^2$")
            ax.set_ylabel(label)
            ax.axvline(1.0, color="0.6", ls=":", lw=0.8)
        axes[0, 0].set_yscale("log")
        axes[0, 1].set_yscale("log")
        axes[0, 0].legend(frameon=False, loc="upper right")
        ax = axes[1, 0]
        markers = {"icl_error": "o", "gibbs_error": "s", "free_energy": "^"}
        for key, marker in markers.items():
            gap = np.abs(data[f"finite_{key}"].mean(axis=-1)
                         - data[f"theory_at_cells_{key}"][None, :])
            ax.loglog(dims, gap.mean(axis=1), marker=marker, ms=4, lw=1.0,
                      label={"icl_error": r"$e_{\mathrm{ICL}}$", "gibbs_error": "Gibbs error",
                             "free_energy": r"$f$"}[key])
        guide = gap.mean(axis=1)[0] * dims[0] / dims
        ax.loglog(dims, guide, color="0.5", ls="--", lw=0.8, label=r"$\propto 1/D$")
        ax.set_xlabel(r"dimension $D$")
        ax.set_ylabel(r"$|$exact $-$ theory$|$ (mean over $\tau$)")
        ax.set_xticks(dims)
        ax.set_xticklabels([str(d) for d in dims])
        ax.minorticks_off()
        ax.legend(frameon=False)
        ax = axes[1, 1]
        for key, ls, label in (("identity_overlap", "-", r"$q_I=\mathrm{tr}\,W/D$"),
                               ("norm", "--", r"$Q=\|W\|_F^2/D$")):
            ax.plot(data["dense_taus"], data[f"theory_{key}"], color="k", ls=ls, lw=1.3,
                    label=label)
            for c, i in zip(colours, range(dims.size)):
                mean, se = _mean_se(data[f"finite_{key}"][i])
                ax.errorbar(taus, mean, yerr=se, color=c, marker="o" if ls == "-" else "s",
                            ms=3, lw=0, elinewidth=1, capsize=1.5)
        ax.set_xlabel(r"task diversity $\tau = P/D^2$")
        ax.set_ylabel("order parameters of the mean")
        ax.legend(frameon=False)
        ax = axes[1, 2]
        fam_colours = plt.cm.plasma(np.linspace(0.1, 0.8, data["kappas"].size))
        for c, kappa, icl, lu in zip(fam_colours, data["kappas"], data["family_icl"],
                                     data["lu_markers"]):
            name = r"\infty" if np.isinf(kappa) else f"{kappa:g}"
            ax.plot(data["ridgeless_taus"], icl, color=c, lw=1.2, label=rf"$\kappa={name}$")
            ax.plot(data["marker_taus"], lu, ls="", marker="x", color=c, ms=5)
        ax.plot([], [], ls="", marker="x", color="0.3", label="Lu et al. closed form")
        ax.axhline(1 / (1 + float(data["alpha"])), color="0.5", ls="--", lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(0.1, 30)
        ax.set_xlabel(r"task diversity $\tau = P/D^2$")
        ax.set_ylabel(r"ridgeless $e_{\mathrm{ICL}}$ ($\lambda=0$, $\beta=\infty$)")
        ax.legend(frameon=False, loc="upper right", ncol=1)
        if scaling:
            _plot_scaling(data, grid[2])
        for letter, a in zip("abcdefghi", grid.ravel()):
            panel_label(a, letter)
        fig.suptitle(rf"Replica-symmetric theory vs exact measure: "
                     rf"$\alpha=N/D={float(data['alpha']):g}$,"
                     rf" $\lambda=D\lambda_0={float(data['l2']):g}$, $\hat\beta=\beta/D^2="
                     rf"{float(data['beta']):g}$, fresh task per prompt; "
                     rf"{int(data['repeats'])} disorder draws per point (mean $\pm$ s.e.)",
                     fontsize=9)
        if path is None:
            return fig
        return save_figure(fig, path)


def _fit_label(data, name):
    coef = data[f"scaling_{name}_coefficients"]
    err = data[f"scaling_{name}_standard_errors"]
    terms = [rf"{c:.2f}\pm{e:.2f}" for c, e in zip(coef, err)]
    body = rf"${terms[0]}/D$" if len(terms) == 1 else rf"$({terms[0]})/D+({terms[1]})/D^2$"
    return f"fit {body}, " + rf"$\chi^2/\nu={float(data[f'scaling_{name}_chi2_per_dof']):.2g}$"


def _plot_scaling(data, row):
    """Row three: the matrix-free finite-size scaling of e_ICL of the Boltzmann mean."""
    dims, taus = data["scaling_dims"], data["scaling_taus"]
    colours = plt.cm.cividis(np.linspace(0.0, 0.85, dims.size))
    ax = row[0]
    ax.plot(data["dense_taus"], data["theory_icl_error"], color="k", lw=1.4,
            label=r"RS theory, $D\to\infty$")
    for i, (c, D) in enumerate(zip(colours, dims)):
        mean, se = _mean_se(data["scaling_icl_error"][i])
        ax.errorbar(taus * (1 + 0.01 * (i - dims.size / 2)), mean, yerr=se, color=c, marker="o",
                    ms=3, lw=0, elinewidth=1, capsize=1.5, label=rf"CG, $D={D}$")
    ax.axvline(1.0, color="0.6", ls=":", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel(r"task diversity $\tau = P/D^2$")
    ax.set_ylabel(r"$e_{\mathrm{ICL}}$ of the mean $A^{-1}h$ (matrix-free)")
    ax.legend(frameon=False, fontsize=6.5, loc="upper right")
    fine = np.geomspace(dims.min() * 0.9, dims.max() * 1.1, 200)
    fits = [(name, ls) for name, ls in (("fit1", "--"), ("fit2", "-"))
            if f"scaling_{name}_coefficients" in data]
    ax = row[1]
    ax.errorbar(dims, data["scaling_gap_times_dim"], yerr=data["scaling_gap_times_dim_se"],
                color="C3", marker="o", ms=4, lw=0, elinewidth=1, capsize=2,
                label=r"$D\,\overline{(e_D-e_\infty)}_\tau$")
    for name, ls in fits:
        coef = data[f"scaling_{name}_coefficients"]
        curve = sum(a * fine ** -k for k, a in enumerate(coef))     # D·Σ a_k/D^(k+1)
        ax.plot(fine, curve, color="0.3", ls=ls, lw=1.0, label=_fit_label(data, name))
    ax.set_xscale("log")
    ax.set_xticks(dims)
    ax.set_xticklabels([str(d) for d in dims])
    ax.minorticks_off()
    ax.set_xlabel(r"dimension $D$")
    ax.set_ylabel(r"gap $\times D$ (mean over $\tau$)")
    ax.legend(frameon=False, fontsize=6.2)
    ax = row[2]
    gap, se = data["scaling_gap_mean"], data["scaling_gap_se"]
    ax.errorbar(dims, np.abs(gap), yerr=se, color="C3", marker="o", ms=4, lw=0, elinewidth=1,
                capsize=2, label=r"$|\overline{e_D-e_\infty}|_\tau$")
    for name, ls in fits:
        coef = data[f"scaling_{name}_coefficients"]
        ax.plot(fine, np.abs(sum(a * fine ** -(k + 1) for k, a in enumerate(coef))),
                color="0.3", ls=ls, lw=1.0, label={"fit1": r"$a/D$",
                                                   "fit2": r"$a/D+b/D^2$"}[name])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(dims)
    ax.set_xticklabels([str(d) for d in dims])
    ax.minorticks_off()
    ax.set_xlabel(r"dimension $D$")
    ax.set_ylabel(r"gap of $e_{\mathrm{ICL}}$ to the RS theory")
    ax.legend(frameon=False, fontsize=6.5)


@register_figure("theory-vs-finite-size",
                 "Replica-symmetric theory against the exact measure at D = 10, 20, 40, and its "
                 "finite-size scaling (matrix-free) up to D = 200")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Compute and draw the figure; writes theory_vs_finite_size.{npz,json,png}."""
    from ..._io import run_record, save_json_atomic, save_npz_atomic
    from ...experiments.finite_size_gap import DEFAULT_SCALING_DIMS, theory_vs_finite_size

    if quick:
        options = {"dims": (4, 6, 8), "taus": (0.5, 1.5, 3.0), "repeats": 3,
                   "scaling_dims": (4, 6, 8, 12), **options}
    options.setdefault("scaling_dims", DEFAULT_SCALING_DIMS)
    out_dir = Path(out_dir)
    options.setdefault("checkpoint", None if quick else out_dir / ".theory_vs_finite_size-sweep")
    data = theory_vs_finite_size(rng=rng, progress=progress, **options)
    npz = save_npz_atomic(out_dir / "theory_vs_finite_size.npz", **data)
    params = {k: v for k, v in options.items() if k not in ("checkpoint", "executor", "workers")}
    caption = ("RS theory (lines) against exact finite-size measures (markers, mean ± s.e. over "
               f"disorder) at D = {', '.join(map(str, data['dims']))}; alpha = {data['alpha']}, "
               f"lambda = D*lambda0 = {data['l2']}, beta/D^2 = {data['beta']}, fresh tasks; "
               "panel f: ridgeless theory vs Lu et al.'s closed forms for several kappa.")
    numbers = {}
    if "scaling_dims" in data:
        caption += (" Panels g-i: the Boltzmann mean by matrix-free CG at D = "
                    f"{', '.join(map(str, data['scaling_dims']))} ({data['scaling_repeats']} "
                    "draws each, nested tau), its e_ICL gap to the RS theory averaged over tau, "
                    "and weighted fits a/D and a/D + b/D^2.")
        numbers = {"scaling_dims": data["scaling_dims"].tolist(),
                   "gap_mean": data["scaling_gap_mean"].tolist(),
                   "gap_se": data["scaling_gap_se"].tolist(),
                   "gap_times_dim": data["scaling_gap_times_dim"].tolist(),
                   "max_peak_rss_mib": float(data["scaling_peak_rss_mib"].max()),
                   "max_cell_seconds": float(data["scaling_cell_seconds"].max())}
        for name in ("fit1", "fit2"):
            if f"scaling_{name}_coefficients" in data:
                numbers[name] = {
                    "coefficients": data[f"scaling_{name}_coefficients"].tolist(),
                    "standard_errors": data[f"scaling_{name}_standard_errors"].tolist(),
                    "chi2_per_dof": float(data[f"scaling_{name}_chi2_per_dof"])}
    record = run_record("figure:theory-vs-finite-size", params, seed=rng, quick=quick,
                        caption=caption, numbers=numbers)
    js = save_json_atomic(out_dir / "theory_vs_finite_size.json", record)
    png = plot(data, out_dir / "theory_vs_finite_size.png")
    return [npz, js, png]
