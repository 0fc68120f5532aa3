"""Fig. 3 (right) of Ren & Liu 2024, reconstructed: regularised, augmented and negative-sample
attention layers trained on in-context linear regression against the unmodified layer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import panel_label, plt, save_figure, style
from .._common import add_reconstruction_caption as add_caption

__all__ = ["make", "plot_modifications"]

TITLES = {"regularized": "regularised (self term / global)", "augmented": "augmented (MLP views)",
          "negative": "negative samples"}


def plot_modifications(study, path):
    """One panel per family: test MSE against steps (mean ± 1 s.e. over seeds), plain in black."""
    families = [f for f in dict.fromkeys(study.families) if f != "plain"]
    steps = study.eval_steps
    n_seeds = study.test_loss.shape[1]

    def band(ax, r, colour, label, **kw):
        c = study.test_loss[r]
        m = c.mean(axis=0)
        se = c.std(axis=0, ddof=1) / np.sqrt(n_seeds) if n_seeds > 1 else 0 * m
        ax.plot(steps, m, color=colour, label=label, **kw)
        ax.fill_between(steps, m - se, m + se, color=colour, alpha=0.15, lw=0)

    with style():
        fig, axes = plt.subplots(1, len(families), figsize=(2.45 * len(families) + 0.3, 2.7),
                                 constrained_layout=True, sharey=True)
        axes = np.atleast_1d(axes)
        rel = study.relative_to_plain()
        for i, (ax, family) in enumerate(zip(axes, families)):
            band(ax, 0, "k", "unmodified", lw=1.5)
            runs = [r for r, f in enumerate(study.families) if f == family]
            colours = plt.cm.plasma(np.linspace(0.15, 0.75, len(runs)))
            for colour, r in zip(colours, runs):
                label = study.labels[r].split(": ", 1)[-1]
                ratio = rel[r]
                se = ratio.std(ddof=1) / np.sqrt(n_seeds) if n_seeds > 1 else 0.0
                band(ax, r, colour, f"{label}  (×{ratio.mean():.2f}±{se:.2f})", lw=1.1)
            ax.set_yscale("log")
            ax.set_xlabel("training step")
            ax.set_title(TITLES.get(family, family))
            if i == 0:
                ax.set_ylabel("test MSE (fresh tasks)")
            ax.legend(frameon=False, loc="upper right", fontsize=6.3)
            panel_label(ax, "abcd"[i])
        p = study.parameters
        add_caption(fig, (
            f"One softmax-attention layer trained with Adam (lr {p['lr']:g}, batch "
            f"{p['batch_size']} fresh prompts per step, {p['steps']} steps) on in-context "
            f"linear regression (D = {p['dim']}, N = {p['context_length']}, label noise "
            f"{p['label_noise']:g}); test MSE on {p['n_test']} prompts with fresh tasks, mean ± "
            f"1 s.e. over {n_seeds} seeds (each seed shares data and initial attention weights "
            f"across runs). In brackets: final test loss relative to the unmodified layer on the "
            f"same seed. Modification formulas are our reconstruction of the paper's §7 "
            f"(self-term factor alpha, MLP views with hidden width h, negatives' strength beta "
            f"and count k)."), width=125)
        return save_figure(fig, path)


@register_figure("dual-modifications", "Ren & Liu Fig. 3 right: regularised, augmented and "
                 "negative-sample attention vs the unmodified layer (reconstruction)")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    from ...dual.modified import compare_modifications

    settings = dict(dim=5, context_length=20, steps=150 if quick else 3000,
                    n_seeds=2 if quick else 5, n_test=400 if quick else 2000,
                    batch_size=32 if quick else 64, lr=1e-2 if quick else 3e-3)
    settings.update(options)
    out_dir = Path(out_dir)
    ckpt = None if quick else out_dir / "dual_modifications_checkpoints"
    study = compare_modifications(rng=rng, progress=progress, checkpoint_dir=ckpt, **settings)
    files = study.save(out_dir, "dual_modifications")
    png = plot_modifications(study, out_dir / "dual_modifications.png")
    return [files["npz"], files["json"], png]
