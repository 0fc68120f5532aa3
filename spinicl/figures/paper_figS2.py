"""Fig. S2 of Li, Bai & Huang (arXiv:2408.02288): how strongly the disorder depends on N.

For D=20, P=1000 and each repeat, one disorder draw at N=20 and one at each N ∈ {21, 40, …, 200}
(1/N prefactor). The elements of each block — 𝒜 (off-diagonal top-block fields), ℬ (last-row
fields), 𝒞, 𝒟, ℰ (couplings; see :mod:`spinicl.figures.paper_fig1`) — are binned into 100 fixed
bins (the authors' ranges; values outside are dropped) with one pseudo-count per bin, and the
Kullback–Leibler divergence KL(P_20 ‖ P_N) in bits is averaged over repeats.

Each histogram holds one draw only (ℬ has D = 20 elements spread over 100 bins), so the KL has
a floor from sampling noise alone. We measure that floor directly with a second, independent
draw at N = 20, and draw it as dashed lines: only the part of a curve above its floor is
N-dependence. Panel (b) shows the mechanism: the spread of each block relative to N=20.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import entropy

from . import register_figure
from ._style import panel_label, plt, style
from .._progress import progress_bar
from .._validation import as_seed_sequence, check_int
from .paper_fig1 import (BLOCKS, WorkLog, add_caption, disorder_blocks, draw_disorder,
                         write_outputs)

__all__ = ["KL_BLOCKS", "KL_RANGES", "block_histograms", "make"]

#: The blocks compared (𝒜 without its diagonal) and the authors' fixed histogram ranges.
KL_BLOCKS = {"A": "A_off", "B": "B", "C": "C", "D": "D", "E": "E"}
KL_RANGES = {"A": (-0.2, 0.4), "B": (-0.3, 0.3), "C": (-0.1, 0.1), "D": (-0.3, 0.3),
             "E": (-0.5, 0.5)}
PAPER_AT_200 = {"C": 0.71, "D": 0.32, "E": 0.20, "A": 0.12, "B": 0.12}
PAPER_AT_21 = {"B": 0.12, "E": 0.16}


def block_histograms(model, dim: int, n_bins: int = 100) -> tuple[dict, dict]:
    """Counts (+1 pseudo-count) of every KL block in the fixed bins, and each block's std."""
    blocks = disorder_blocks(model.couplings, model.fields, dim)
    counts, spread = {}, {}
    for key, name in KL_BLOCKS.items():
        values = blocks[name]
        lo, hi = KL_RANGES[key]
        counts[key] = np.histogram(values, bins=np.linspace(lo, hi, n_bins + 1))[0] + 1.0
        spread[key] = float(values.std())
    return counts, spread


@register_figure("figS2", "Li et al. Fig. S2: KL divergence of the block histograms between N=20 "
                          "and larger N, with the noise floor")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S2 (D=20, P=1000, N ∈ {21, 40, …, 200}, 1000 repeats); ``quick``: 3 repeats.

    Options: ``dim``, ``n_prompts``, ``context_lengths``, ``reference_length``, ``repeats``,
    ``checkpoint`` (a path, or None; full runs default to ``out_dir/.figS2.checkpoint.npz``,
    resumed when present and removed when the figure is done).
    """
    dim = check_int("dim", options.pop("dim", 20), minimum=2)
    P = check_int("n_prompts", options.pop("n_prompts", 1000), minimum=1)
    N0 = check_int("reference_length", options.pop("reference_length", 20), minimum=1)
    Ns = [check_int("context_lengths", n, minimum=1) for n in options.pop(
        "context_lengths", (21, 40, 60, 80, 100, 120, 140, 160, 180, 200))]
    repeats = check_int("repeats", options.pop("repeats", 3 if quick else 1000), minimum=1)
    checkpoint = options.pop("checkpoint",
                             None if quick else Path(out_dir) / ".figS2.checkpoint.npz")
    if options:
        raise TypeError(f"unknown option(s) for figS2: {', '.join(sorted(options))}")
    keys = list(KL_BLOCKS)
    seed = as_seed_sequence(rng)
    arrays = {"kl": np.zeros((len(keys), len(Ns), repeats)),
              "floor": np.zeros((len(keys), repeats)),
              "spread": np.zeros((len(keys), len(Ns) + 1, repeats))}  # spread[:, 0]: N0
    config = dict(figure="figS2", dim=dim, n_prompts=P, reference_length=N0, context_lengths=Ns,
                  repeats=repeats, entropy=seed.entropy, spawn_key=list(seed.spawn_key))
    log = WorkLog(checkpoint, config, arrays, repeats)
    kl, floor, spread = arrays["kl"], arrays["floor"], arrays["spread"]
    with progress_bar(total=repeats, desc="figS2 repeats", enabled=progress) as bar:
        bar.update(log.resumed)
        try:
            for r, child in enumerate(seed.spawn(repeats)):
                if log.done[r]:
                    continue
                seeds = child.spawn(len(Ns) + 2)
                ref, ref_spread = block_histograms(draw_disorder(dim, N0, P, rng=seeds[0]), dim)
                twin, _ = block_histograms(draw_disorder(dim, N0, P, rng=seeds[1]), dim)
                for b, key in enumerate(keys):
                    floor[b, r] = entropy(ref[key], twin[key], base=2)
                    spread[b, 0, r] = ref_spread[key]
                for k, N in enumerate(Ns):
                    hist, sd = block_histograms(draw_disorder(dim, N, P, rng=seeds[k + 2]), dim)
                    for b, key in enumerate(keys):
                        kl[b, k, r] = entropy(ref[key], hist[key], base=2)
                        spread[b, k + 1, r] = sd[key]
                log.mark(r)
                bar.update(1)
        except BaseException:
            log.flush()
            raise
    log.finish()
    mean, std = kl.mean(axis=2), kl.std(axis=2)
    numbers = {"kl_mean": {key: dict(zip(map(str, Ns), mean[b])) for b, key in enumerate(keys)},
               "noise_floor_mean": {key: float(floor[b].mean()) for b, key in enumerate(keys)},
               "paper_at_N200": PAPER_AT_200, "paper_at_N21": PAPER_AT_21}
    parameters = dict(dim=dim, n_prompts=P, reference_length=N0, context_lengths=Ns,
                      repeats=repeats, n_bins=100, pseudo_count=1, ranges=KL_RANGES,
                      normalization="model", rng=str(rng), quick=quick)
    colours = {k: f"C{i}" for i, k in enumerate(keys)}
    x = np.array(Ns) / N0
    with style():
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.0), constrained_layout=True)
        for b, key in enumerate(keys):
            c = colours[key]
            ax.fill_between(x, mean[b] - std[b], mean[b] + std[b], color=c, alpha=0.12, lw=0)
            ax.plot(x, mean[b], "o-", ms=3, color=c, label=BLOCKS[key])
            ax.axhline(floor[b].mean(), color=c, ls="--", lw=0.7)
        ax.plot([], [], "k--", lw=0.7, label="noise floor (two draws at $N=20$)")
        ax.set_xlabel(rf"$N/{N0}$  (the paper's axis label: $\Delta N/N$)")
        ax.set_ylabel(rf"$D_{{\mathrm{{KL}}}}[P_{{{N0}}}\,\|\,P_N]$ (bits)")
        ax.set_title(f"disorder histograms, $D={dim}$, $P={P}$")
        ax.legend(frameon=False, fontsize=7, ncol=2, loc="upper left")
        ax.set_ylim(0, 1.3 * max(float(np.max(mean + std)), float(floor.mean(axis=1).max())))
        panel_label(ax, "a")
        rel = spread.mean(axis=2) / spread.mean(axis=2)[:, :1]
        xs = np.concatenate([[1.0], x])
        for b, key in enumerate(keys):
            ax2.plot(xs, rel[b], "o-", ms=3, color=colours[key], label=BLOCKS[key])
        ax2.axhline(1.0, color="0.5", lw=0.6)
        ax2.set_xlabel(rf"$N/{N0}$")
        ax2.set_ylabel(rf"block std relative to $N={N0}$")
        ax2.set_title("what changes with $N$")
        ax2.legend(frameon=False, fontsize=7, ncol=2, loc="lower left")
        panel_label(ax2, "b")
        caption = (
            f"Li et al. Fig. S2 regenerated. D={dim}, P={P}, lambda0=0, 1/N prefactor; KL "
            f"divergence (bits) between one-draw histograms of each block (100 fixed bins, +1 "
            f"pseudo-count) at N={N0} and at N, mean +- std over {repeats} repeats (paper: 1000). "
            f"Dashed: the noise floor, KL between two independent draws at N={N0}. At N={Ns[-1]}: "
            + ", ".join(f"{k} {mean[b, -1]:.2f}" for b, k in enumerate(keys))
            + " (paper: " + ", ".join(f"{k} {PAPER_AT_200[k]:.2f}" for k in keys) + "); floors: "
            + ", ".join(f"{k} {floor[b].mean():.2f}" for b, k in enumerate(keys)) + ".")
        add_caption(fig, caption)
        arrays = {"context_lengths": np.array(Ns), "kl": kl, "noise_floor": floor,
                  "block_std": spread, "blocks": np.array(keys)}
        return write_outputs(out_dir, "figS2", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
