"""Fig. 1 of Li, Bai & Huang (arXiv:2408.02288): the couplings and fields of the spin glass.

(a) the (D+1)×(D+1) field matrix h and (b) the (D+1)²×(D+1)² coupling matrix J of one disorder
draw (D=5, N=100, P=1000, λ0=0), built with the authors' ``get_field`` prefactor 1/(N+1); (c) the
element histograms of the five blocks, pooled over many independent draws with the model's 1/N
prefactor (the authors' ``gen_field``):

* 𝒜 — fields on the top D×D block (diagonal ≈ 1/D, off-diagonal ≈ 0);
* ℬ — fields on the last row;
* 𝒞 — couplings among top-block spins (off-diagonal);
* 𝒟 — couplings between the top block and the last row (both orderings, as the authors pool);
* ℰ — couplings within the last row (off-diagonal).

The red curves are the authors' hand-fitted guides. Their 𝒞 guide is coded as a σ = 0.024
Gaussian evaluated on a grid three times wider than the one it is drawn on, so the curve in the
paper is a σ = 0.008 Gaussian: we draw that curve.

This module also holds the helpers the other ``paper_*`` figures share: block extraction, the
population (P → ∞) block moments and the caption/record writer.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from . import register_figure
from ._style import panel_label, plt, save_figure, style
from .._io import run_record, save_json_atomic, save_npz_atomic
from .._progress import progress_bar
from .._validation import as_seed_sequence, check_int
from ..hamiltonian import SpinGlass
from ..prompts import sample_prompts

__all__ = ["BLOCKS", "block_masks", "disorder_blocks", "draw_disorder", "population_block_moments",
           "pooled_block_samples", "add_caption", "write_outputs", "WorkLog", "make"]

#: Block names in the order the paper draws them, with their plot symbols.
BLOCKS = {"A": r"$\mathcal{A}$", "B": r"$\mathcal{B}$", "C": r"$\mathcal{C}$",
          "D": r"$\mathcal{D}$", "E": r"$\mathcal{E}$"}

#: The authors' guide curves (Fig. 1c): (weight, mean, std) mixtures, as drawn in the paper.
GUIDES = {"A": ((0.82, 0.0, 0.02), (0.18, 0.2, 0.02)), "B": ((1.0, 0.0, 0.06),),
          "C": ((1.0, 0.0, 0.008),), "D": ((1.0, 0.0, 0.027),), "E": ((1.0, 0.0, 0.08),)}

#: Horizontal ranges of the paper's histogram panels.
RANGES = {"A": (-0.2, 0.4), "B": (-0.3, 0.3), "C": (-0.1, 0.1), "D": (-0.3, 0.3),
          "E": (-0.55, 0.55)}


# --------------------------------------------------------------------------- blocks
def block_masks(dim: int) -> dict[str, np.ndarray]:
    """Boolean masks selecting each block's elements of h (length n) and J (n×n), n = (D+1)².

    Keys: ``"A"``, ``"A_diag"``, ``"A_off"``, ``"B"`` (masks over h) and ``"C"``, ``"C_diag"``,
    ``"D"``, ``"E"``, ``"E_diag"`` (masks over J). Off-diagonal coupling blocks include both
    orderings (i, j) and (j, i), as the authors pool them; dead spins are never selected.
    """
    dim = check_int("dim", dim, minimum=1)
    m = dim + 1
    rows, cols = np.divmod(np.arange(m * m), m)
    top = (rows < dim) & (cols < dim)
    last = (rows == dim) & (cols < dim)
    eye = np.eye(m * m, dtype=bool)
    return {
        "A": top, "A_diag": top & (rows == cols), "A_off": top & (rows != cols), "B": last,
        "C": np.outer(top, top) & ~eye, "C_diag": np.outer(top, top) & eye,
        "D": np.outer(top, last) | np.outer(last, top),
        "E": np.outer(last, last) & ~eye, "E_diag": np.outer(last, last) & eye,
    }


def disorder_blocks(couplings, fields, dim: int) -> dict[str, np.ndarray]:
    """The values of every block (see :func:`block_masks`) of one disorder draw, as 1-D arrays."""
    masks = block_masks(dim)
    J = np.asarray(couplings, dtype=float)
    h = np.asarray(fields, dtype=float)
    return {k: (h[mask] if mask.ndim == 1 else J[mask]) for k, mask in masks.items()}


def draw_disorder(dim: int, context_length: int, n_prompts: int, *, l2: float = 0.0,
                  normalization: str = "model", rng=None) -> SpinGlass:
    """One disorder draw: P single-instance prompts turned into the spin glass."""
    prompts = sample_prompts(dim, context_length, n_prompts, rng=rng)
    return SpinGlass.from_prompts(prompts, l2=l2, normalization=normalization)


def population_block_moments(dim: int, context_length: int) -> dict[str, float]:
    """Exact P → ∞ means of the diagonal blocks (1/N prefactor; §3 of our reference notes).

    ``A_diag`` = E[y s_aa] = 1/D, ``C_diag`` = −(1/D)(1 + (D+1)/N),
    ``E_diag`` = −(1 + 2/D)(1 + 2/N); every off-diagonal block has mean 0.
    """
    D, N = dim, context_length
    return {"A_diag": 1.0 / D, "C_diag": -(1.0 + (D + 1) / N) / D,
            "E_diag": -(1.0 + 2.0 / D) * (1.0 + 2.0 / N), "A_off": 0.0, "B": 0.0, "C": 0.0,
            "D": 0.0, "E": 0.0}


def pooled_block_samples(dim: int, context_length: int, n_prompts: int, n_draws: int, *,
                         normalization: str = "model", rng=None, progress: bool = False):
    """Block values pooled over ``n_draws`` independent disorder draws (children of one seed)."""
    n_draws = check_int("n_draws", n_draws, minimum=1)
    children = as_seed_sequence(rng).spawn(n_draws)
    pooled: dict[str, list] = {}
    with progress_bar(total=n_draws, desc="disorder draws", enabled=progress) as bar:
        for seed in children:
            model = draw_disorder(dim, context_length, n_prompts, normalization=normalization,
                                  rng=seed)
            for k, v in disorder_blocks(model.couplings, model.fields, dim).items():
                pooled.setdefault(k, []).append(v)
            bar.update(1)
    return {k: np.concatenate(v) for k, v in pooled.items()}


# --------------------------------------------------------------------------- resumable work
class WorkLog:
    """Checkpoint/resume for a figure computed in independent units of work.

    Every unit draws its randomness from its own child seed, so a resumed run is bitwise the run
    that was never interrupted. ``arrays`` (name → ndarray, filled in place by the caller) and the
    ``done`` mask are written atomically to ``path`` at most every ``every_s`` seconds and on
    :meth:`flush`; a checkpoint written with other settings is refused (``ValueError``).
    ``path=None`` keeps everything in memory.
    """

    def __init__(self, path, config: dict, arrays: dict, n_units: int, *, every_s: float = 30.0):
        from .._checkpoint import config_fingerprint, load_checkpoint

        self.path = None if path is None else Path(path)
        self.fingerprint = config_fingerprint(config)
        self.arrays = arrays
        self.done = np.zeros(check_int("n_units", n_units, minimum=0), dtype=bool)
        self.every_s = every_s
        self.resumed = 0
        if self.path is not None:
            loaded = load_checkpoint(self.path, fingerprint=self.fingerprint)
            if loaded is not None:
                saved, _ = loaded
                for key in arrays:
                    arrays[key][...] = saved[key]
                self.done[:] = saved["done"].astype(bool)
                self.resumed = int(self.done.sum())
        import time

        self._clock = time.monotonic
        self._last = self._clock()

    def mark(self, unit: int):
        """Record unit ``unit`` as finished (its results already stored in ``arrays``)."""
        self.done[unit] = True
        if self.path is not None and self._clock() - self._last >= self.every_s:
            self.flush()

    def flush(self):
        from .._checkpoint import save_checkpoint

        if self.path is not None:
            save_checkpoint(self.path, {"done": self.done, **self.arrays},
                            {"fingerprint": self.fingerprint})
            self._last = self._clock()

    def finish(self):
        """All units done: remove the checkpoint file."""
        if self.path is not None and self.path.exists():
            self.path.unlink()


# --------------------------------------------------------------------------- output helpers
def add_caption(fig, text: str, *, width_chars: int | None = None, y: float = -0.01):
    """Put a wrapped caption under the axes (kept by ``bbox_inches='tight'``)."""
    if width_chars is None:
        width_chars = int(fig.get_size_inches()[0] * 15)
    fig.text(0.5, y, textwrap.fill(text, width_chars), ha="center", va="top", fontsize=7.5,
             color="0.15", wrap=False)


def write_outputs(out_dir, stem: str, *, arrays: dict, parameters: dict, caption: str, fig,
                  numbers: dict | None = None) -> list[Path]:
    """Write ``stem``.npz (the plotted data), ``stem``.json (run record) and ``stem``.png."""
    out_dir = Path(out_dir)
    npz = save_npz_atomic(out_dir / f"{stem}.npz", **arrays)
    record = run_record(f"figure:{stem}", parameters, caption=caption, numbers=numbers or {},
                        files={"npz": npz.name, "png": f"{stem}.png"})
    js = save_json_atomic(out_dir / f"{stem}.json", record)
    png = save_figure(fig, out_dir / f"{stem}.png")
    return [npz, js, png]


def _gaussian_mixture(x, parts):
    return sum(w * np.exp(-0.5 * ((x - mu) / sd) ** 2) / (np.sqrt(2 * np.pi) * sd)
               for w, mu, sd in parts)


# --------------------------------------------------------------------------- the figure
@register_figure("fig1", "Li et al. Fig. 1: field and coupling matrices and block histograms")
def make(out_dir, *, quick: bool = False, rng=0, progress: bool = True, **options):
    """Fig. 1 (D=5, N=100, P=1000, λ0=0); ``quick`` pools 150 draws instead of 20 000.

    Options: ``dim``, ``context_length``, ``n_prompts``, ``n_draws``.
    """
    dim = check_int("dim", options.pop("dim", 5), minimum=1)
    N = check_int("context_length", options.pop("context_length", 100), minimum=1)
    P = check_int("n_prompts", options.pop("n_prompts", 1000), minimum=1)
    n_draws = check_int("n_draws", options.pop("n_draws", 150 if quick else 20000), minimum=1)
    if options:
        raise TypeError(f"unknown option(s) for fig1: {', '.join(sorted(options))}")
    seed_matrix, seed_pool = as_seed_sequence(rng).spawn(2)

    # (a, b): one draw with the authors' get_field prefactor 1/(N+1)
    model = draw_disorder(dim, N, P, normalization="li2024", rng=seed_matrix)
    h = model.fields.reshape(dim + 1, dim + 1)
    J = model.couplings
    single = disorder_blocks(J, model.fields, dim)
    # (c): pooled draws with the 1/N prefactor of gen_field
    pooled = pooled_block_samples(dim, N, P, n_draws, rng=seed_pool, progress=progress)

    theory = population_block_moments(dim, N)
    numbers = {
        "single_draw": {"A_diag_range": [single["A_diag"].min(), single["A_diag"].max()],
                        "A_off_max_abs": np.abs(single["A_off"]).max(),
                        "B_max_abs": np.abs(single["B"]).max(),
                        "C_diag_mean": single["C_diag"].mean(),
                        "E_diag_range": [single["E_diag"].min(), single["E_diag"].max()],
                        "C_std": single["C"].std(), "D_std": single["D"].std(),
                        "E_min": single["E"].min()},
        "pooled": {k: {"mean": v.mean(), "std": v.std(), "count": v.size}
                   for k, v in pooled.items()},
        "population": theory,
        "paper": {"A_diag_range": [0.19, 0.22], "A_off_max_abs": 0.06, "B_max_abs": 0.11,
                  "C_diag_mean": -0.20, "E_diag_range": [-1.35, -1.26], "C_std": 0.008,
                  "D_std": 0.024, "E_min": -0.17, "B_pooled_std": 0.0600,
                  "guide_std": {"B": 0.06, "C": 0.008, "D": 0.027, "E": 0.08}},
    }
    parameters = dict(dim=dim, context_length=N, n_prompts=P, l2=0.0, n_draws=n_draws,
                      normalization_ab="li2024 (1/(N+1))", normalization_c="model (1/N)",
                      rng=str(rng), quick=quick)

    with style():
        fig = plt.figure(figsize=(7.2, 5.0))
        gs = fig.add_gridspec(2, 5, height_ratios=[1.25, 1.0], hspace=0.42, wspace=0.45,
                              left=0.06, right=0.98, top=0.95, bottom=0.1)
        ax_h = fig.add_subplot(gs[0, :2])
        ax_J = fig.add_subplot(gs[0, 2:])
        lim_h = np.abs(h).max()
        im = ax_h.imshow(h, cmap="RdBu_r", vmin=-lim_h, vmax=lim_h)
        fig.colorbar(im, ax=ax_h, fraction=0.046, pad=0.03).set_label(r"$h_{mn}$")
        ax_h.axhline(dim - 0.5, color="k", ls="--", lw=0.8)
        ax_h.axvline(dim - 0.5, color="k", ls="--", lw=0.8)
        ax_h.text((dim - 1) / 2, (dim - 1) / 2, BLOCKS["A"], ha="center", va="center",
                  fontsize=13, color="k", alpha=0.6)
        ax_h.text((dim - 1) / 2, dim, BLOCKS["B"], ha="center", va="center", fontsize=11)
        ax_h.set_xlabel("column $n$ of $W$")
        ax_h.set_ylabel("row $m$ of $W$")
        ax_h.set_title(r"fields $h$ (one draw)")
        ticks = np.arange(dim + 1)
        ax_h.set_xticks(ticks, [str(t + 1) for t in ticks])
        ax_h.set_yticks(ticks, [str(t + 1) for t in ticks])
        panel_label(ax_h, "a")

        n_top = dim * (dim + 1)
        from matplotlib.colors import SymLogNorm

        # the last-row diagonal (≈ −1.4) is 100 times the typical off-diagonal coupling: a
        # symmetric-log scale shows both
        lim_J = np.abs(J).max()
        norm = SymLogNorm(linthresh=0.01, linscale=0.6, vmin=-lim_J, vmax=lim_J, base=10)
        im = ax_J.imshow(J, cmap="RdBu_r", norm=norm, interpolation="nearest")
        cb = fig.colorbar(im, ax=ax_J, fraction=0.046, pad=0.03)
        cb.set_label(r"$J_{ij}$ (symmetric log scale)")
        for pos in (n_top - 0.5,):
            ax_J.axhline(pos, color="k", ls="--", lw=0.8)
            ax_J.axvline(pos, color="k", ls="--", lw=0.8)
        mid_top, mid_last = (n_top - 1) / 2, n_top + dim / 2
        for (x, y), key in (((mid_top, mid_top), "C"), ((mid_last, mid_top), "D"),
                            ((mid_last, mid_last), "E")):
            ax_J.text(x, y, BLOCKS[key], ha="center", va="center", fontsize=12, alpha=0.7)
        ax_J.set_xlabel(r"spin $j$ ($m$-major order)")
        ax_J.set_ylabel(r"spin $i$")
        ax_J.set_title(r"couplings $J$ (one draw)")
        panel_label(ax_J, "b")

        for col, key in enumerate(BLOCKS):
            ax = fig.add_subplot(gs[1, col])
            lo, hi = RANGES[key]
            vals = pooled[key]
            n_bins = int(np.clip(2 * np.sqrt(vals.size), 30, 120))
            ax.hist(vals, bins=np.linspace(lo, hi, n_bins + 1), density=True, color="0.6",
                    edgecolor="none")
            x = np.linspace(lo, hi, 400)
            ax.plot(x, _gaussian_mixture(x, GUIDES[key]), color="C3", lw=0.9)
            ax.set_xlim(lo, hi)
            ax.text(0.95, 0.95, BLOCKS[key], transform=ax.transAxes, ha="right", va="top",
                    fontsize=11, color="C3")
            if key == "A":
                stat = (f"diag mean {pooled['A_diag'].mean():.3f}\n"
                        f"off sd {pooled['A_off'].std():.3f}")
            else:
                stat = f"sd {vals.std():.3f}"
            if key == "A":
                ax.text(0.95, 0.78, stat, transform=ax.transAxes, ha="right", va="top",
                        fontsize=6.5)
            else:
                ax.text(0.04, 0.95, stat, transform=ax.transAxes, ha="left", va="top",
                        fontsize=6.5)
            ax.set_xlabel({"A": "$h$ (top block)", "B": "$h$ (last row)"}.get(key, "$J_{ij}$"))
            ax.tick_params(labelsize=7)
            ax.locator_params(axis="x", nbins=3)
            if col == 0:
                ax.set_ylabel("density")
                panel_label(ax, "c")
        caption = (f"Li et al. Fig. 1 regenerated. D={dim}, N={N}, P={P}, lambda0=0, one fresh "
                   f"task per prompt. (a,b) one draw with the authors' get_field prefactor "
                   f"1/(N+1); (c) histograms pooled over {n_draws} independent draws with the "
                   f"1/N prefactor (paper: 1e5 draws); red: the authors' hand-fitted guide "
                   f"Gaussians (C drawn with sd 0.008 as in the paper's plot). "
                   f"Diagonal of J in (b): "
                   f"{single['C_diag'].mean():.3f} (top block, mean), "
                   f"{single['E_diag'].min():.2f} to {single['E_diag'].max():.2f} (last row). "
                   f"Exact P->inf means: A diag {theory['A_diag']:.3f}, "
                   f"C diag {theory['C_diag']:.3f}, "
                   f"E diag {theory['E_diag']:.3f}.")
        add_caption(fig, caption, y=0.0)
        arrays = {"h": h, "J": J, **{f"pooled_{k}": v for k, v in pooled.items()},
                  **{f"single_{k}": v for k, v in single.items()}}
        return write_outputs(out_dir, "fig1", arrays=arrays, parameters=parameters,
                             caption=caption, fig=fig, numbers=numbers)
