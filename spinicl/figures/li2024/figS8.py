"""Li et al. Fig. S8: test error against N for several attention architectures."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import plt, save_figure, style

__all__ = ["plot_architectures", "make", "QUICK_OPTIONS"]

QUICK_OPTIONS = dict(dim=4, context_lengths=(4, 8, 16), n_prompts=600, steps=300, n_test=300)

_LABELS = {"merged": "SLA (merged)", "separate": "SLA (separate)", "full_linear": "FLA",
           "multihead_linear": "MHLA", "softmax": "SA (softmax)", "transformer": "TF (SA + MLP)"}
_MARKERS = {"merged": "o", "separate": "s", "full_linear": "^", "multihead_linear": "v",
            "softmax": "D", "transformer": "P"}


def plot_architectures(result, path=None):
    """Fresh-task error of each architecture against N beside the spin glass's minimiser."""
    p = result.parameters
    Ns = np.asarray(result.coords["context_length"])
    with style():
        fig, ax = plt.subplots(figsize=(4.6, 3.4), layout="constrained")
        for name in p["models"]:
            key = f"{name}_test_error"
            ax.errorbar(Ns, result.mean(key), yerr=result.std(key), marker=_MARKERS.get(name, "o"),
                        ms=3.5, lw=1.0, capsize=1.5, label=_LABELS.get(name, name))
        ax.plot(Ns, result.mean("exact_test_error"), color="0.1", ls="--", lw=1.0,
                label=r"spin glass: exact $A^{-1}h$")
        ax.plot(Ns, result.mean("population_error"), color="0.5", ls=":", lw=1.0,
                label=r"$e(g)$, $P\to\infty$")
        ax.set_xscale("log")
        ax.set_xticks(Ns, [str(n) for n in Ns])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_yscale("log")
        ax.set_xlabel("context length $N$")
        ax.set_ylabel("test error on fresh tasks")
        ax.legend(frameon=False, fontsize=6.5, ncol=2)
        lr = p["lr"]
        lr_text = ", ".join(sorted({f"{v:g}" for v in lr.values()})) if isinstance(lr, dict) \
            else f"{lr:g}"
        ax.set_title(rf"Fig. S8: $D={p['dim']}$, $P={p['n_prompts']}$, Adam lr {lr_text} "
                     rf"(cosine), {p['steps']} steps, {p['repeats']} repeat(s)", fontsize=8)
        return fig if path is None else save_figure(fig, path)


@register_figure("figS8", "Li et al. Fig. S8: SLA, FLA, MHLA, softmax attention and a transformer "
                 "block vs N beside the spin glass")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, checkpoint=None,
         **options):
    """Run :func:`spinicl.experiments.architectures.architecture_comparison` and plot it."""
    from ...experiments.architectures import architecture_comparison

    if quick:
        options = {**QUICK_OPTIONS, **options}
    out_dir = Path(out_dir)
    if checkpoint is None and not quick:
        checkpoint = out_dir / ".figS8-sweep"      # the sweep's unit files (resumable)
    result = architecture_comparison(rng=rng, progress=progress, store=checkpoint,
                                     **options)
    files = result.save(out_dir, "figS8")
    return [files["npz"], files["json"], plot_architectures(result, out_dir / "figS8.png")]
