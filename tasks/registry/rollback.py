"""Which versions a rollback may restore, and the refusal that lists them.

Eligible: every version that served as champion at any moment of the rollback
window (so the release replaced yesterday counts even if it was promoted long
ago), restored with the index tag of its latest tenure. The promotion log is the
only source: MLflow keeps no alias history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ragtune.errors import InputError
from ragtune.tasks.registry.mlflow_store import MlflowStore
from ragtune.tasks.registry.models import PromotionRecord, Tenure, TransitionPlan
from ragtune.tasks.registry.promotion_log import (
    PromotionLog,
    in_window,
    rollback_targets,
    tenures,
)
from ragtune.tasks.registry.transaction import plan_transition


def describe_eligible(spans: Sequence[Tenure], now: datetime, days: int) -> str:
    """``v3 (index live-..., served until 2026-01-02), v4 (champion, ...)``."""
    latest: dict[int, Tenure] = {s.version: s for s in in_window(spans, now, days)}
    parts = [
        f"v{s.version} (index {s.index_tag}, "
        + ("champion now" if s.end is None else f"served until {s.end:%Y-%m-%d}")
        + ")"
        for s in sorted(latest.values(), key=lambda s: s.version)
    ]
    return ", ".join(parts) or "none"


def refusal(
    version: int, history: Sequence[PromotionRecord], now: datetime, days: int
) -> str:
    """Why ``version`` cannot be rolled back to, and which versions can."""
    spans = tenures(history)
    eligible = describe_eligible(spans, now, days)
    mine = [s for s in spans if s.version == version]
    if not mine:
        why = f"version {version} was never promoted"
    else:
        ended = max(s.end for s in mine if s.end is not None)
        why = (
            f"version {version} last served until {ended:%Y-%m-%d}, "
            f"{(now - ended).days} days ago, outside the {days}-day rollback window"
        )
    return f"cannot roll back: {why}; eligible: {eligible}"


def plan_rollback(
    store: MlflowStore,
    index: tuple[str, str],
    promotions: PromotionLog,
    to_version: int,
    actor: str,
    reason: str,
    now: datetime,
) -> TransitionPlan:
    """Plan restoring ``to_version`` with the index tag it served with.

    Raises:
        InputError: the version never served, or not within the window (the
            message lists the eligible versions).
        GateFailed: the promotion log's hash chain is broken.
    """
    days = store.cfg.rollback_window_days
    tag = rollback_target(promotions, store.name, to_version, days, now)
    return plan_transition(
        store, index, "rollback", to_version, tag, actor, reason, now
    )


def rollback_target(
    promotions: PromotionLog, model: str, to_version: int, days: int, now: datetime
) -> str:
    """The index tag ``to_version`` served with, when a rollback may restore it.

    Reads the promotion log alone, never MLflow: the CLI refuses an ineligible
    version with it before a registry database is opened (and created) or a
    rollback flow starts.

    Raises:
        InputError: the version never served, or not within the window (the
            message lists the eligible versions).
        GateFailed: the promotion log's hash chain is broken.
    """
    history = promotions.verified_history(model)
    targets = rollback_targets(history, now, days)
    if to_version not in targets:
        raise InputError(refusal(to_version, history, now, days))
    return targets[to_version]
