"""Watching a submitted training job: progress out, and a clean stop on a signal.

While the retrain flow waits for its job, every new progress snapshot (steps,
loss, tokens/s, ETA) goes to the run log and to whoever listens in this process
(the CLI draws a progress bar from it). SIGTERM (Prefect's engine turns it into
``TerminationSignal``, also when the runner cancels the flow run) or Ctrl-C
during the wait cancels the job (the local backend signals the child's whole
process group and kills it after a grace period) before the interruption goes on
up, so no training process outlives the flow and nothing is registered.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterator

from prefect.exceptions import TerminationSignal

from ragtune.interrupt import shielded
from ragtune.tasks.backends.base import Backend, JobHandle, JobStatus
from ragtune.tasks.training.progress import Progress

Listener = Callable[[Progress], None]
_LISTENERS: list[Listener] = []
STOPS = (KeyboardInterrupt, TerminationSignal)  # what SIGINT and SIGTERM raise


def signal_name(exc: BaseException) -> str:
    """SIGTERM or SIGINT: which signal one of ``STOPS`` stands for."""
    if isinstance(exc, TerminationSignal):
        return signal.Signals(exc.signal).name
    return getattr(exc, "signal_name", "SIGINT")


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

    def __call__(self) -> None:
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
        KeyboardInterrupt, TerminationSignal: SIGINT or SIGTERM arrived; the job
            was cancelled first.
    """
    report = _Reporter(runner, handle, logger)
    try:
        status = runner.wait(handle, timeout_s=timeout_s, on_poll=report)
    except STOPS as exc:
        logger.warning(
            "%s: cancelling training job %s", signal_name(exc), handle.run_name
        )
        with shielded():
            runner.cancel(handle)
        raise
    report()
    return status
