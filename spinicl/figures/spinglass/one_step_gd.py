"""von Oswald et al.: trained linear attention = one step of GD with the optimal learning rate."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style

__all__ = ["plot_one_step_gd", "make", "QUICK_OPTIONS"]

QUICK_OPTIONS = dict(dim=5, context_length=5, n_prompts=5000, steps=500, repeats=2,
                     n_test=2000)


def plot_one_step_gd(result, path=None):
    """(a) trained W of the first repeat; (b) one-step GD error vs η beside the trained model."""
    p = result.parameters
    D, N = p["dim"], p["context_length"]
    etas = np.asarray(p["gd_learning_rates"])
    g_star = float(result["optimal_gain"][0])
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.1), layout="constrained")
        W = result["weights"][0]
        vmax = float(np.abs(W).max())
        im = axes[0].imshow(W, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.03)
        axes[0].set_title(rf"trained $W$: gain {result.mean('gain', 0):.3f} vs $g^*={g_star:.3f}$")
        axes[0].set_xlabel("last column: dead weights (keep their initial values)", fontsize=7)
        axes[0].set_xticks([])
        axes[0].set_yticks([])
        ax = axes[1]
        curve = result.mean("gd_error_curve", 0)
        ax.plot(etas, curve, color="C0", label="one GD step, learning rate $\\eta$")
        ax.axvline(g_star, color="C2", ls=":", label=r"$\eta = g^* = N/(N+D+1)$")
        ax.axhline(result.mean("model_test_error", 0), color="C3", ls="--",
                   label="trained linear attention")
        ax.axhline(result.mean("population_error", 0), color="0.4", lw=0.7,
                   label=r"$e(g^*) = (D+1)/(N+D+1)$")
        ax.set_xlabel(r"GD learning rate $\eta$")
        ax.set_ylabel("test error on fresh tasks")
        ax.set_ylim(0, min(2.0, float(np.nanmax(curve)) * 1.05))
        ax.legend(frameon=False, fontsize=6.5, loc="lower left")
        panel_label(axes[0], "a")
        panel_label(ax, "b")
        fig.suptitle(rf"One step of GD: $D={D}$, $N={N}$, $P={p['n_prompts']}$, Adam lr "
                     rf"{p['lr']:g} (cosine), {p['steps']} steps, {p['repeats']} repeats, "
                     rf"$P_\mathrm{{test}}={p['n_test']}$", fontsize=8.5)
        return fig if path is None else save_figure(fig, path)


@register_figure("one-step-gd", "von Oswald et al.: trained merged W = optimally scaled identity "
                 "= one GD step")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Run :func:`spinicl.experiments.one_step_gd.one_step_gd` and plot it."""
    from ...experiments.one_step_gd import one_step_gd

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    result = one_step_gd(rng=rng, progress=progress, **options)
    files = result.save(out_dir, "one_step_gd")
    return [files["npz"], files["json"], plot_one_step_gd(result, out_dir / "one_step_gd.png")]
