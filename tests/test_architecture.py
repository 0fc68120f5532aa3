"""The package's architecture: the import-linter contracts of pyproject.toml hold.

Layers, highest first: commands (cli, commands) > figures > experiments > engines (samplers,
solvers, theory, training: independent of each other) > core (prompts, attention, nn,
hamiltonian, measure, observables, diagnostics) > infrastructure (_validation, _io,
_checkpoint, _progress, _version, _result, sweep). The satellites (concepts, dual) use
infrastructure, core and engines, are used by nothing below the experiments and do not import
each other; no two sibling modules import each other in a cycle. Seeds: one ``child_seed``.
"""
import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spinicl"
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"]
SATELLITES = {"spinicl.concepts", "spinicl.dual"}


def _lint(contract_id: str) -> subprocess.CompletedProcess:
    pytest.importorskip("importlinter")
    command = "import sys; from importlinter.cli import lint_imports_command as c; c()"
    return subprocess.run([sys.executable, "-c", command, "--no-cache", "--contract",
                           contract_id], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c["id"] for c in CONTRACTS])
def test_import_contract_kept(contract):
    run = _lint(contract["id"])
    report = run.stdout + run.stderr
    broken = report[report.find("Broken contracts"):] if "Broken contracts" in report else report
    assert run.returncode == 0, f"import contract {contract['name']!r} is broken:\n{broken}"


def test_the_contracts_are_all_there():
    """Deleting or renaming a contract is a failure, not a silent pass."""
    expected = {"layers", "satellites-stay-outside", "satellites-below-experiments",
                "satellites-independent", "no-cycles"}
    assert {c["id"] for c in CONTRACTS} == expected
    types = {c["id"]: c["type"] for c in CONTRACTS}
    assert types["layers"] == "layers" and types["no-cycles"] == "acyclic_siblings"


def _top_level_modules() -> set[str]:
    names = set()
    for path in PACKAGE.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            names.add(f"spinicl.{path.name}")
        elif path.suffix == ".py" and path.name != "__init__.py":
            names.add(f"spinicl.{path.stem}")
    return names


def test_every_module_has_a_layer():
    """A new top-level module must be placed in a layer (or be a satellite) to be checked."""
    layers = next(c for c in CONTRACTS if c["id"] == "layers")["layers"]
    placed = {name.strip().strip("()") for layer in layers
              for name in layer.replace("|", ":").split(":")}
    missing = sorted(_top_level_modules() - placed - SATELLITES)
    assert not missing, f"modules in no layer of the import contract: {missing}"
    assert not placed - _top_level_modules(), "a layer names a module that does not exist"


def test_sweep_engine_finds_the_experiment_cells_by_name():
    """The engine imports no experiment, yet kind "exact" resolves (plugin discovery)."""
    code = ("import sys\n"
            "from spinicl.sweep import SweepSpec, available_cells\n"
            "assert 'spinicl.experiments' not in sys.modules, 'the sweep imported experiments'\n"
            "spec = SweepSpec(kind='exact', parameters={'dim': 2, 'context_length': 3},"
            " axes={'n_prompts': [4]})\n"
            "assert spec.cell_kind.func.__module__ == 'spinicl.experiments.cells'\n"
            "assert {'exact', 'exact-cg', 'amp-li2024', 'sampled'} <= set(available_cells())\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def _hand_made_children(path: Path) -> list[int]:
    """Lines of ``path`` that build a SeedSequence from another one's entropy or spawn key."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "SeedSequence" and any(k.arg == "spawn_key" for k in node.keywords):
                lines.append(node.lineno)
    return lines


def test_one_child_seed():
    """Child seeds come from ``spinicl._validation.child_seed`` only, never built by hand."""
    found = {str(p.relative_to(ROOT)): lines for p in sorted(PACKAGE.rglob("*.py"))
             if p.name != "_validation.py" and (lines := _hand_made_children(p))}
    assert not found, f"SeedSequence(..., spawn_key=...) built outside child_seed: {found}"
