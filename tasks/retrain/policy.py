"""Pure decisions around a retrain: cooldown, idempotency and the single-run lock.

A retrain request for data and a config that were already trained returns the
existing candidate (keyed by the job fingerprint: config + dataset bytes), so
replayed events and retried flow runs never pay for the same GPU hours twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ragtune.locks import exclusive
from ragtune.tasks.training.job import TrainingJob, TrainingResult

LAST_RUN = "last-run.json"


@dataclass(frozen=True)
class Cooldown:
    """Whether a retrain may start now, and until when it may not."""

    allowed: bool
    until: datetime | None
    reason: str


def cooldown(runs_dir: Path, hours: float, now: datetime, force: bool) -> Cooldown:
    """A retrain may start if none finished within ``hours`` (or it is forced)."""
    marker = runs_dir / LAST_RUN
    if force or hours == 0 or not marker.exists():
        return Cooldown(True, None, "forced" if force else "no recent retrain")
    finished = datetime.fromisoformat(json.loads(marker.read_text())["finished_at"])
    until = finished + timedelta(hours=hours)
    if now >= until:
        return Cooldown(True, None, f"last retrain finished {finished.isoformat()}")
    return Cooldown(
        False, until, f"in cooldown until {until.isoformat()} (retrain.cooldown_hours)"
    )


def mark_finished(runs_dir: Path, fingerprint: str, now: datetime) -> None:
    runs_dir.mkdir(parents=True, exist_ok=True)
    body = {"fingerprint": fingerprint, "finished_at": now.astimezone(UTC).isoformat()}
    tmp = runs_dir / f".{LAST_RUN}.tmp"
    tmp.write_text(json.dumps(body))
    tmp.replace(runs_dir / LAST_RUN)


def run_dir(runs_dir: Path, fingerprint: str) -> Path:
    """Where the candidate for one fingerprint lives (checkpoints, adapter, card)."""
    return runs_dir / fingerprint[:16]


def existing_result(job: TrainingJob) -> TrainingResult | None:
    """The finished result of this exact job, if an earlier run produced it."""
    path = job.output_dir / "result.json"
    if not path.exists():
        return None
    result = TrainingResult.model_validate_json(path.read_text())
    return result if Path(result.adapter_dir).exists() else None


@contextmanager
def single_run(runs_dir: Path) -> Iterator[None]:
    """One retrain at a time per state folder; a second one is refused, not queued."""
    with exclusive(runs_dir / ".lock", "retrain"):
        yield
