"""Argument types and helpers shared by the subcommands."""
from __future__ import annotations

import argparse
import inspect

import numpy as np

__all__ = ["float_list", "number_list", "positive_float_list", "positive_int_list",
           "positive_int", "non_negative_float", "positive_float", "add_common",
           "python_default", "finite_size_l2", "CommandFailed"]


class CommandFailed(Exception):
    """A job that ran but failed (e.g. did not converge): ``spinicl`` exits 1 with this message.

    Raise it after the outputs are written, so that they remain for diagnosis.
    """


def _parse_numbers(text: str) -> np.ndarray:
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(
                f"a range is start:stop:num (three fields), got {text!r}")
        start, stop, num = parts
        try:
            start, stop = float(start), float(stop)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"start and stop of {text!r} must be numbers") from None
        try:
            count = int(num)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"num of {text!r} must be a positive integer, got {num!r}") from None
        if count < 1:
            raise argparse.ArgumentTypeError(
                f"num of {text!r} must be a positive integer, got {count}")
        return np.linspace(start, stop, count)
    try:
        values = np.array([float(t) for t in text.split(",") if t.strip()])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers or start:stop:num, got {text!r}") from None
    if values.size == 0:
        raise argparse.ArgumentTypeError(f"expected at least one number, got {text!r}")
    return values


def number_list(*, minimum: float | None = None, strict: bool = False, integer: bool = False,
                allow_inf: bool = False):
    """An argparse type for ``"0.5,1,2"`` or ``"start:stop:num"`` (inclusive, like linspace).

    Every value must be ``> minimum`` (``strict``) or ``>= minimum``, finite unless
    ``allow_inf``, and a whole number if ``integer`` (then a list of ints is returned).
    A list that starts with a minus sign must be attached to its option, ``--opt=-1,2``:
    argparse reads a separate ``-1,2`` as an option.
    """

    def parse(text: str):
        values = _parse_numbers(text)
        if np.any(np.isnan(values)) or (not allow_inf and not np.all(np.isfinite(values))):
            raise argparse.ArgumentTypeError(f"values must be finite numbers, got {text!r}")
        if minimum is not None:
            bad = values <= minimum if strict else values < minimum
            if np.any(bad):
                op = ">" if strict else ">="
                raise argparse.ArgumentTypeError(
                    f"values must be {op} {minimum:g}, got {values[bad][0]:g} in {text!r}")
        if integer:
            if not np.all(values == np.round(values)):
                raise argparse.ArgumentTypeError(f"values must be integers, got {text!r}")
            return [int(v) for v in values]
        return values

    parse.__name__ = "number list"      # argparse names the type in its messages
    return parse


float_list = number_list(allow_inf=True)
positive_float_list = number_list(minimum=0, strict=True)
positive_int_list = number_list(minimum=1, integer=True)


def _number(kind, *, minimum, strict):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if kind is float and not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if (strict and value <= minimum) or (not strict and value < minimum):
            raise argparse.ArgumentTypeError(
                f"must be {'>' if strict else '>='} {minimum:g}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


positive_int = _number(int, minimum=1, strict=False)
positive_float = _number(float, minimum=0, strict=True)
non_negative_float = _number(float, minimum=0, strict=False)


def python_default(func, name: str):
    """The default of ``func``'s parameter ``name``: the CLI's defaults are the library's."""
    default = inspect.signature(func).parameters[name].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{func.__qualname__}() has no default for {name!r}")
    return default


def finite_size_l2() -> float:
    """The l2 of the one-instance jobs (sample, solve): the "sampled" sweep cell's default.

    :meth:`SpinGlass.from_prompts` defaults to the bare loss (l2 = 0), whose measure is improper
    below P = D(D+1); a job that samples or solves one instance needs a proper one, and takes
    the value the sweep's sampling cell uses so that the CLI and the Python sweep agree.
    """
    from ..experiments.cells import sampled_cell

    return python_default(sampled_cell, "l2")


def add_common(parser, *, out_default: str):
    parser.add_argument("--out", default=out_default, metavar="DIR",
                        help=f"output folder (default: {out_default})")
    parser.add_argument("--seed", type=int, default=0, help="master seed (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
