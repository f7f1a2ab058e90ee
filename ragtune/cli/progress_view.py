"""Progress on stderr for the steps domain code reports (ragtune.progress).

On stderr so that ``--json`` keeps stdout to its one JSON object. On a terminal
each step is a live rich bar; otherwise (a CI log, a pipe, a file) each step
prints a plain line when it starts, at every tenth of the way and when it ends,
so a long run is never minutes of silence there either.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ragtune import progress
from ragtune.cli.app import err_console
from ragtune.tasks.training.progress import format_duration


class RichSink:
    """Maps reported steps to rich tasks of one live ``Progress``."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[int, int] = {}

    def started(self, step_id: int, description: str, total: int) -> None:
        self.tasks[step_id] = self.bars.add_task(
            description, total=total or None, note=""
        )

    def advanced(self, step_id: int, done: int, total: int, note: str) -> None:
        self.bars.update(
            self.tasks[step_id], completed=done, total=total or None, note=note
        )

    def finished(self, step_id: int) -> None:
        self.bars.refresh()


class LineSink:
    """Plain lines for a console that is not a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.steps: dict[int, tuple[str, float, int]] = {}  # name, start, tenths

    def started(self, step_id: int, description: str, total: int) -> None:
        self.steps[step_id] = (description, time.monotonic(), 0)
        self.console.print(f"{description}: started", highlight=False)

    def advanced(self, step_id: int, done: int, total: int, note: str) -> None:
        name, start, shown = self.steps[step_id]
        tenths = done * 10 // total if total else 0
        if tenths <= shown:
            return
        self.steps[step_id] = (name, start, tenths)
        elapsed = time.monotonic() - start
        eta = elapsed * (total - done) / done if done else 0.0
        tail = f", {note}" if note else ""
        self.console.print(
            f"{name}: {done}/{total}{tail}, {format_duration(elapsed)} elapsed, "
            f"ETA {format_duration(eta)}",
            highlight=False,
        )

    def finished(self, step_id: int) -> None:
        name, start, _ = self.steps.pop(step_id)
        elapsed = format_duration(time.monotonic() - start)
        self.console.print(f"{name}: done in {elapsed}", highlight=False)


@contextlib.contextmanager
def progress_bars(title: str, console: Console = err_console) -> Iterator[None]:
    """Show ``title`` and every step reported while the block runs."""
    if not console.is_terminal:
        console.print(title, highlight=False)
        with progress.reporting_to(LineSink(console)):
            yield
        return
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
    )
    with bars, progress.reporting_to(RichSink(bars)):
        bars.add_task(title, total=None, note="")
        yield
