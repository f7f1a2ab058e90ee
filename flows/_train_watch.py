"""Watching a submitted training job: progress out, and a clean stop on a signal.

While the retrain flow waits for its job, every new progress snapshot (steps,
loss, tokens/s, ETA) goes to the run log and to ``ragtune.progress`` (the CLI
draws it with the same progress view as an evaluation's answers). SIGTERM
(Prefect's engine turns it into ``TerminationSignal``, also when the runner
cancels the flow run) or Ctrl-C during the wait cancels the job (the local
backend signals the child's whole process group and kills it after a grace
period) before the interruption goes on up, so no training process outlives the
flow and nothing is registered.
"""

from __future__ import annotations

import logging
import signal

from prefect.exceptions import TerminationSignal

from ragtune import progress
from ragtune.interrupt import shielded
from ragtune.progress import Step
from ragtune.tasks.backends.base import Backend, JobHandle, JobStatus
from ragtune.tasks.training.progress import Progress

STOPS = (KeyboardInterrupt, TerminationSignal)  # what SIGINT and SIGTERM raise


def signal_name(exc: BaseException) -> str:
    """SIGTERM or SIGINT: which signal one of ``STOPS`` stands for."""
    if isinstance(exc, TerminationSignal):
        return signal.Signals(exc.signal).name
    return getattr(exc, "signal_name", "SIGINT")


class _Reporter:
    """Passes on each snapshot that differs from the last one; logs step changes."""

    def __init__(self, runner: Backend, handle: JobHandle, logger, bar: Step) -> None:  # noqa: ANN001
        self.runner, self.handle, self.logger, self.bar = runner, handle, logger, bar
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
        self.bar.update(snapshot.step, snapshot.total, snapshot.note() or "training")


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
    with progress.step(f"training {handle.run_name}", 0) as bar:
        report = _Reporter(runner, handle, logger, bar)
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
