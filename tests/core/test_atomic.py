"""Whole-file writes: a reader sees the old file or the new one, never a part."""

from __future__ import annotations

import os

import pytest

from ragtune.atomic import write_atomic


def test_text_and_bytes_land_whole_with_parents_made(tmp_path):
    target = tmp_path / "state" / "deep" / "cursor.json"
    assert write_atomic(target, '{"a": "é"}') == target
    assert target.read_text(encoding="utf-8") == '{"a": "é"}'
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["cursor.json"]


def test_a_failed_rename_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "latest"
    write_atomic(target, "r1\n")

    def broken(src, dst):  # noqa: ANN001 - os.replace's signature
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "r2\n")
    assert target.read_text() == "r1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]
