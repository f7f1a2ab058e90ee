"""The layers import downwards only (docs/architecture.md).

core (``ragtune/{errors,events,audit,...}``) <- capabilities (``tasks/``) <-
application (``ragtune/app``) <- flows and CLI. Every import statement counts,
those inside functions and ``TYPE_CHECKING`` blocks too: a lazy import is still
a dependency, only a later one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ("errors", "events", "audit", "atomic", "schema", "progress", "interrupt")
ABOVE_TASKS = ("ragtune.app", "ragtune.settings", "ragtune.cli", "ragtune.flows")


def imported(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in packages)


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("module", CORE)
def test_core_imports_no_other_layer(module: str) -> None:
    names = imported(ROOT / "ragtune" / f"{module}.py")
    above = ("ragtune.tasks", *ABOVE_TASKS)
    assert not [n for n in names if _under(n, above)]


def test_capabilities_import_neither_settings_nor_what_sits_above() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported(path) if _under(n, ABOVE_TASKS)
        )
        for path in _sources("tasks")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_capability_speaks_prefect() -> None:
    """Orchestration (flows, deployments, automations, the work-pool backend)
    sits on the flows side; capabilities run the same under any orchestrator."""
    speaking = {
        str(path.relative_to(ROOT))
        for path in _sources("tasks")
        if any(_under(n, ("prefect",)) for n in imported(path))
    }
    assert speaking == set()


def test_a_late_import_counts(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ragtune.app.settings import Settings\n"
        "def f():\n    import prefect.flows\n"
    )
    names = imported(source)
    assert (
        _under("ragtune.app.settings", ABOVE_TASKS) and "ragtune.app.settings" in names
    )
    assert "prefect.flows" in names
