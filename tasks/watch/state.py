"""The watcher's memory: per source, the last seen file hashes, ETag,
Last-Modified and git commit. One JSON file, written atomically, saved only
after a pass's events went out, so a crash repeats a change rather than losing it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ragtune.atomic import write_atomic
from ragtune.errors import InputError


@dataclass(frozen=True)
class SourceState:
    """What one source held when it was last seen."""

    files: dict[str, str] = field(default_factory=dict)  # source path -> sha256
    etag: str | None = None
    last_modified: str | None = None
    commit: str | None = None
    checked_at: str | None = None


@dataclass(frozen=True)
class WatchState:
    """Every source's last seen state, by source name."""

    sources: dict[str, SourceState] = field(default_factory=dict)

    def get(self, name: str) -> SourceState | None:
        return self.sources.get(name)

    def with_source(self, name: str, state: SourceState) -> WatchState:
        return replace(self, sources={**self.sources, name: state})

    def to_json(self) -> dict[str, Any]:
        return {"sources": {k: asdict(v) for k, v in sorted(self.sources.items())}}


def load_state(path: Path) -> WatchState:
    """The saved state; none yet (first pass) is an empty one.

    Raises:
        InputError: the file is not a watch state (the message says what deleting
            it costs: the next pass compares every source with the KB afresh).
    """
    path = Path(path)
    if not path.exists():
        return WatchState()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        sources = {k: SourceState(**v) for k, v in raw["sources"].items()}
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise InputError(
            f"watch state {path} is not valid; delete it and the next pass "
            "compares every source with the knowledge base afresh"
        ) from None
    return WatchState(sources)


def save_state(path: Path, state: WatchState) -> Path:
    """Write the state atomically (temporary file, then rename)."""
    return write_atomic(path, json.dumps(state.to_json(), indent=2, sort_keys=True))
