"""Watching a submitted training job: progress out, and a clean stop on a signal.

While the retrain flow waits for its job, every new progress snapshot (steps,
loss, tokens/s, ETA) goes to the run log and to whoever listens in this process
(the CLI draws a progress bar from it). SIGTERM or Ctrl-C during the wait
cancels the job (the local backend signals the child's whole process group and
kills it after a grace period) before the interruption goes on up, so no
training process outlives the flow and nothing is registered.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from ragtune.interrupt import shielded, sigterm_raises
from ragtune.tasks.backends.base import Backend, JobHandle, JobStatus
from ragtune.tasks.training.progress import Progress

Listener = Callable[[Progress], None]
_LISTENERS: list[Listener] = []


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send training progress snapshots to ``listener`` within the block."""
    _LISTENERS.append(listener)
    try:
        yield
    finally:
        _LISTENERS.remove(listener)


class _Reporter:
    """Passes on each snapshot that differs from the last one; logs step changes."""

    def __init__(self, runner: Backend, handle: JobHandle, logger) -> None:  # noqa: ANN001
        self.runner, self.handle, self.logger = runner, handle, logger
        self.last: Progress | None = None

    def __call__(self, _status: JobStatus | None = None) -> None:
        snapshot = self.runner.progress(self.handle)
        if snapshot is None or snapshot == self.last:
            return
        previous, self.last = self.last, snapshot
        moved = previous is None or (snapshot.phase, snapshot.step) != (
            previous.phase,
            previous.step,
        )
        if moved:
            self.logger.info("%s: %s", self.handle.run_name, snapshot.describe())
        for listener in list(_LISTENERS):
            listener(snapshot)


def watch(
    runner: Backend,
    handle: JobHandle,
    timeout_s: float,
    logger: logging.Logger | logging.LoggerAdapter,
) -> JobStatus:
    """Wait for ``handle``'s job, reporting progress; cancel it when interrupted.

    Raises:
        KeyboardInterrupt: SIGINT or SIGTERM (as ``ragtune.interrupt.Interrupted``)
            arrived; the job was cancelled first.
    """
    report = _Reporter(runner, handle, logger)
    try:
        with sigterm_raises():
            status = runner.wait(handle, timeout_s=timeout_s, on_poll=report)
    except KeyboardInterrupt:
        logger.warning("interrupted: cancelling training job %s", handle.run_name)
        with shielded():
            runner.cancel(handle)
        raise
    report()
    return status
