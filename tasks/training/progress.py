"""Training progress as JSON lines, so another process can draw a progress bar.

The trainer appends one line per event to ``<output_dir>/progress.jsonl``: the
phase (``loading``, ``training``, ``saving``, ``done``), steps done and planned,
the last loss, tokens/s and an ETA. Each line is written with one ``write`` on a
file opened for appending and flushed at once, so a reader sees whole lines
only, except possibly a last line still being written, which it skips. Nothing
here imports torch: the CLI and the backends read the file cheaply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROGRESS_FILE = "progress.jsonl"
TAIL_BYTES = 4096  # the last line is far shorter: reading the tail is enough


@dataclass(frozen=True)
class Progress:
    """One snapshot of a training run.

    Attributes:
        phase: loading (base model), training, saving (adapter), done.
        step: optimizer steps done (including those before a resume).
        total: optimizer steps planned (0 while loading).
        loss: training loss of the last step, None before the first.
        tokens_per_s: real (non-pad) tokens per second of the last step.
        tokens_seen: real tokens trained on so far.
        elapsed_s: training time so far (this session and the resumed ones).
        eta_s: estimated seconds to the last step, from this session's pace.
    """

    phase: str
    step: int = 0
    total: int = 0
    loss: float | None = None
    tokens_per_s: float | None = None
    tokens_seen: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    time: float = 0.0

    def describe(self) -> str:
        """One line for a log: ``step 3/12, loss 2.91, 28 tok/s, ETA 2m10s``."""
        if self.phase != "training":
            return self.phase
        note = self.note()
        return f"step {self.step}/{self.total}" + (f", {note}" if note else "")

    def note(self) -> str:
        """The line without its step count (a progress bar shows that itself):
        ``loss 2.91, 28 tok/s, ETA 2m10s``, or the phase outside training."""
        if self.phase != "training":
            return self.phase
        parts = []
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        if self.tokens_per_s is not None:
            parts.append(f"{self.tokens_per_s:.0f} tok/s")
        if self.eta_s is not None:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        return ", ".join(parts)


def format_duration(seconds: float) -> str:
    """``95`` -> ``1m35s``; ``3700`` -> ``1h01m``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class ProgressFile:
    """Appends :class:`Progress` lines to a file; the ETA comes from the pace of
    the steps done since this process started (a resumed run's earlier pace may
    have been another machine's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._first: tuple[int, float] | None = None  # (step, elapsed) at start

    @classmethod
    def start(cls, path: Path) -> ProgressFile:
        """A fresh file (a previous attempt's lines removed) in phase ``loading``."""
        path.unlink(missing_ok=True)
        progress = cls(path)
        progress.phase("loading")
        return progress

    def phase(self, phase: str) -> None:
        """Record a phase change outside the step loop (loading, saving, done)."""
        last = read_progress(self.path)
        kept = {} if last is None else asdict(last)
        self._write({**kept, "phase": phase, "eta_s": None})

    def update(
        self,
        step: int,
        total: int,
        metrics: Mapping[str, float],
        elapsed_s: float,
        tokens_seen: int,
    ) -> None:
        """Record the state after ``step`` of ``total`` (step 0: about to start)."""
        if self._first is None:
            self._first = (step, elapsed_s)
        done, spent = step - self._first[0], elapsed_s - self._first[1]
        eta = spent / done * (total - step) if done > 0 else None
        self._write(
            {
                "phase": "training",
                "step": step,
                "total": total,
                "loss": metrics.get("loss"),
                "tokens_per_s": metrics.get("tokens_per_s"),
                "tokens_seen": tokens_seen,
                "elapsed_s": elapsed_s,
                "eta_s": eta,
            }
        )

    def _write(self, fields: dict[str, Any]) -> None:
        fields["time"] = time.time()
        line = json.dumps(fields, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()


def read_progress(path: Path) -> Progress | None:
    """The newest complete snapshot in ``path``; None when there is none yet."""
    try:
        with path.open("rb") as src:
            size = src.seek(0, 2)
            src.seek(max(0, size - TAIL_BYTES))
            tail = src.read()
    except OSError:
        return None
    lines = tail.split(b"\n")[:-1]  # the piece after the last newline is partial
    for raw in reversed(lines):
        try:
            return Progress(**json.loads(raw))
        except (ValueError, TypeError):
            continue  # a line cut by the tail window, or from another version
    return None
