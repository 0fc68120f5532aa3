"""Out-of-distribution ICL of the multi-concept transformer (Bu et al. NeurIPS 2024, p. 9).

One model is trained in distribution while every OOD test distribution is evaluated along the
way. Rows: (a, b) other prompt lengths L' at test, (c) skewed concept distributions, (d) switched
semantic features, (e) unseen cross-concept label features. Columns: test cross-entropy, test
0-1 error against each variant's retrieval floor 2^{−L'} (dashed), and the correct attention
weight; the in-distribution curve is drawn in grey in every panel. The settings are a
reconstruction: the paper's were unavailable.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._style import plt, save_figure, style
from ...experiments.bu2024_studies import run_ood_experiment

__all__ = ["plot_ood", "make", "ROWS"]

ROWS = (("lengths", ("shorter", "longer"), "scenarios (a, b): prompt length L' at test"),
        ("skewed", ("skewed",), "scenario (c): skewed concept distribution π"),
        ("switched", ("switched",), "scenario (d): switched semantic features"),
        ("cross-concept", ("cross-concept",), "extra: unseen cross-concept labels"))
BANNER = "reconstruction: the paper's settings were unavailable (all choices are parameters)"


def plot_ood(result, report, variants, path=None):
    """Draw the OOD figure (rows: scenarios; columns: loss, 0-1 error, correct attention)."""
    t = result.steps
    h = result.history
    s = result.settings
    with style():
        fig, axes = plt.subplots(len(ROWS), 3, figsize=(10.2, 2.3 * len(ROWS)),
                                 constrained_layout=True, sharex=True)
        for i, (_, scenarios, title) in enumerate(ROWS):
            rows = [v for v in variants if v.scenario in scenarios]
            colours = plt.cm.plasma(np.linspace(0.05, 0.8, max(len(rows), 1)))
            ax_l, ax_e, ax_a = axes[i]
            for ax, key in ((ax_l, "loss"), (ax_e, "error"), (ax_a, "attention")):
                y = h[f"iid.{key}"]
                ax.plot(t, np.where(y > 0, y, np.nan) if key == "error" else y, color="0.55",
                        lw=1.6, label="in distribution" if key == "loss" else None)
            ax_e.axhline(result.floors["iid"], color="0.55", ls="--", lw=0.7)
            if "iid.no_match" in h:
                # a fixed test set's own no-match fraction scatters around 2^-L
                ax_e.axhline(h["iid.no_match"][-1], color="0.55", ls=":", lw=0.9,
                             label=f"iid test set without a match: {h['iid.no_match'][-1]:.4f}")
            for colour, v in zip(colours, rows):
                row = report.row(v.name)
                err = h[f"{v.name}.error"]
                ax_l.plot(t, h[f"{v.name}.loss"], color=colour, lw=1.1, label=v.label)
                ax_e.plot(t, np.where(err > 0, err, np.nan), color=colour, lw=1.1,
                          label=f"final {row['error']:.4f} (floor {row['floor']:.4f})")
                if row["floor"] > 1e-4:
                    ax_e.axhline(row["floor"], color=colour, ls="--", lw=0.7)
                ax_a.plot(t, h[f"{v.name}.attention"], color=colour, lw=1.1)
            ax_l.set_ylabel("test cross-entropy")
            ax_e.set_ylabel("test 0-1 error")
            ax_e.set_yscale("log")
            ax_e.set_ylim(1e-4, 1.0)
            ax_a.set_ylabel("correct attention")
            ax_a.set_ylim(0.4, 1.02)
            ax_l.set_title(title, loc="left")
            ax_l.legend(frameon=False, fontsize=6.5, loc="lower left")
            ax_e.legend(frameon=False, fontsize=6.2, loc="lower left")
        for ax in axes[-1]:
            ax.set_xlabel("SGD step (training in distribution)")
        d, m = s["dictionary"], s["model"]
        fig.suptitle(
            f"OOD in-context learning: trained at d={d['dim']}, K={d['n_concepts']}, "
            f"L={s['sampler']['context_length']}, σ={s['sampler']['noise']:g}, "
            f"p_poly={s['sampler']['p_poly']:g}, m={m['width']}, init={m['init']}, "
            f"B={s['batch_size']}, η={s['optimizer']['lr']:g}; curves: {s['n_test']} test prompts"
            f" per point (zero errors not drawn), final errors: {report.rows[0]['n_prompts']}"
            f"\n{BANNER}", fontsize=8)
        if path is None:
            return fig
        return save_figure(fig, path)


@register_figure("concepts-ood",
                 "Multi-concept ICL out of distribution: prompt lengths, skew, switched, cross")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Train with the OOD variants tracked, and write npz, JSON (with the table) and PNG."""
    result, report, variants = run_ood_experiment(quick=quick, rng=rng, progress=progress,
                                                  **options)
    out_dir = Path(out_dir)
    files = result.save(out_dir, "concepts_ood",
                        extra={"ood_report": report.rows, "tolerance": report.tolerance,
                               "variants": [dict(scenario=v.scenario, name=v.name,
                                                 label=v.label, changes=v.changes)
                                            for v in variants],
                               "quick": quick, "figure": "concepts-ood"})
    png = plot_ood(result, report, variants, out_dir / "concepts_ood.png")
    return [files["npz"], files["json"], png]
