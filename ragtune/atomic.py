"""Whole-file writes that readers never see half done.

State files (watch state, drift cursor, decision pointers, training cards, job
handles) are read by other processes while a flow writes them: a watcher pass, the
serving process, a resumed job. Writing a temporary sibling and renaming it over
the target is atomic on POSIX filesystems, so a reader gets the old file or the new
one, and a crash leaves the old file whole.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through a renamed temporary file.

    The temporary name is unique per call, so two writers never share one; the
    last rename wins. Parent folders are created. ``durable`` fsyncs the data
    before the rename and the folder after it, for records that must survive a
    power cut, not only a kill.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON, atomically (see ``write_atomic``)."""
    return write_atomic(path, json.dumps(payload, indent=2, default=str))


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's content, or None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
