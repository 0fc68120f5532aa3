"""Li et al. Fig. 2: Adam training at P = 10 vs P = 1000 beside the AMP marginals."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot_dynamics", "make", "QUICK_OPTIONS"]

QUICK_OPTIONS = dict(dim=5, context_length=40, prompt_counts=(5, 300), steps=150, n_test=200,
                     amp_prompts=2000)


def _matrix(ax, fig, W, title, cmap="RdBu_r", symmetric=True):
    vmax = float(np.max(np.abs(W))) if symmetric else None
    im = ax.imshow(W, cmap=cmap, vmin=-vmax if symmetric else None, vmax=vmax,
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_dynamics(result, path=None):
    """(a) test loss vs step; (b, c) trained W; (d, e) AMP mean and variance; (f) exact mean."""
    p = result.parameters
    counts = np.asarray(result.coords["n_prompts"])
    with style():
        fig, axes = plt.subplots(2, 3, figsize=(8.4, 5.2), layout="constrained")
        ax = axes[0, 0]
        steps = np.arange(result["test_loss"].shape[1])
        colours = plt.cm.viridis(np.linspace(0.15, 0.75, counts.size))
        for i, (P, c) in enumerate(zip(counts, colours)):
            ax.plot(steps, result["test_loss"][i], color=c, label=f"$P={P}$ test")
            ax.plot(steps, result["train_loss"][i], color=c, ls=":", lw=1.0,
                    label=f"$P={P}$ train")
        ax.axhline(result["ideal_test_loss"][0], color="0.4", ls="--", lw=0.8,
                   label=r"$e(g^*)$, $P\to\infty$")
        ax.set_yscale("log")
        ax.set_xlabel("Adam step (full batch)")
        ax.set_ylabel("MSE")
        ax.legend(frameon=False, fontsize=6.5)
        panel_label(ax, "a")
        for j, i in enumerate((0, counts.size - 1)):
            _matrix(axes[0, 1 + j], fig, result["weights"][i],
                    f"trained $W$, $P={counts[i]}$")
            panel_label(axes[0, 1 + j], "bc"[j])
        amp_ok = "amp_mean" in result.data
        m = result["amp_mean"][0] if amp_ok else result["exact_mean"][0]
        v = result["amp_variance"][0] if amp_ok else result["exact_variance"][0]
        who = "AMP (li2024)" if amp_ok else "exact"
        _matrix(axes[1, 0], fig, m, f"{who} mean $m$")
        _matrix(axes[1, 1], fig, v, f"{who} variance $v$", cmap="viridis", symmetric=False)
        _matrix(axes[1, 2], fig, result["exact_mean"][0], r"exact mean $A^{-1}h$")
        for ax, letter in zip(axes[1], "def"):
            panel_label(ax, letter)
        fig.suptitle(rf"Fig. 2: $D={p['dim']}$, $N={p['context_length']}$, Adam lr {p['lr']:g}, "
                     rf"{p['steps']} steps, $P_\mathrm{{test}}={p['n_test']}$; (d–f) at "
                     rf"$P={p['amp_prompts']}$, $\lambda_0={p['amp_l2']:g}$, "
                     rf"$\beta={p['beta']:g}$", fontsize=8.5)
        return fig if path is None else save_figure(fig, path)


@register_figure("fig2", "Li et al. Fig. 2: Adam loss curves and trained W at P = 10 vs 1000, "
                 "beside AMP marginals")
def make(out_dir, *, quick: bool = False, rng=482, progress: bool = True, **options):
    """Run :func:`spinicl.experiments.dynamics.training_dynamics` and plot it."""
    from ...experiments.dynamics import training_dynamics

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    result = training_dynamics(rng=rng, progress=progress, **options)
    files = result.save(out_dir, "fig2")
    return [files["npz"], files["json"], plot_dynamics(result, out_dir / "fig2.png")]
