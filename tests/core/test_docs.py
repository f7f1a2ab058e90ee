"""Docs that operators script against must match the code."""

from pathlib import Path

from ragtune.app.params_doc import render
from ragtune.events import ALL_EVENTS


def test_params_reference_is_current(repo_root: Path) -> None:
    current = (repo_root / "docs" / "params.md").read_text()
    assert current == render(), "run: python -m ragtune.app.params_doc > docs/params.md"


def test_every_event_is_documented(repo_root: Path) -> None:
    text = (repo_root / "docs" / "events.md").read_text()
    missing = [e for e in ALL_EVENTS if f"`{e}`" not in text]
    assert not missing
