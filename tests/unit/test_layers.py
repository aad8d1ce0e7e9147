"""Imports point one way: web → api → workflows → activities → enrolling → store → sequences.

A module may import its own package and any layer below it, never one above. The workflow's
contracts (its input, state and search attribute keys) are an exception: clients below it
start, steer and find workflows with them, and they import nothing of the workflow's code. The
app's composition root is the other: api.main puts the web app's pages in the same app.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["web", "api", "workflows", "activities", "enrolling", "store", "sequences"]
CONTRACTS = {"workflows.state", "workflows.search_attributes"}
COMPOSITION_ROOT = ("api/main.py", "web.app.install_web")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _layer(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


@pytest.mark.parametrize("package", LAYERS)
def test_a_layer_imports_only_itself_and_those_below(package: str) -> None:
    allowed = set(LAYERS[LAYERS.index(package) :])
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for name in _imports(path):
            layer = _layer(name)
            if layer is None or layer in allowed:
                continue
            if any(name == c or name.startswith(f"{c}.") for c in CONTRACTS):
                continue
            if (str(path.relative_to(ROOT)), name) == COMPOSITION_ROOT:
                continue
            wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_the_contracts_import_no_workflow_code() -> None:
    for contract in CONTRACTS:
        path = ROOT / (contract.replace(".", "/") + ".py")
        assert {n for n in _imports(path) if _layer(n) == "workflows"} == set(), contract
