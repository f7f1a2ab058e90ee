"""When and where a single-threaded CPU bench ran, for its results file."""

from __future__ import annotations

import datetime as dt
import platform


def cpu_stamp() -> dict[str, str]:
    """``when`` (UTC, seconds) and ``machine`` (architecture, one torch thread)."""
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} CPU, 1 torch thread",
    }
