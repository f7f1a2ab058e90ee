"""Format watch: a changed schema is reported once; a missing file is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.operations.format_watch import check_formats, save_baseline


def test_change_is_reported_once_then_baseline_moves_on(tmp_path: Path) -> None:
    schema = tmp_path / "claim.schema.json"
    schema.write_text('{"type": "object"}')
    base = tmp_path / "state" / "baseline.json"
    files = [Path("claim.schema.json")]
    first = check_formats(tmp_path, files, base)
    assert first.first_run and not first.any_changed  # no baseline: not a change
    save_baseline(base, first.hashes)
    assert not check_formats(tmp_path, files, base).any_changed
    schema.write_text('{"type": "object", "required": ["amount"]}')
    changed = check_formats(tmp_path, files, base)
    assert changed.changed == ("claim.schema.json",)
    save_baseline(base, changed.hashes)
    assert not check_formats(tmp_path, files, base).any_changed


def test_missing_format_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.json"):
        check_formats(tmp_path, [Path("nope.json")], tmp_path / "b.json")
