"""SIGTERM handled like Ctrl-C, so long runs stop through their ``finally`` blocks.

Python's default SIGTERM action ends the process at once: no ``finally``, no
context manager exit, and a child started in its own session (the local training
backend's) keeps running. Inside :func:`sigterm_raises` SIGTERM raises
:class:`Interrupted` instead, a ``KeyboardInterrupt``, so code that already cleans
up after Ctrl-C cleans up after a SIGTERM too. :func:`shielded` keeps a second
signal from interrupting that clean-up half way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """The process received SIGTERM (or SIGINT); ``signal_name`` says which."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _in_main_thread() -> bool:
    # Python only lets the main thread install signal handlers.
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise :class:`Interrupted`.

    Outside the main thread the handlers cannot be set; the block then runs with
    whatever handling the process has.
    """
    if not _in_main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT are ignored (for bounded clean-up)."""
    if not _in_main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
