"""The records drift detection reads and produces: log records, detector results,
the cursor and the trigger decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ragtune.gates import GateResult


@dataclass(frozen=True)
class QueryRecord:
    """One served question, as the query log has it."""

    ts: datetime
    request_id: str
    query: str
    relevant: bool  # whether any source passed the server's relevance threshold
    top_score: float | None = None


@dataclass(frozen=True)
class FeedbackRecord:
    """One rating on a served answer; ``satisfaction`` is on a 0-1 scale."""

    ts: datetime
    request_id: str
    satisfaction: float
    thumbs: str | None = None
    score: int | None = None


@dataclass(frozen=True)
class TagMetrics:
    """Retrieval figures of one published index tag (from the publish ledger)."""

    tag: str
    created_at: datetime
    metrics: dict[str, float]
    live: bool = False


@dataclass(frozen=True)
class Span:
    """A time window ``(start, end]``."""

    start: datetime
    end: datetime

    def __contains__(self, ts: object) -> bool:
        return isinstance(ts, datetime) and self.start < ts <= self.end

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


_FIGURES = ("value", "threshold", "n")


@dataclass(frozen=True)
class DetectorResult(GateResult):
    """What one detector measured and whether its threshold was crossed, as a gate
    result: ``pass`` (quiet), ``fail`` (fired) or ``warn`` (an advisory detector
    fired: reported, never a trigger). ``measured`` holds ``value``, ``threshold``,
    ``n`` and the detector's own figures.

    Firing is the detector's own verdict (enough samples, past the threshold);
    whether that triggers anything is up to ``decide``, which fills
    ``cooled_down_until``. ``latest`` is the time of the newest input behind the
    figure, so a rerun on the same data is recognised as nothing new.
    """

    advisory: bool = False
    cooled_down_until: datetime | None = None
    latest: datetime | None = None

    @classmethod
    def of(
        cls,
        name: str,
        *,
        fired: bool,
        advisory: bool,
        value: float | None,
        threshold: float,
        n: int,
        reason: str,
        latest: datetime | None = None,
        details: dict[str, Any] | None = None,
    ) -> DetectorResult:
        status = "pass" if not fired else ("warn" if advisory else "fail")
        figures = {"value": value, "threshold": threshold, "n": n, **(details or {})}
        return cls(name, status, reason, figures, advisory=advisory, latest=latest)

    @property
    def fired(self) -> bool:
        return self.status != "pass"

    @property
    def value(self) -> float | None:
        return self.measured["value"]

    @property
    def threshold(self) -> float:
        return self.measured["threshold"]

    @property
    def n(self) -> int:
        return self.measured["n"]

    @property
    def details(self) -> dict[str, Any]:
        return {k: v for k, v in self.measured.items() if k not in _FIGURES}

    def to_json(self) -> dict[str, Any]:
        stamps = {
            key: None if when is None else when.isoformat()
            for key, when in (
                ("cooled_down_until", self.cooled_down_until),
                ("latest", self.latest),
            )
        }
        return {
            **self.to_dict(),
            "fired": self.fired,
            "advisory": self.advisory,
            "value": self.value,
            "threshold": self.threshold,
            "n": self.n,
            "details": self.details,
            **stamps,
        }


@dataclass(frozen=True)
class DriftCursor:
    """Per detector: when it last fired (cooldown) and the newest input it saw."""

    last_fired: dict[str, datetime] = field(default_factory=dict)
    seen: dict[str, datetime] = field(default_factory=dict)

    def to_json(self) -> dict[str, dict[str, str]]:
        return {
            "last_fired": {
                k: v.isoformat() for k, v in sorted(self.last_fired.items())
            },
            "seen": {k: v.isoformat() for k, v in sorted(self.seen.items())},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DriftCursor:
        return cls(
            last_fired={
                k: datetime.fromisoformat(v) for k, v in raw["last_fired"].items()
            },
            seen={k: datetime.fromisoformat(v) for k, v in raw["seen"].items()},
        )


# What decide concluded for one detector; "fires" is the only one that triggers.
STATUSES = (
    "fires",
    "advisory",
    "cooldown",
    "below_min_samples",
    "nothing_new",
    "quiet",
)


@dataclass(frozen=True)
class DriftVerdict:
    """The drift monitor's verdict: whether to trigger, which detectors caused it,
    and why for every detector (what the trigger router then does with an event is
    ``operations.triggers.TriggerDecision``)."""

    fire: bool
    detectors: tuple[str, ...]
    reasons: dict[str, str]
    new_cursor: DriftCursor
    statuses: dict[str, str] = field(default_factory=dict)
    results: tuple[DetectorResult, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "fire": self.fire,
            "detectors": list(self.detectors),
            "reasons": dict(self.reasons),
            "statuses": dict(self.statuses),
            "results": [r.to_json() for r in self.results],
            "cursor": self.new_cursor.to_json(),
        }
