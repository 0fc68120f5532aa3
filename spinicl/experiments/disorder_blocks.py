"""The block structure of the disorder (Li, Bai & Huang 2024, Figs. 1 and S2).

The fields h (length (D+1)²) and couplings J of one prompt set split into five blocks:

* 𝒜 — fields on the top D×D block of W (diagonal ≈ 1/D, off-diagonal ≈ 0);
* ℬ — fields on the last row;
* 𝒞 — couplings among top-block spins (off-diagonal);
* 𝒟 — couplings between the top block and the last row (both orderings, as the authors pool);
* ℰ — couplings within the last row (off-diagonal).

:func:`pooled_block_samples` pools the blocks over independent draws (Fig. 1c), and
:func:`kl_to_reference_cell` is the sweep cell of Fig. S2: one repeat of the KL divergence
between block histograms at a reference context length and at larger ones.
"""
from __future__ import annotations

import numpy as np

from .._progress import progress_bar
from .._validation import check_int, child_seed
from ..hamiltonian import SpinGlass
from ..prompts import sample_prompts

__all__ = ["BLOCKS", "KL_BLOCKS", "KL_RANGES", "block_masks", "disorder_blocks", "draw_disorder",
           "population_block_moments", "pooled_block_samples", "block_histograms",
           "kl_to_reference_cell", "KL_CELL", "fig1_disorder"]

#: Block names in the order the paper draws them, with their plot symbols.
BLOCKS = {"A": r"$\mathcal{A}$", "B": r"$\mathcal{B}$", "C": r"$\mathcal{C}$",
          "D": r"$\mathcal{D}$", "E": r"$\mathcal{E}$"}

#: The blocks Fig. S2 compares (𝒜 without its diagonal) and the authors' fixed histogram ranges.
KL_BLOCKS = {"A": "A_off", "B": "B", "C": "C", "D": "D", "E": "E"}
KL_RANGES = {"A": (-0.2, 0.4), "B": (-0.3, 0.3), "C": (-0.1, 0.1), "D": (-0.3, 0.3),
             "E": (-0.5, 0.5)}

#: The sweep cell kind of :func:`kl_to_reference_cell` (importable by any worker).
KL_CELL = f"{__name__}:kl_to_reference_cell"


def block_masks(dim: int) -> dict[str, np.ndarray]:
    """Boolean masks selecting each block's elements of h (length n) and J (n×n), n = (D+1)².

    Parameters
    ----------
    dim : int
        The token dimension D (≥ 1).

    Returns
    -------
    dict
        Keys ``"A"``, ``"A_diag"``, ``"A_off"``, ``"B"`` (masks over h) and ``"C"``,
        ``"C_diag"``, ``"D"``, ``"E"``, ``"E_diag"`` (masks over J). Off-diagonal coupling blocks
        include both orderings (i, j) and (j, i), as the authors pool them; dead spins are never
        selected.
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
    """One disorder draw: P single-instance prompts turned into the spin glass.

    Parameters
    ----------
    dim, context_length, n_prompts : int
        D, N and P.
    l2 : float
        Ridge λ0 of the Hamiltonian.
    normalization : {"model", "li2024"}
        Feature prefactor 1/N (``"model"``) or the authors' 1/(N+1).
    rng : seed, optional
    """
    prompts = sample_prompts(dim, context_length, n_prompts, rng=rng)
    return SpinGlass.from_prompts(prompts, l2=l2, normalization=normalization)


def population_block_moments(dim: int, context_length: int) -> dict[str, float]:
    """Exact P → ∞ means of the diagonal blocks (1/N prefactor; §3 of our reference notes).

    ``A_diag`` = E[y s_aa] = 1/D, ``C_diag`` = −(1/D)(1 + (D+1)/N),
    ``E_diag`` = −(1 + 2/D)(1 + 2/N); every off-diagonal block has mean 0.
    """
    D = check_int("dim", dim, minimum=1)
    N = check_int("context_length", context_length, minimum=1)
    return {"A_diag": 1.0 / D, "C_diag": -(1.0 + (D + 1) / N) / D,
            "E_diag": -(1.0 + 2.0 / D) * (1.0 + 2.0 / N), "A_off": 0.0, "B": 0.0, "C": 0.0,
            "D": 0.0, "E": 0.0}


def pooled_block_samples(dim: int, context_length: int, n_prompts: int, n_draws: int, *,
                         normalization: str = "model", rng=None, progress: bool = False):
    """Block values pooled over ``n_draws`` independent disorder draws (children of one seed).

    Returns ``{block: 1-D array}`` with the keys of :func:`block_masks`.
    """
    n_draws = check_int("n_draws", n_draws, minimum=1)
    # child_seed, not spawn: the same seed object gives the same draws on every call
    children = [child_seed(rng, k) for k in range(n_draws)]
    pooled: dict[str, list] = {}
    with progress_bar(total=n_draws, desc="disorder draws", enabled=progress) as bar:
        for seed in children:
            model = draw_disorder(dim, context_length, n_prompts, normalization=normalization,
                                  rng=seed)
            for k, v in disorder_blocks(model.couplings, model.fields, dim).items():
                pooled.setdefault(k, []).append(v)
            bar.update(1)
    return {k: np.concatenate(v) for k, v in pooled.items()}


def block_histograms(model, dim: int, *, n_bins: int = 100) -> tuple[dict, dict]:
    """Counts (+1 pseudo-count) of every KL block in the fixed bins, and each block's std."""
    blocks = disorder_blocks(model.couplings, model.fields, dim)
    counts, spread = {}, {}
    for key, name in KL_BLOCKS.items():
        values = blocks[name]
        lo, hi = KL_RANGES[key]
        counts[key] = np.histogram(values, bins=np.linspace(lo, hi, n_bins + 1))[0] + 1.0
        spread[key] = float(values.std())
    return counts, spread


def kl_to_reference_cell(*, dim: int, n_prompts: int, reference_length: int,
                         context_lengths: list, rng=None) -> dict:
    """One repeat of Fig. S2: KL(P_ref ‖ P_N) in bits per block, its noise floor, the spreads.

    A sweep cell (kind :data:`KL_CELL`): ``rng`` is the unit's seed, split into a reference
    draw, an independent twin at the reference length (the noise floor) and one draw per N.

    Returns
    -------
    dict
        ``kl`` (blocks × N), ``floor`` (blocks), ``spread`` (blocks × (1 + len N); column 0 is
        the reference length).
    """
    from scipy.stats import entropy

    Ns = [check_int("context_lengths", n, minimum=1) for n in context_lengths]
    keys = list(KL_BLOCKS)
    seeds = [child_seed(rng, k) for k in range(len(Ns) + 2)]
    kl = np.zeros((len(keys), len(Ns)))
    floor = np.zeros(len(keys))
    spread = np.zeros((len(keys), len(Ns) + 1))
    ref, ref_spread = block_histograms(draw_disorder(dim, reference_length, n_prompts,
                                                     rng=seeds[0]), dim)
    twin, _ = block_histograms(draw_disorder(dim, reference_length, n_prompts, rng=seeds[1]), dim)
    for b, key in enumerate(keys):
        floor[b] = entropy(ref[key], twin[key], base=2)
        spread[b, 0] = ref_spread[key]
    for k, N in enumerate(Ns):
        hist, sd = block_histograms(draw_disorder(dim, N, n_prompts, rng=seeds[k + 2]), dim)
        for b, key in enumerate(keys):
            kl[b, k] = entropy(ref[key], hist[key], base=2)
            spread[b, k + 1] = sd[key]
    return {"kl": kl, "floor": floor, "spread": spread}


def fig1_disorder(dim: int, context_length: int, n_prompts: int, n_draws: int, *, rng=None,
                  progress: bool = False):
    """The data of Fig. 1: one draw with the authors' 1/(N+1) prefactor, and pooled blocks.

    Returns ``(model, pooled)``: the :class:`~spinicl.SpinGlass` of one draw (child 0 of
    ``rng``, ``normalization="li2024"``) and :func:`pooled_block_samples` over ``n_draws``
    draws with the model's 1/N prefactor (child 1).
    """
    model = draw_disorder(dim, context_length, n_prompts, normalization="li2024",
                          rng=child_seed(rng, 0))
    pooled = pooled_block_samples(dim, context_length, n_prompts, n_draws,
                                  rng=child_seed(rng, 1), progress=progress)
    return model, pooled
