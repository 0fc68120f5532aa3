"""Fig. 3 (left) of Ren & Liu 2024, reconstructed: the dual model's prediction converges to the
softmax attention output along its gradient-descent steps."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style
from .._common import add_reconstruction_caption as add_caption

__all__ = ["make", "plot_equivalence"]


def plot_equivalence(curve, by_features: dict, path):
    """(a) both multi-step readings with ±1 s.e. bands; (b) the split schedule for several d_r."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.7), constrained_layout=True)
        ax = axes[0]
        colours = {"split": "C0", "regularized": "C3"}
        names = {"split": r"split step $\eta/T$ on $L$ (linear)",
                 "regularized": r"GD on proximal loss (geometric)"}
        for sched in curve.distances:
            m, se = curve.mean(sched), curve.stderr(sched)
            ax.plot(curve.steps, m, marker="o", ms=2.5, color=colours[sched], label=names[sched])
            ax.fill_between(curve.steps, m - se, m + se, color=colours[sched], alpha=0.2, lw=0)
        floor = curve.distances["split"][:, -1].mean()
        ax.axhline(floor, color="0.4", ls=":", lw=0.9)
        ax.text(0.3, floor * 1.6 + 0.002, "random-feature error, $d_r$ = "
                f"{curve.parameters['n_features']}", va="bottom", fontsize=7, color="0.3")
        ax.set_xlabel("dual-model GD step $k$")
        ax.set_ylabel(r"$\|\hat y^{(k)}_{\rm test} - h'_{N+1}\|_2$")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, loc="upper right")
        panel_label(ax, "a")
        ax2 = axes[1]
        cmap = plt.cm.viridis(np.linspace(0.1, 0.85, len(by_features)))
        for colour, (dr, c) in zip(cmap, sorted(by_features.items())):
            m, se = c.mean("split"), c.stderr("split")
            ax2.plot(c.steps, m, color=colour, marker="o", ms=2, label=rf"$d_r={dr:g}$")
            ax2.fill_between(c.steps, np.maximum(m - se, 1e-6), m + se, color=colour, alpha=0.2,
                             lw=0)
        ax2.set_yscale("log")
        for a in axes:
            a.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax2.set_xlabel("dual-model GD step $k$ (split schedule)")
        ax2.set_ylabel(r"$\|\hat y^{(k)}_{\rm test} - h'_{N+1}\|_2$")
        ax2.legend(frameon=False, loc="lower left")
        panel_label(ax2, "b")
        p = curve.parameters
        add_caption(fig, (
            f"Distance between the dual model's test prediction and exact softmax attention over "
            f"{p['n_steps']} GD steps (mean ± 1 s.e. over {p['n_draws']} draws of tokens, "
            f"weights and positive random features; d_i = d_o = {p['dim']}, N = "
            f"{p['context_length']}, token scale {p['token_scale']}). At the last step both "
            f"readings reach the one-step prediction, which equals random-feature attention "
            f"exactly; what remains is the O(d_r^-1/2) kernel error (b)."), width=120)
        return save_figure(fig, path)


@register_figure("dual-equivalence", "Ren & Liu Fig. 3 left: dual-model GD steps converge to "
                 "softmax attention (reconstruction)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    from ...dual.studies import equivalence_curve

    out_dir = Path(out_dir)
    settings = dict(dim=8, context_length=32, n_features=20_000, n_steps=15,
                    n_draws=6 if quick else 20)
    settings.update(options)
    curve = equivalence_curve(rng=rng, progress=progress, **settings)
    feature_grid = (100, 1000, 10_000) if quick else (100, 1000, 10_000, 100_000)
    base = {k: v for k, v in settings.items() if k not in ("n_features", "n_draws")}
    by_features = {dr: equivalence_curve(rng=rng, n_features=dr, schedules=("split",),
                                         n_draws=4 if quick else 10, progress=False, **base)
                   for dr in feature_grid}
    files = curve.save(out_dir, "dual_equivalence")
    from ..._io import save_npz_atomic
    extra = save_npz_atomic(out_dir / "dual_equivalence_by_features.npz",
                            n_features=np.array(feature_grid),
                            distances=np.stack([by_features[d].distances["split"]
                                                for d in feature_grid]))
    png = plot_equivalence(curve, by_features, out_dir / "dual_equivalence.png")
    return [files["npz"], files["json"], extra, png]
