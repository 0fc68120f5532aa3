"""Figures: one module per figure (or family), each registering a ``make`` function.

A figure module decorates ``make(out_dir, *, quick=False, rng=0, progress=True) -> list[Path]``
with :func:`register_figure`; ``spinicl figure NAME`` and the ``analysis/`` scripts find it here.
Modules are discovered on first use, so adding a figure never touches this file.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

__all__ = ["register_figure", "available_figures", "get_figure", "make_figure", "FigureSpec",
           "run_figure_script"]

_REGISTRY: dict[str, "FigureSpec"] = {}
_DISCOVERED = False


@dataclass(frozen=True)
class FigureSpec:
    name: str
    description: str
    make: Callable
    module: str


def register_figure(name: str, description: str):
    """Decorator: register ``make(out_dir, *, quick, rng, progress)`` under ``name``."""

    def deco(func):
        if name in _REGISTRY and _REGISTRY[name].module != func.__module__:
            raise ValueError(f"figure {name!r} is registered twice "
                             f"({_REGISTRY[name].module} and {func.__module__})")
        _REGISTRY[name] = FigureSpec(name, description, func, func.__module__)
        return func

    return deco


def _discover():
    global _DISCOVERED
    if _DISCOVERED:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _DISCOVERED = True


def available_figures() -> dict[str, FigureSpec]:
    """All registered figures by name."""
    _discover()
    return dict(sorted(_REGISTRY.items()))


def get_figure(name: str) -> FigureSpec:
    figures = available_figures()
    if name not in figures:
        raise ValueError(f"unknown figure {name!r}; available: {', '.join(figures)}")
    return figures[name]


def make_figure(name: str, out_dir="figures", *, quick: bool = False, rng=0,
                progress: bool = True):
    """Compute and draw figure ``name`` into ``out_dir``; returns the written paths."""
    return get_figure(name).make(out_dir, quick=quick, rng=rng, progress=progress)


def run_figure_script(name: str, doc: str | None = None, argv=None) -> list:
    """The command line of an ``analysis/`` script: draw figure ``name`` and list the files.

    Parameters
    ----------
    name : str
        A registered figure.
    doc : str, optional
        The script's docstring, shown by ``--help``.
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).
    """
    import argparse

    spec = get_figure(name)
    parser = argparse.ArgumentParser(description=doc or spec.description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small, fast version (the one CI runs)")
    parser.add_argument("--out", default=f"figures/{name}",
                        help=f"output folder (default: figures/{name})")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    paths = make_figure(name, args.out, quick=args.quick, rng=args.seed,
                        progress=not args.no_progress)
    for path in paths:
        print(f"wrote {path}")
    return paths
