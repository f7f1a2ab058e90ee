"""One run at a time: an exclusive, non-blocking lock on a file in the state folder.

Two refreshes of one index would each restore the live version first and wipe
the other's candidate; two retrains would train the same job twice. The second
run is refused with who holds the lock and since when, never queued: an operator
or a scheduler decides whether to try again.

``flock`` locks belong to the open file, so the kernel releases them when the
holding process dies, however it dies: a lock left by a crashed or killed run is
never in the way (stale-lock recovery needs no clean-up step). The holder line in
the file is only what the message shows; the next holder overwrites it. Locks are
per machine: runs on several hosts against one object-store index need the
deployment's concurrency limit (one worker per index) instead.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ragtune.errors import Busy


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold ``path`` exclusively while the block runs.

    Raises:
        Busy: another process holds it; the message names the run, its pid, host
            and start time as that process wrote them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "it left no details"
            raise Busy(
                f"another {what} is running ({holder}); try again when it has "
                f"finished (lock file {path})"
            ) from None
        try:
            fh.seek(0)
            fh.truncate()
            started = datetime.now(UTC).isoformat(timespec="seconds")
            fh.write(f"since {started}, pid {os.getpid()} on {socket.gethostname()}")
            fh.flush()
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
