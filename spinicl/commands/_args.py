"""Argument types shared by the subcommands."""
from __future__ import annotations

import argparse

import numpy as np

__all__ = ["float_list", "add_common"]


def float_list(text: str) -> np.ndarray:
    """Parse ``"0.5,1,2"`` or a range ``"start:stop:num"`` (inclusive, like numpy.linspace)."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            return np.linspace(float(start), float(stop), int(num))
        return np.array([float(t) for t in text.split(",") if t.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers or start:stop:num, got {text!r}") from None


def add_common(parser, *, out_default: str):
    parser.add_argument("--out", default=out_default, metavar="DIR",
                        help=f"output folder (default: {out_default})")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
