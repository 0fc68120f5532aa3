"""Li et al. Fig. S1: emergence of ICL with task diversity, trained models vs the spin glass."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot_emergence", "make", "QUICK_OPTIONS"]

QUICK_OPTIONS = dict(dim=5, context_length=25,
                     prompt_ratios=(0.2, 0.5, 0.8, 1.0, 1.2, 1.4, 2.0, 3.0),
                     repeats=3, steps=600, n_test=300)

_STYLE = {
    "merged": dict(color="C0", marker="o", label="merged $W$ (Adam)"),
    "separate": dict(color="C3", marker="s", label=r"separate $W_Q^\top W_K$ (Adam)"),
    "exact": dict(color="0.15", ls="--", marker="",
                  label=r"exact mean, $\lambda_0\to0$ (min-norm)"),
    "ridge": dict(color="C2", ls=":", marker="", label=r"exact mean, $\lambda_0={l2}$"),
    "amp": dict(color="C1", ls="", marker="x", label=r"li2024 AMP, $\lambda_0={l2}$ (converged)"),
}


def plot_emergence(result, path=None):
    """(a) fresh-task test error and (b) contrast ratio against α = P/D²."""
    p = result.parameters
    D = p["dim"]
    alpha = np.asarray(result.coords["n_prompts"]) / D**2
    threshold = (D + 1) / D
    names = [m for m in p["models"]] + ["exact", "ridge"] + (["amp"] if "amp_test_error" in
                                                             result.data else [])
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.4, 3.5), layout="constrained")
        for ax, obs, label in ((axes[0], "test_error", "test error on fresh tasks"),
                               (axes[1], "contrast_ratio", r"contrast ratio $\cos\angle(W, I)$")):
            for name in names:
                key = f"{name}_{obs}"
                if key not in result.data:
                    continue
                st = dict(_STYLE.get(name, dict(marker="^", label=name)))
                st["label"] = st["label"].format(l2=p.get("solver_l2"))
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: AMP never converged
                    mean = result.mean(key)
                ok = np.isfinite(mean)
                if not ok.any():
                    continue
                if ax is not axes[0]:
                    st["label"] = None
                if name in p["models"]:
                    ax.errorbar(alpha[ok], mean[ok], yerr=result.std(key)[ok], ms=3, lw=1.0,
                                capsize=1.5, **st)
                else:
                    ax.plot(alpha[ok], mean[ok], ms=5, lw=1.1, **st)
            ax.axvline(threshold, color="0.5", lw=0.8, ls="-.")
            ax.set_xlabel(r"task diversity $\alpha = P/D^2$")
            ax.set_ylabel(label)
        axes[0].set_yscale("log")
        # the ridgeless mean diverges at P = D(D+1); keep the trained curves readable
        top = max(np.nanmax(result.mean(f"{m}_test_error") + result.std(f"{m}_test_error"))
                  for m in p["models"])
        exact_peak = np.nanmax(result.mean("exact_test_error"))
        if exact_peak > 4 * top:
            axes[0].set_ylim(top=4 * top)
            axes[0].annotate(rf"min-norm peak {exact_peak:.2g} $\uparrow$",
                             xy=(alpha[np.nanargmax(result.mean('exact_test_error'))], 4 * top),
                             xytext=(4, -10), textcoords="offset points", fontsize=7,
                             color="0.15", va="top")
        if "amp_converged" in result.data:
            conv = result.data["amp_converged"]
            axes[0].text(0.02, 0.02, f"li2024 AMP ($\\lambda_0={p['solver_l2']:g}$) converged in "
                         f"{int(np.nansum(conv))} of {conv.size} runs", fontsize=6.5,
                         transform=axes[0].transAxes, color="C1")
        axes[1].text(threshold, 0.02, r" $P=D(D+1)$", transform=axes[1].get_xaxis_transform(),
                     va="bottom", fontsize=7.5, color="0.35")
        axes[1].axhline(np.sqrt(D / (D + 1)), color="0.6", lw=0.7, ls=":")
        axes[1].set_ylim(bottom=min(0.0, axes[1].get_ylim()[0]))
        fig.legend(loc="outside lower center", ncol=3, frameon=False, fontsize=7)
        panel_label(axes[0], "a")
        panel_label(axes[1], "b")
        fig.suptitle(rf"Fig. S1: $D={D}$, $N={p['context_length']}$, full-batch Adam lr "
                     rf"{p['lr']:g}, {p['steps']} steps, wd {p['weight_decay']:g}, "
                     rf"{p['repeats']} repeats (mean $\pm$ std), $P_\mathrm{{test}}={p['n_test']}$",
                     fontsize=8.5)
        return fig if path is None else save_figure(fig, path)


@register_figure("figS1", "Li et al. Fig. S1: trained merged/separate linear attention across "
                 "task diversity P/D², beside the exact Boltzmann mean and AMP")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Run :func:`spinicl.experiments.emergence.task_diversity_emergence` and plot it."""
    from ...experiments.emergence import task_diversity_emergence

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    result = task_diversity_emergence(rng=rng, progress=progress, **options)
    files = result.save(out_dir, "figS1")
    png = plot_emergence(result, out_dir / "figS1.png")
    return [files["npz"], files["json"], png]
