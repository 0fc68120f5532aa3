"""Memorisation → in-context learning with a finite task pool (Raventós et al. setting)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot_memorisation", "make", "QUICK_OPTIONS"]

QUICK_OPTIONS = dict(dim=4, context_length=8, task_counts=(1, 2, 4, 8, 16, 64, 256),
                     repeats=2, steps=400, n_test=300)


def plot_memorisation(result, path=None):
    """(a) e_IDG and e_ICL against k with dMMSE and ridge; (b) g_task = e_ICL − e_IDG."""
    p = result.parameters
    D = p["dim"]
    k = np.asarray(result.coords["n_tasks"], dtype=float)
    finite = k > 0
    # k = ∞ (fresh tasks) is drawn one octave right of the largest pool
    x = k.copy()
    if (~finite).any():
        x[~finite] = 2.0 * k[finite].max() if finite.any() else 1.0
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.2), layout="constrained")
        ax = axes[0]
        for obs, colour, label in (("idg", "C0", "IDG (pool tasks)"),
                                   ("icl", "C3", "ICL (fresh tasks)")):
            ax.errorbar(x, result.mean(f"{obs}_error"), yerr=result.std(f"{obs}_error"),
                        color=colour, marker="o", ms=3, capsize=1.5,
                        label=f"trained {p['model']}: {label}")
            ax.plot(x, result.mean(f"dmmse_{obs}_error"), color=colour, ls="--", lw=0.9,
                    label=f"dMMSE: {obs.upper()}")
            ax.plot(x, result.mean(f"ridge_{obs}_error"), color=colour, ls=":", lw=1.1,
                    label=f"ridge: {obs.upper()}")
        ax.set_ylabel("test error")
        ax.set_yscale("log")
        ax.legend(frameon=False, fontsize=6, ncol=1, loc="upper right")
        ax2 = axes[1]
        ax2.errorbar(x, result.mean("task_gap"), yerr=result.std("task_gap"), color="C4",
                     marker="o", ms=3, capsize=1.5,
                     label=r"trained: $e_\mathrm{ICL}-e_\mathrm{IDG}$")
        gap_dmmse = result.mean("dmmse_icl_error") - result.mean("dmmse_idg_error")
        ax2.plot(x, gap_dmmse, color="0.4", ls="--", lw=0.9, label="dMMSE")
        ax2.axhline(0, color="0.6", lw=0.6)
        ax2.set_ylabel(r"task gap $g_\mathrm{task}$")
        ax2.legend(frameon=False, fontsize=6.5)
        for a, letter in zip(axes, "ab"):
            a.set_xscale("log", base=2)
            a.axvline(D, color="0.5", ls="-.", lw=0.8)
            a.text(D, 0.98, r" $k=D$", transform=a.get_xaxis_transform(), va="top",
                   fontsize=7, color="0.35")
            a.set_xlabel(r"number of pretraining tasks $k$ (rightmost: $k=\infty$)")
            panel_label(a, letter)
        fig.suptitle(rf"Memorisation $\to$ ICL: $D={D}$, $N={p['context_length']}$, "
                     rf"$P={p['n_prompts']}$, label noise $\sigma={p['label_noise']:g}$, Adam lr "
                     rf"{p['lr']:g} (cosine), {p['steps']} steps, {p['repeats']} repeats",
                     fontsize=8.5)
        return fig if path is None else save_figure(fig, path)


@register_figure("memorisation", "IDG/ICL errors of trained linear attention against the task "
                 "pool size k, with dMMSE and ridge baselines")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Run :func:`spinicl.experiments.memorisation.memorisation_to_icl` and plot it."""
    from ...experiments.memorisation import memorisation_to_icl

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    result = memorisation_to_icl(rng=rng, progress=progress, **options)
    files = result.save(out_dir, "memorisation")
    return [files["npz"], files["json"], plot_memorisation(result, out_dir / "memorisation.png")]
