"""Output helpers every figure shares: captions, the npz/json/png triple, sweep outputs, edges.

Nothing here computes physics; it only writes what a figure module was handed.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes, run_record, save_json_atomic, save_npz_atomic
from ._style import save_figure

__all__ = ["add_caption", "add_reconstruction_caption", "write_outputs", "sweep_outputs_beside",
           "cell_edges", "RECONSTRUCTION"]

#: The disclaimer under every Ren & Liu (2024) figure.
RECONSTRUCTION = ("Reconstruction, not the paper's numbers: the paper's dimensions, d_r, tasks and "
                  "training settings are unavailable; every setting here is our choice.")


def add_caption(fig, text: str, *, width_chars: int | None = None, y: float = -0.01):
    """Put a wrapped caption under the axes (kept by ``bbox_inches='tight'``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    text : str
    width_chars : int, optional
        Line width in characters (default: 15 per inch of figure width).
    y : float
        Vertical position in figure coordinates (the caption hangs below it).
    """
    if width_chars is None:
        width_chars = int(fig.get_size_inches()[0] * 15)
    fig.text(0.5, y, textwrap.fill(text, width_chars), ha="center", va="top", fontsize=7.5,
             color="0.15", wrap=False)


def add_reconstruction_caption(fig, text: str, *, width: int = 130):
    """A left-aligned wrapped caption ending with :data:`RECONSTRUCTION` (Ren & Liu figures)."""
    wrapped = "\n".join(textwrap.wrap(f"{text} {RECONSTRUCTION}", width=width))
    fig.text(0.01, -0.01, wrapped, ha="left", va="top", fontsize=6.8, color="0.25")


def write_outputs(out_dir, stem: str, *, arrays: dict, parameters: dict, caption: str, fig,
                  numbers: dict | None = None) -> list[Path]:
    """Write ``stem``.npz (the plotted data), ``stem``.json (run record) and ``stem``.png.

    Returns the three paths in that order.
    """
    out_dir = Path(out_dir)
    npz = save_npz_atomic(out_dir / f"{stem}.npz", **arrays)
    record = run_record(f"figure:{stem}", parameters, caption=caption, numbers=numbers or {},
                        files={"npz": npz.name, "png": f"{stem}.png"})
    js = save_json_atomic(out_dir / f"{stem}.json", record)
    png = save_figure(fig, out_dir / f"{stem}.png")
    return [npz, js, png]


def sweep_outputs_beside(result, out_dir) -> list[Path]:
    """Copy a sweep's aggregate NAME.npz and NAME.json into ``out_dir``, beside its figure.

    The sweep itself runs in a subfolder (its units/ must not mix with another sweep's), but the
    outputs a user opens live where every other job puts them: ``out_dir/NAME.{npz,json,png}``.
    """
    copies = []
    for key in ("npz", "json"):
        source = Path(result.files[key])
        copies.append(atomic_write_bytes(Path(out_dir) / source.name,
                                         lambda fh, s=source: fh.write(s.read_bytes())))
    return copies


def cell_edges(centres) -> np.ndarray:
    """Cell edges around sorted centres (for ``pcolormesh(shading="flat")``)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] * 0.9, c[0] * 1.1])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
