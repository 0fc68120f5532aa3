"""Figures, one file per figure, grouped by the paper they come from.

=====================  ===================================================================
folder                 figures
=====================  ===================================================================
``li2024/``            Li, Bai & Huang (2024), the spin-glass paper: ``fig1`` … ``figS8``
``spinglass/``         our own phase diagrams and checks (``phase-diagram``, ``thermal-…``)
``bu2024/``            Bu et al. (2024), multi-concept softmax transformer (``concepts-…``)
``ren_liu2024/``       Ren & Liu (2024), dual model of softmax attention (``dual-…``)
=====================  ===================================================================

A figure's registered name is its file stem with underscores written as hyphens: the figure
``memorisation-phase-diagram`` lives in ``spinglass/memorisation_phase_diagram.py``, ``fig4a`` in
``li2024/fig4a.py``. Each file decorates ``make(out_dir, *, quick=False, rng=SEED,
progress=True, **options) -> list[Path]`` with :func:`register_figure`; ``make`` calls the
experiment or engine that computes the data (``spinicl.experiments``, ``spinicl.theory``, …) and
only draws and saves here. ``spinicl figure NAME`` is the one command that makes a figure; its
default seed is the one in ``make``'s signature (:attr:`FigureSpec.default_seed`). Modules are
discovered on first use, so adding a figure never touches this file.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Callable

__all__ = ["register_figure", "available_figures", "get_figure", "make_figure", "FigureSpec",
           "plot_phase_diagram", "run_figure_script", "PAPERS"]

#: The per-paper subpackages, in the order ``spinicl figure --list`` shows them.
PAPERS = ("li2024", "spinglass", "bu2024", "ren_liu2024")

_REGISTRY: dict[str, "FigureSpec"] = {}
_DISCOVERED = False


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure.

    Attributes
    ----------
    name : str
        The registered name (the file stem, hyphenated).
    description : str
        One line for ``spinicl figure --list``.
    make : callable
        ``make(out_dir, *, quick, rng, progress, **options)``.
    module : str
        The module that registered it, e.g. ``spinicl.figures.li2024.fig2``.
    """

    name: str
    description: str
    make: Callable
    module: str

    @property
    def paper(self) -> str:
        """The subpackage (paper) the figure belongs to, e.g. ``"li2024"``; ``"other"`` for a
        figure registered from outside :mod:`spinicl.figures`."""
        parts = self.module.split(".")
        return parts[2] if parts[:2] == ["spinicl", "figures"] and len(parts) > 3 else "other"

    @property
    def default_seed(self) -> int:
        """The master seed ``make`` uses when none is given: the one default for every caller."""
        return inspect.signature(self.make).parameters["rng"].default


def register_figure(name: str, description: str):
    """Decorator: register ``make(out_dir, *, quick, rng, progress)`` under ``name``.

    Parameters
    ----------
    name : str
        The figure's name; must equal the module's file stem with ``_`` written as ``-``.
    description : str
        One line for ``spinicl figure --list``.
    """

    def deco(func):
        stem = func.__module__.rsplit(".", 1)[-1]
        if func.__module__.startswith(__name__ + ".") and stem.replace("_", "-") != name:
            raise ValueError(f"figure {name!r} must live in a file named "
                             f"{name.replace('-', '_')}.py, not {stem}.py")
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
    for paper in PAPERS:
        package = importlib.import_module(f"{__name__}.{paper}")
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{info.name}")
    _DISCOVERED = True


def available_figures() -> dict[str, FigureSpec]:
    """All registered figures by name (sorted)."""
    _discover()
    return dict(sorted(_REGISTRY.items()))


def get_figure(name: str) -> FigureSpec:
    """The :class:`FigureSpec` registered as ``name``; ``ValueError`` listing them if unknown."""
    figures = available_figures()
    if name not in figures:
        raise ValueError(f"unknown figure {name!r}; available: {', '.join(figures)}")
    return figures[name]


def make_figure(name: str, out_dir="figures", *, quick: bool = False, rng=None,
                progress: bool = True, **options):
    """Compute and draw figure ``name`` into ``out_dir``; returns the written paths.

    Parameters
    ----------
    name : str
        A registered figure (see :func:`available_figures`).
    out_dir : path
    quick : bool
        The small, fast version (the one the tests and CI run).
    rng : int or numpy.random.SeedSequence, optional
        Master seed; default: the figure's own (:attr:`FigureSpec.default_seed`).
    progress : bool
    **options
        Figure-specific options (each ``make`` documents and checks its own).
    """
    spec = get_figure(name)
    rng = spec.default_seed if rng is None else rng
    return spec.make(out_dir, quick=quick, rng=rng, progress=progress, **options)


def plot_phase_diagram(result, path=None, *, ax=None):
    """Draw a :class:`spinicl.experiments.PhaseDiagram` (three panels, or one on ``ax``).

    Parameters
    ----------
    result : PhaseDiagram
    path : path, optional
        Save there (and return the path); otherwise return the figure.
    ax : matplotlib.axes.Axes, optional
        Draw only the contrast-ratio heat map on this axis (and return the axis).
    """
    from .spinglass.phase_diagram import plot_phase_diagram as plot

    return plot(result, path, ax=ax)


def run_figure_script(name: str, doc: str | None = None, argv=None) -> list:
    """``spinicl figure NAME`` as a function with its own argument parser (kept for scripts).

    Parameters
    ----------
    name : str
        A registered figure.
    doc : str, optional
        Text shown by ``--help``.
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``): ``--quick``, ``--out DIR``, ``--seed N``,
        ``--no-progress``.
    """
    import argparse

    spec = get_figure(name)
    parser = argparse.ArgumentParser(description=doc or spec.description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small, fast version (the one CI runs)")
    parser.add_argument("--out", default=f"figures/{name}",
                        help=f"output folder (default: figures/{name})")
    parser.add_argument("--seed", type=int, default=spec.default_seed,
                        help=f"master seed (default: {spec.default_seed})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    paths = make_figure(name, args.out, quick=args.quick, rng=args.seed,
                        progress=not args.no_progress)
    for path in paths:
        print(f"wrote {path}")
    return paths
