"""Children that end with the process that started them.

A SIGKILL gives a process no chance to stop what it started: Prefect's temporary
API server (a uvicorn child, ~250 MB, a port and a SQLite file) and the local
training child kept running after ``ragtune refresh`` / ``ragtune retrain`` was
killed. Two mechanisms, for two kinds of child:

- ``die_with_parent`` is a ``preexec_fn`` for children whose code is not ours: on
  Linux the kernel sends the child SIGTERM when its parent dies
  (``PR_SET_PDEATHSIG``). The signal follows the *thread* that forked, so use it
  only for children started from a thread that lives as long as the process.
- ``exit_with_parent`` is for children that run ragtune's own code: a daemon
  thread notices the parent is gone (the child was re-parented) and sends the
  process SIGTERM, so its usual clean-up (``sigterm_raises``) runs.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

PARENT_ENV = "RAGTUNE_EXIT_WITH_PARENT"
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """``preexec_fn``: SIGTERM this child when its parent dies (Linux; elsewhere a
    no-op). Runs between fork and exec, so it only makes one system call."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def exit_with_parent(parent: int, interval_s: float = 1.0) -> threading.Thread:
    """Watch ``parent`` from a daemon thread; once this process is no longer its
    child, SIGTERM ourselves (the main thread then unwinds as on a cancel)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        log.warning("parent process %d is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def exit_with_parent_from_env() -> None:
    """``exit_with_parent`` for the pid in ``RAGTUNE_EXIT_WITH_PARENT``, when the
    starter asked for it (the local training backend does; remote workers not)."""
    value = os.environ.get(PARENT_ENV, "")
    if value.isdigit():
        exit_with_parent(int(value))
