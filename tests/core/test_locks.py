"""One run at a time: the second is refused with who holds the lock, and a lock
left by a killed process is never in the way."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragtune.errors import Busy
from ragtune.locks import exclusive

HOLD = """
import sys, time
from pathlib import Path
from ragtune.locks import exclusive
with exclusive(Path(sys.argv[1]), "refresh of index chunks"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_holder_is_refused_with_the_first_ones_details(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "index.lock"
    with exclusive(lock, "refresh"):
        with pytest.raises(Busy) as refused:
            with exclusive(lock, "refresh"):
                pass
        assert "another refresh is running (since " in str(refused.value)
        assert refused.value.exit_code == 3 and str(lock) in str(refused.value)
    with exclusive(lock, "refresh"):  # released when the block ended
        pass
    assert lock.read_text() == ""


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    lock = tmp_path / "index.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(Busy, match=rf"pid {holder.pid} on "):
            with exclusive(lock, "refresh of index chunks"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    assert "pid" in lock.read_text()  # the dead holder's line is still there
    started = time.monotonic()
    with exclusive(lock, "refresh of index chunks"):  # no clean-up step needed
        assert time.monotonic() - started < 1
