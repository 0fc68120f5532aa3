"""Fig. S2 of Li, Bai & Huang (arXiv:2408.02288): how strongly the disorder depends on N.

For D=20, P=1000 and each repeat, one disorder draw at N=20 and one at each N ∈ {21, 40, …, 200}
(1/N prefactor). The elements of each block — 𝒜 (off-diagonal top-block fields), ℬ (last-row
fields), 𝒞, 𝒟, ℰ (couplings; see :mod:`spinicl.experiments.disorder_blocks`) — are binned
into 100 fixed bins (the authors' ranges; values outside are dropped) with one pseudo-count per
bin, and the Kullback–Leibler divergence KL(P_20 ‖ P_N) in bits is averaged over repeats.

Each histogram holds one draw only (ℬ has D = 20 elements spread over 100 bins), so the KL has
a floor from sampling noise alone. We measure that floor directly with a second, independent
draw at N = 20, and draw it as dashed lines: only the part of a curve above its floor is
N-dependence. Panel (b) shows the mechanism: the spread of each block relative to N=20.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import register_figure
from .._common import add_caption, write_outputs
from .._style import panel_label, plt, style
from ..._validation import check_int
from ...experiments.disorder_blocks import BLOCKS, KL_BLOCKS, KL_CELL, KL_RANGES

__all__ = ["make"]

PAPER_AT_200 = {"C": 0.71, "D": 0.32, "E": 0.20, "A": 0.12, "B": 0.12}
PAPER_AT_21 = {"B": 0.12, "E": 0.16}


@register_figure("figS2", "Li et al. Fig. S2: KL divergence of the block histograms between N=20 "
                          "and larger N, with the noise floor")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. S2 (D=20, P=1000, N ∈ {21, 40, …, 200}, 1000 repeats); ``quick``: 3 repeats.

    Options: ``dim``, ``n_prompts``, ``context_lengths``, ``reference_length``, ``repeats``,
    ``checkpoint`` (the sweep folder of the repeats, or None; full runs default to
    ``out_dir/.figS2-sweep``: a rerun reuses every finished repeat), ``executor``, ``workers``.
    The data come from the sweep cell :func:`spinicl.experiments.disorder_blocks.\
kl_to_reference_cell`, one unit per repeat.
    """
    from ...experiments._sweep_runner import run_cells

    dim = check_int("dim", options.pop("dim", 20), minimum=2)
    P = check_int("n_prompts", options.pop("n_prompts", 1000), minimum=1)
    N0 = check_int("reference_length", options.pop("reference_length", 20), minimum=1)
    Ns = [check_int("context_lengths", n, minimum=1) for n in options.pop(
        "context_lengths", (21, 40, 60, 80, 100, 120, 140, 160, 180, 200))]
    repeats = check_int("repeats", options.pop("repeats", 3 if quick else 1000), minimum=1)
    checkpoint = options.pop("checkpoint", None if quick else Path(out_dir) / ".figS2-sweep")
    executor = options.pop("executor", "serial")
    workers = options.pop("workers", None)
    if options:
        raise TypeError(f"unknown option(s) for figS2: {', '.join(sorted(options))}")
    keys = list(KL_BLOCKS)
    # one grid point, ``repeats`` units: unit r draws from child r of the master seed
    result = run_cells(kind=KL_CELL, name="figS2", axes={"reference_length": [N0]},
                       parameters=dict(dim=dim, n_prompts=P, context_lengths=Ns),
                       repeats=repeats, rng=rng, store=checkpoint, executor=executor,
                       workers=workers, progress=progress)
    kl = np.moveaxis(result.data["kl"][0], 0, -1)            # (blocks, N, repeats)
    floor = np.moveaxis(result.data["floor"][0], 0, -1)      # (blocks, repeats)
    spread = np.moveaxis(result.data["spread"][0], 0, -1)    # (blocks, 1 + N, repeats)
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
