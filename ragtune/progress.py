"""Progress of long steps, reported by domain code and shown by whoever listens.

Answering an eval set or a gap's slice with a real model takes minutes; the user
must see it move. Domain code cannot know whether a terminal (the CLI's rich
bars), a Prefect log or nothing is listening, so it reports to this module and the
CLI installs a sink around the flow it runs. Flows and tasks run in the CLI's
process (worker threads included), so one process-wide sink reaches them. With no
sink installed, progress goes to the log every tenth of the way.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Protocol

log = logging.getLogger(__name__)


class ProgressSink(Protocol):
    """Receives the progress of named steps (e.g. a rich ``Progress``).

    ``advanced`` gets how much of ``total`` is done (``total`` may change, 0 is
    unknown) and a short ``note`` (e.g. a training step's loss and tokens/s).
    """

    def started(self, step_id: int, description: str, total: int) -> None: ...

    def advanced(self, step_id: int, done: int, total: int, note: str) -> None: ...

    def finished(self, step_id: int) -> None: ...


_lock = threading.Lock()
_sink: ProgressSink | None = None
_ids = iter(range(1, 1 << 62))


@contextlib.contextmanager
def reporting_to(sink: ProgressSink) -> Iterator[None]:
    """Send every step's progress to ``sink`` while the block runs."""
    global _sink
    with _lock:
        previous, _sink = _sink, sink
    try:
        yield
    finally:
        with _lock:
            _sink = previous


class Step:
    """One counted step: ``advance()`` after each unit of work, or ``update()``
    with what an outside process reported; used as a context."""

    def __init__(self, description: str, total: int) -> None:
        self.description, self.total, self.done = description, max(total, 0), 0
        with _lock:
            self.id, self._sink = next(_ids), _sink
        self._logged = 0
        if self._sink is not None:
            self._sink.started(self.id, description, self.total)

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """Set how much is done (and of how much), with an optional note."""
        self.done = done
        if total is not None:
            self.total = max(total, 0)
        if self._sink is not None:
            self._sink.advanced(self.id, self.done, self.total, note)
        elif self.total and self.done * 10 // self.total > self._logged:
            self._logged = self.done * 10 // self.total
            log.info(
                "%s: %d/%d%s",
                self.description,
                self.done,
                self.total,
                f" ({note})" if note else "",
            )

    def __enter__(self) -> Step:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sink is not None:
            self._sink.finished(self.id)


def step(description: str, total: int) -> Step:
    """Start reporting a step of ``total`` units (0: not known yet)."""
    return Step(description, total)
