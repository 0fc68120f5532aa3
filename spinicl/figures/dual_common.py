"""Shared pieces of the dual-model figures (Ren & Liu 2024 reconstructions): captions and saving."""
from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["RECONSTRUCTION", "add_caption", "seed_summary"]

RECONSTRUCTION = ("Reconstruction, not the paper's numbers: the paper's dimensions, d_r, tasks and "
                  "training settings are unavailable; every setting here is our choice.")


def add_caption(fig, text: str, *, width: int = 130):
    """A wrapped caption under the axes (kept by ``bbox_inches='tight'``)."""
    wrapped = "\n".join(textwrap.wrap(f"{text} {RECONSTRUCTION}", width=width))
    fig.text(0.01, -0.01, wrapped, ha="left", va="top", fontsize=6.8, color="0.25")


def seed_summary(rng) -> str:
    return f"seed {rng}" if not hasattr(rng, "entropy") else "seed sequence"


def out_path(out_dir, name: str) -> Path:
    return Path(out_dir) / name
