"""The trigger decision: detector results and a cursor in, fire or skip out.

A pure function, tested case by case (first run, nothing new, below minimum
sample, in cooldown, advisory, fires) as Dagster tests its sensors. The cursor is
a small JSON file in the state folder, written atomically, so a crash mid-write
never leaves a cursor that forgets a cooldown.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from ragtune.atomic import write_atomic
from ragtune.errors import InputError
from ragtune.tasks.monitoring.config import DriftConfig
from ragtune.tasks.monitoring.models import DetectorResult, DriftCursor, DriftVerdict


def decide(
    results: Sequence[DetectorResult],
    cursor: DriftCursor,
    now: datetime,
    cfg: DriftConfig,
) -> DriftVerdict:
    """Which detectors trigger now, and why each one does or does not.

    In order, a detector is skipped when its data is no newer than what the
    cursor saw (nothing new), when it has fewer samples than its minimum, when
    it stayed within its threshold, when it is advisory (reported only), or when
    it fired less than ``cooldown_hours`` ago. Whatever is left fires and starts
    a new cooldown. The cursor records the newest data seen by every detector.
    """
    last_fired, seen = dict(cursor.last_fired), dict(cursor.seen)
    statuses: dict[str, str] = {}
    reasons: dict[str, str] = {}
    final: list[DetectorResult] = []
    for result in results:
        status, reason, until = _judge(result, cursor, now, cfg)
        statuses[result.name], reasons[result.name] = status, reason
        if status == "fires":
            last_fired[result.name] = now
        if result.latest is not None and status != "nothing_new":
            seen[result.name] = max(result.latest, seen.get(result.name, result.latest))
        final.append(replace(result, cooled_down_until=until))
    firing = tuple(name for name, status in statuses.items() if status == "fires")
    return DriftVerdict(
        fire=bool(firing),
        detectors=firing,
        reasons=reasons,
        new_cursor=DriftCursor(last_fired=last_fired, seen=seen),
        statuses=statuses,
        results=tuple(final),
    )


def _judge(
    result: DetectorResult, cursor: DriftCursor, now: datetime, cfg: DriftConfig
) -> tuple[str, str, datetime | None]:
    detector = cfg.detector(result.name)
    cooldown = timedelta(hours=detector.cooldown_hours)
    previous = cursor.last_fired.get(result.name)
    until = previous + cooldown if previous and previous + cooldown > now else None
    seen = cursor.seen.get(result.name)
    if result.latest is not None and seen is not None and result.latest <= seen:
        return "nothing_new", f"no data newer than {seen.isoformat()}", until
    if result.n < detector.min_samples:
        # a detector that found too few says what it counted; else say it here
        generic = f"{result.n} samples, fewer than min_samples {detector.min_samples}"
        return (
            "below_min_samples",
            result.reason if result.value is None else generic,
            until,
        )
    if not result.fired:
        return "quiet", result.reason, until
    if detector.advisory or result.advisory:
        return (
            "advisory",
            f"would fire, but advisory (report only): {result.reason}",
            until,
        )
    if until is not None:
        return (
            "cooldown",
            f"would fire, but it fired at {previous.isoformat()} and cools down "
            f"until {until.isoformat()}: {result.reason}",
            until,
        )
    return "fires", result.reason, now + cooldown


def load_cursor(path: Path) -> DriftCursor:
    """The saved cursor; a first run (no file) starts from an empty one.

    Raises:
        InputError: the file exists but is not a cursor (the message says how to
            reset it, which forgets every cooldown).
    """
    path = Path(path)
    if not path.exists():
        return DriftCursor()
    try:
        return DriftCursor.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise InputError(
            f"drift cursor {path} is not valid; delete it to start afresh (this "
            "forgets when each detector last fired)"
        ) from None


def save_cursor(path: Path, cursor: DriftCursor) -> Path:
    """Write the cursor atomically (temporary file, then rename)."""
    return write_atomic(path, json.dumps(cursor.to_json(), indent=2, sort_keys=True))
