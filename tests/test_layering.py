"""The package rules of DESIGN.md, checked on every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = {"api", "cli", "core", "schema", "sync", "workers", "routing_export"}

# Which project packages each package must never import.
FORBIDDEN = {
    "core": PROJECT_PACKAGES - {"core"},
    "sync": {"api", "cli", "schema"},
    "routing_export": {"api", "cli", "schema", "sync"},
    "workers": {"api", "cli", "schema"},
    "schema": {"api", "cli"},
    "api": {"cli"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & PROJECT_PACKAGES


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_it_may(package: str):
    offences = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_packages(path) & FORBIDDEN[package])}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imported_packages(path) & FORBIDDEN[package]
    ]
    assert offences == []


def test_the_checker_sees_imports():
    # A rule checker that reads nothing would pass everything.
    assert "core" in _imported_packages(ROOT / "api" / "app.py")
    assert "schema" in _imported_packages(ROOT / "api" / "graphql.py")
