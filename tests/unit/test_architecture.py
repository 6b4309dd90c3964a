"""The package layers of docs/architecture.md, checked against the code's imports.

Every first-party import must run downhill (to a lower layer, or within one package), no import may sit
inside a function (a lazy import hides a cycle; entry points may defer heavy imports until their settings are
checked), no production module is over 400 lines, and the document names every package it describes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("handoff", "actions", "knowledge_base", "contract", "telemetry")
# Lowest first; the same list is the table in docs/architecture.md.
LAYERS: list[tuple[str, ...]] = [
    ("contract", "telemetry"),
    ("knowledge_base",),
    ("actions",),
    ("handoff.config", "handoff.errors", "handoff.states", "handoff.models", "handoff.audit", "handoff.masking",
     "handoff.pii", "handoff.texts", "handoff.notices", "handoff.triage", "handoff.reminder_settings"),
    ("handoff.infra",),
    ("handoff.rasa", "handoff.loans"),
    ("handoff.services",),
    ("handoff.conversations",),
    ("handoff.queue", "handoff.identity", "handoff.reminders"),
    ("handoff.borrower", "handoff.agents", "handoff.analytics", "handoff.privacy"),
    ("handoff.api",),
    ("handoff.app", "handoff.admin_cli"),
    ("handoff.__main__",),
]
MAX_LINES = 400


def unit_of(module: str) -> str:
    """The layer entry a module belongs to (its package, or the module itself at the top of handoff)."""
    for layer in LAYERS:
        for unit in layer:
            if module == unit or module.startswith(unit + "."):
                return unit
    raise AssertionError(f"{module} is in no layer of docs/architecture.md")


def rank(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in FIRST_PARTY:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if name != "handoff":  # the package's empty __init__ belongs to no layer
                found.append((name, path))
    return found


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported first-party module, line, inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if n is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{a.name}" for a in node.names if is_module(f"{node.module}.{a.name}")]
            names = submodules or [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in FIRST_PARTY and is_module(name):
                found.append((name, node.lineno, id(node) in nested))
    return found


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


MODULES = modules()


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_run_downhill_and_at_module_level(name: str, path: Path) -> None:
    here = unit_of(name)
    for target, line, in_function in imports(path):
        where = f"{path.relative_to(ROOT)}:{line}"
        assert not in_function or name.endswith("__main__"), (
            f"{where}: import of {target} inside a function; import at module level (a lazy import hides a cycle)"
        )
        there = unit_of(target)
        if there == here or target == name:
            continue
        foundation = rank(here) == rank(there) == 3
        assert rank(there) < rank(here) or foundation, (
            f"{where}: {here} imports {there}, which is not below it (docs/architecture.md, 'Layers')"
        )


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_no_module_is_over_400_lines(name: str, path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it by concept"


def test_the_document_names_every_layer() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for layer in LAYERS:
        for unit in layer:
            shown = unit.replace(".", "/") if unit.count(".") else unit
            assert f"`{shown}" in text, f"docs/architecture.md does not describe {unit}"


def test_the_top_of_handoff_stays_small() -> None:
    top = [p for p in (ROOT / "handoff").glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= 13, sorted(p.name for p in top)
