"""Li et al. Fig. 4(b): test error of the trained transformer against N beside AMP and theory."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import plt, save_figure, style

__all__ = ["plot_context_length", "make", "QUICK_OPTIONS"]

QUICK_OPTIONS = dict(dim=6, context_lengths=(6, 12, 24, 48), n_prompts=1500, steps=600,
                     lr=1e-2, n_test=500, repeats=2)


def plot_context_length(result, path=None, *, reference=True):
    """Test error against N: trained model (mean ± std), AMP, exact minimiser, e(g), paper."""
    from ...experiments.dynamics import FIG4B_REFERENCE

    p = result.parameters
    Ns = np.asarray(result.coords["context_length"])
    with style(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns when AMP failed
        fig, ax = plt.subplots(figsize=(4.4, 3.3), layout="constrained")
        ax.errorbar(Ns, result.mean("sgd_test_error"), yerr=result.std("sgd_test_error"),
                    color="C0", marker="o", ms=3.5, capsize=2, lw=1.2,
                    label=f"trained {p['model']} (Adam), mean ± std")
        if "amp_test_error" in result.data and np.isfinite(result.mean("amp_test_error")).any():
            ax.plot(Ns, result.mean("amp_test_error"), color="C1", marker="x", ls="",
                    ms=6, label=rf"li2024 AMP, $\lambda_0={p['amp_l2']:g}$")
        ax.plot(Ns, result.mean("exact_population_error"), color="0.2", ls="--", lw=1.0,
                label=r"exact $A^{-1}h$, $\lambda_0=\mathrm{wd}/2$ (population error)")
        ax.plot(Ns, result.mean("population_error"), color="C2", ls=":", lw=1.2,
                label=r"$e(g)$, $P\to\infty$")
        D = p["dim"]
        if reference and D == 20 and p["n_prompts"] == 10_000:
            ref = FIG4B_REFERENCE
            ax.plot(ref["context_length"], ref["sgd"], color="C3", marker="s", ls="", ms=4,
                    mfc="none", label="paper: SGD")
            ax.plot(ref["context_length"], ref["amp"], color="C4", marker="d", ls="", ms=4,
                    mfc="none", label="paper: AMP")
        ax.set_xlabel("context length $N$")
        ax.set_ylabel("test error on fresh tasks")
        ax.set_yscale("log")
        ax.legend(frameon=False, fontsize=6.5)
        ax.set_title(rf"Fig. 4(b): $D={D}$, $P={p['n_prompts']}$, Adam lr {p['lr']:g}, "
                     rf"{p['steps']} steps, wd {p['weight_decay']:g}, {p['repeats']} repeats",
                     fontsize=8)
        return fig if path is None else save_figure(fig, path)


@register_figure("fig4b", "Li et al. Fig. 4(b): trained transformer's test error vs N beside "
                 "AMP, the exact minimiser and e(g)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, checkpoint=None,
         **options):
    """Run :func:`spinicl.experiments.dynamics.context_length_sweep` and plot it (resumable)."""
    from ...experiments.dynamics import context_length_sweep

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    if checkpoint is None and not quick:
        checkpoint = out_dir / ".fig4b-sweep"      # the sweep's unit files (resumable)
    result = context_length_sweep(rng=rng, progress=progress, store=checkpoint, **options)
    files = result.save(out_dir, "fig4b")
    return [files["npz"], files["json"], plot_context_length(result, out_dir / "fig4b.png")]
