"""The replica-symmetric theory (D → ∞) against the exact finite-size measure at D = 10, 20, 40.

Data: :func:`spinicl.experiments.finite_size_gap.theory_vs_finite_size` (a resumable sweep of
exact-measure cells plus the theory). Panels: (a) e_ICL of the mean, (b) the Gibbs error, (c) the
free energy per spin, (d) the gap |finite − theory| against D (averaged over τ) with a 1/D guide,
(e) the overlap with the identity and the norm, (f) the ridgeless double descent for several task
diversities κ with Lu et al.'s closed forms as markers.
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
    with style():
        fig, axes = plt.subplots(2, 3, figsize=(10.4, 6.2), constrained_layout=True)
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
        for letter, a in zip("abcdef", axes.ravel()):
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


@register_figure("theory-vs-finite-size",
                 "Replica-symmetric theory against the exact measure at D = 10, 20, 40")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Compute and draw the figure; writes theory_vs_finite_size.{npz,json,png}."""
    from ..._io import run_record, save_json_atomic, save_npz_atomic
    from ...experiments.finite_size_gap import theory_vs_finite_size

    if quick:
        options = {"dims": (4, 6, 8), "taus": (0.5, 1.5, 3.0), "repeats": 3, **options}
    out_dir = Path(out_dir)
    options.setdefault("checkpoint", None if quick else out_dir / ".theory_vs_finite_size-sweep")
    data = theory_vs_finite_size(rng=rng, progress=progress, **options)
    npz = save_npz_atomic(out_dir / "theory_vs_finite_size.npz", **data)
    params = {k: v for k, v in options.items() if k not in ("checkpoint", "executor", "workers")}
    caption = ("RS theory (lines) against exact finite-size measures (markers, mean ± s.e. over "
               f"disorder) at D = {', '.join(map(str, data['dims']))}; alpha = {data['alpha']}, "
               f"lambda = D*lambda0 = {data['l2']}, beta/D^2 = {data['beta']}, fresh tasks; "
               "panel f: ridgeless theory vs Lu et al.'s closed forms for several kappa.")
    record = run_record("figure:theory-vs-finite-size", params, seed=rng, quick=quick,
                        caption=caption)
    js = save_json_atomic(out_dir / "theory_vs_finite_size.json", record)
    png = plot(data, out_dir / "theory_vs_finite_size.png")
    return [npz, js, png]
