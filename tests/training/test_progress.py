"""Training progress lines: written whole, read back newest first, with an ETA
from the pace of the steps this process has done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragtune.tasks.training.progress import (
    PROGRESS_FILE,
    ProgressFile,
    format_duration,
    read_progress,
)


def test_eta_comes_from_this_sessions_pace(tmp_path: Path) -> None:
    path = tmp_path / PROGRESS_FILE
    progress = ProgressFile.start(path)
    assert read_progress(path).phase == "loading"
    # resumed at step 4 after 100 s elapsed: the earlier pace does not count
    progress.update(4, 10, {}, elapsed_s=100.0, tokens_seen=400)
    assert read_progress(path).eta_s is None
    progress.update(6, 10, {"loss": 2.5, "tokens_per_s": 40.0}, 120.0, 600)
    snap = read_progress(path)
    assert (snap.phase, snap.step, snap.total, snap.tokens_seen) == (
        "training",
        6,
        10,
        600,
    )
    assert snap.eta_s == pytest.approx(40.0)  # 10 s a step, 4 steps to go
    assert snap.describe() == "step 6/10, loss 2.5000, 40 tok/s, ETA 40s"
    assert snap.note() == "loss 2.5000, 40 tok/s, ETA 40s"  # a bar counts steps
    progress.phase("saving")
    saved = read_progress(path)
    assert (saved.phase, saved.step, saved.eta_s) == ("saving", 6, None)
    assert saved.describe() == saved.note() == "saving"


def test_start_drops_a_previous_attempts_lines(tmp_path: Path) -> None:
    path = tmp_path / PROGRESS_FILE
    ProgressFile(path).update(5, 10, {"loss": 1.0}, 50.0, 500)
    ProgressFile.start(path)
    assert len(path.read_text().splitlines()) == 1
    assert read_progress(path).step == 0


def test_a_line_still_being_written_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / PROGRESS_FILE
    ProgressFile(path).update(3, 10, {"loss": 1.5}, 30.0, 300)
    with path.open("a") as out:
        out.write(json.dumps({"phase": "training", "step": 4})[:12])  # no newline
    assert read_progress(path).step == 3
    assert read_progress(tmp_path / "missing.jsonl") is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.6, "1m00s"), (95, "1m35s"), (3700, "1h01m")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
