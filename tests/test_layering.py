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


# Inside schema/, each domain (schema/carriers/, schema/customers/...) imports another only
# through schema/core/ (and the request's schema.context); schema/core/ imports no domain.
# Imports under ``if TYPE_CHECKING:`` are for type checkers only: a field showing another
# domain's type names it with ``strawberry.lazy`` and builds it with ``node_of``.
SCHEMA = ROOT / "schema"
SCHEMA_SHARED = {"core", "context"}


def _runtime_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = {id(inner) for node in ast.walk(tree)
                 if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                 for inner in ast.walk(node)}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def _schema_offences(path: Path) -> list[str]:
    parts = path.relative_to(SCHEMA).parts
    if len(parts) < 2:
        return []  # schema/__init__.py composes the domains; schema/context.py is shared
    allowed = SCHEMA_SHARED | {parts[0]}
    return [f"{path.relative_to(ROOT)} imports {module}"
            for module in sorted(_runtime_modules(path))
            if module.startswith("schema.") and module.split(".")[1] not in allowed]


def test_schema_domains_meet_only_in_schema_core():
    offences = [offence for path in sorted(SCHEMA.rglob("*.py"))
                for offence in _schema_offences(path)]
    assert offences == []


def test_the_schema_checker_sees_domain_imports(tmp_path: Path):
    # A domain importing another at run time is an offence; under TYPE_CHECKING it is not.
    assert "schema.core.mutations" in _runtime_modules(SCHEMA / "carriers" / "mutations.py")
    assert "schema.isp.types" not in _runtime_modules(SCHEMA / "core" / "owned.py")
    offender = tmp_path / "offender.py"
    offender.write_text("from schema.customers.types import CustomerType\n")
    assert _runtime_modules(offender) == {"schema.customers.types"}


def test_the_checker_sees_imports():
    # A rule checker that reads nothing would pass everything.
    assert "core" in _imported_packages(ROOT / "api" / "app.py")
    assert "schema" in _imported_packages(ROOT / "api" / "graphql.py")
