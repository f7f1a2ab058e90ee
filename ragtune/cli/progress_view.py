"""Rich progress bars on stderr for the steps domain code reports (ragtune.progress).

On stderr so that ``--json`` keeps stdout to its one JSON object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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


class RichSink:
    """Maps reported steps to rich tasks of one live ``Progress``."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.tasks: dict[int, int] = {}

    def started(self, step_id: int, description: str, total: int) -> None:
        self.tasks[step_id] = self.bars.add_task(description, total=total or None)

    def advanced(self, step_id: int, done: int) -> None:
        self.bars.update(self.tasks[step_id], completed=done)

    def finished(self, step_id: int) -> None:
        self.bars.refresh()


@contextlib.contextmanager
def progress_bars(title: str) -> Iterator[None]:
    """Show ``title`` with a spinner, and a bar per reported step, while it runs."""
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
    )
    with bars, progress.reporting_to(RichSink(bars)):
        bars.add_task(title, total=None)
        yield
