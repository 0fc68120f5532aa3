"""Write docs/api.md: the public API of every module, from its docstrings.

    python docs/gen_api.py            # regenerate
    python docs/gen_api.py --check    # exit 1 if docs/api.md is out of date (used by the tests)
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

MODULES = [
    ("spinicl.prompts", "Prompts"),
    ("spinicl.attention", "Linear attention and spin features"),
    ("spinicl.nn", "Neural-network pieces (softmax, masks, attention, MLP, losses)"),
    ("spinicl.hamiltonian", "The spin glass"),
    ("spinicl.measure", "The exact Boltzmann measure"),
    ("spinicl.observables", "Observables"),
    ("spinicl.samplers", "Samplers"),
    ("spinicl.diagnostics", "MCMC diagnostics"),
    ("spinicl.solvers", "Finite-size solvers"),
    ("spinicl.theory", "Replica-symmetric theory"),
    ("spinicl.training", "Training"),
    ("spinicl.experiments", "Experiments"),
    ("spinicl.sweep", "Sweeps"),
    ("spinicl.callbacks", "Callbacks (progress, checkpoints, early stopping, timeouts, logs)"),
    ("spinicl.figures", "Figures"),
    ("spinicl.concepts", "Multi-concept transformer"),
    ("spinicl.dual", "Dual model of softmax attention"),
]

OUT = Path(__file__).with_name("api.md")


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def _doc(obj) -> str:
    doc = inspect.getdoc(obj) or "(no docstring)"
    return "```text\n" + doc.replace("```", "'''") + "\n```\n"


def _top_level() -> list[str]:
    """The names ``import spinicl`` offers, each with the module that documents it."""
    import spinicl
    rows = ["## Top level: `import spinicl`", "",
            "Everything below is reachable as `spinicl.NAME`; subsystems load on first use.", "",
            "| name | defined in |", "|---|---|"]
    names = sorted(set(spinicl.__all__) | set(spinicl._LAZY), key=str.lower)
    for name in names:
        if name.startswith("_"):
            continue
        obj = getattr(spinicl, name)
        home = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", "spinicl")
        rows.append(f"| `{name}` | `{home}` |")
    return rows + [""]


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings by `python docs/gen_api.py`; do not edit by hand.", ""]
    lines += _top_level()
    for modname, title in MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        lines += [f"## {title}: `{modname}`", "", _doc(mod)]
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name, None)
            if obj is None or inspect.ismodule(obj):
                continue
            kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "data"
            if kind == "data":
                continue
            lines += [f"### `{modname}.{name}{_signature(obj) if kind == 'function' else ''}`", ""]
            lines.append(_doc(obj))
            if inspect.isclass(obj):
                for attr, member in inspect.getmembers(obj):
                    if attr.startswith("_") or attr not in vars(obj):
                        continue
                    if inspect.isfunction(member) or isinstance(member, property) or \
                            inspect.ismethod(member):
                        target = member.fget if isinstance(member, property) else member
                        sig = "" if isinstance(member, property) else _signature(member)
                        doc = (inspect.getdoc(target) or "").split("\n\n")[0]
                        lines.append(f"- `{attr}{sig}`: {doc}".replace("\n", " "))
                lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print("docs/api.md is out of date: run python docs/gen_api.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
