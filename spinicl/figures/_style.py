"""One look for every figure: serif labels, thin axes, colour-blind-safe maps, 300 dpi PNG."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402

from .._io import atomic_write_bytes  # noqa: E402

__all__ = ["plt", "style", "save_figure", "panel_label"]

RC = {
    "font.family": "serif",
    "font.size": 9,
    "axes.labelsize": 9,
    "axes.titlesize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.linewidth": 0.7,
    "lines.linewidth": 1.3,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "figure.dpi": 110,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "image.cmap": "viridis",
    "mathtext.fontset": "cm",
}


def style():
    """Context manager applying the package's rcParams."""
    return matplotlib.rc_context(RC)


def save_figure(fig, path) -> Path:
    """Save atomically (PNG unless the suffix says otherwise) and close the figure."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    atomic_write_bytes(path, lambda fh: fig.savefig(fh, format=fmt))
    plt.close(fig)
    return path


def panel_label(ax, letter: str):
    ax.text(-0.16, 1.04, f"({letter})", transform=ax.transAxes, fontweight="bold",
            va="bottom", ha="left")
