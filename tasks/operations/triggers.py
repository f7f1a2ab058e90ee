"""Trigger decisions: one event in, the runs to start (or none) and why, out.

Pure functions over plain data, so every case is tested without a server; the
``trigger-router`` flow gathers the context, calls :func:`decide`, writes the
decision to the audit log with the event, and starts the runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ragtune import events

RETRAIN_DEADLINE = "ragtune.retrain.deadline"
REFRESH_FLOW = "knowledge-refresh"
RETRAIN = "retrain/retrain"
ROUTER = "trigger-router/trigger-router"
WATCHED_CLASS = "regulatory"  # the watcher mirrors sources into this class's area


def refresh_deployment_name(freshness_class: str) -> str:
    """The deployment that refreshes one freshness class (the rules aim at it;
    ``flows/deployments.py`` creates it under this name)."""
    return f"refresh-{freshness_class}"


@dataclass(frozen=True)
class TriggerEvent:
    """The event an automation passed on: name, id, when, payload."""

    name: str
    occurred: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None


@dataclass(frozen=True)
class TriggerContext:
    """What a decision may look at besides the event (gathered by the router).

    Attributes:
        classes: The configured freshness classes.
        doc_classes: Freshness class per indexed document id.
        fine_tuned_gaps: Gaps the latest decision record sends to fine-tuning
            (``fine-tune`` or ``both``): the fine-tuned model holds that knowledge.
        decision_record: Id of that record, for the audit trail.
        last_retrain_at: When the last retrain finished, if ever.
        spent_usd: GPU spend on retrains this month.
        retrain_cost_usd: Budgeted cost of one more retrain.
        gpu_budget_usd: Monthly GPU budget.
        deadline_days: How long a regulatory change may stay out of the model.
    """

    classes: tuple[str, ...]
    doc_classes: Mapping[str, str] = field(default_factory=dict)
    fine_tuned_gaps: tuple[str, ...] = ()
    decision_record: str | None = None
    last_retrain_at: datetime | None = None
    spent_usd: float = 0.0
    retrain_cost_usd: float = 0.0
    gpu_budget_usd: float = float("inf")
    deadline_days: int = 30


@dataclass(frozen=True)
class Action:
    """One run to start: a deployment, its parameters, and when (None: now)."""

    kind: Literal["refresh", "retrain", "deadline-check"]
    deployment: str
    parameters: dict[str, Any]
    reason: str
    scheduled_for: datetime | None = None


@dataclass(frozen=True)
class TriggerDecision:
    """The actions for one event, and every reason (also for doing nothing)."""

    event: str
    event_id: str | None
    actions: tuple[Action, ...]
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO text) for the audit log and CLI."""
        data = asdict(self)
        for action in data["actions"]:
            when = action["scheduled_for"]
            action["scheduled_for"] = when.isoformat() if when else None
        return data


def affected_classes(event: TriggerEvent, ctx: TriggerContext) -> list[str]:
    """Classes a change touches: named in the payload, else of its documents.

    Falls back to the watched class: a brand-new document is not indexed yet,
    and the watcher only mirrors sources into the regulatory area.
    """
    named = event.payload.get("classes") or event.payload.get("class")
    if named:
        found = [named] if isinstance(named, str) else list(named)
    else:
        ids = event.payload.get("doc_ids") or []
        found = [ctx.doc_classes[d] for d in ids if d in ctx.doc_classes]
    known = [c for c in dict.fromkeys(found) if c in ctx.classes]
    return known or [WATCHED_CLASS]


def _refresh(classes: list[str], why: str) -> list[Action]:
    return [
        Action("refresh", f"{REFRESH_FLOW}/{refresh_deployment_name(c)}", {}, why)
        for c in classes
    ]


def _retrain(reason: str, why: str) -> Action:
    return Action("retrain", RETRAIN, {"reason": reason}, why)


def on_source_changed(event: TriggerEvent, ctx: TriggerContext) -> TriggerDecision:
    """Refresh only the classes the changed documents belong to.

    A change the watcher marked ``significant`` also comes as
    ``ragtune.regulatory.updated``, whose rule refreshes at once: refreshing here
    too would run the same class twice for one change.
    """
    classes = affected_classes(event, ctx)
    if event.payload.get("significant"):
        why = (
            f"source {event.payload.get('source', '?')} changed significantly: "
            f"its {events.REGULATORY_UPDATED} event refreshes {classes}"
        )
        return _decision(event, [], [why])
    why = f"source {event.payload.get('source', '?')} changed: refresh {classes}"
    return _decision(event, _refresh(classes, why), [why])


def on_regulatory_updated(event: TriggerEvent, ctx: TriggerContext) -> TriggerDecision:
    """Refresh at once; retrain too when the fine-tuned model holds the knowledge.

    The retrain is requested now (the retrain flow's cooldown may refuse it) and
    a deadline check is scheduled ``deadline_days`` after the change, which
    retrains then unless a retrain finished in between.
    """
    classes = affected_classes(event, ctx)
    score = event.payload.get("score")
    reasons = [f"regulatory update (score {score}): refresh {classes} at once"]
    actions = _refresh(classes, reasons[0])
    if not ctx.fine_tuned_gaps:
        reasons.append(
            "no retrain: the latest decision record "
            f"({ctx.decision_record or 'none'}) sends no gap to fine-tuning"
        )
        return _decision(event, actions, reasons)
    deadline = event.occurred + timedelta(days=ctx.deadline_days)
    why = (
        f"decision record {ctx.decision_record} fine-tunes "
        f"{', '.join(ctx.fine_tuned_gaps)}: the model must learn this change "
        f"by {deadline:%Y-%m-%d}"
    )
    reasons.append(why)
    check = Action(
        "deadline-check",
        ROUTER,
        {
            "event_name": RETRAIN_DEADLINE,
            "payload": {"changed_at": event.occurred.isoformat()},
        },
        f"retrain deadline for the change of {event.occurred:%Y-%m-%d}",
        scheduled_for=deadline,
    )
    return _decision(
        event, [*actions, _retrain("regulatory-update", why), check], reasons
    )


def on_deadline(event: TriggerEvent, ctx: TriggerContext) -> TriggerDecision:
    """At the deadline: retrain unless one finished after the change."""
    changed = datetime.fromisoformat(str(event.payload["changed_at"]))
    last = ctx.last_retrain_at
    if last is not None and last >= changed:
        why = f"a retrain finished {last:%Y-%m-%d %H:%M} after the change: nothing due"
        return _decision(event, [], [why])
    why = f"deadline reached: no retrain since the change of {changed:%Y-%m-%d}"
    return _decision(event, [_retrain("regulatory-deadline", why)], [why])


def on_drift(event: TriggerEvent, ctx: TriggerContext) -> TriggerDecision:
    """Retrain within the monthly GPU budget (the flow enforces its cooldown)."""
    detectors = event.payload.get("detectors") or event.payload.get("fired") or []
    after = ctx.spent_usd + ctx.retrain_cost_usd
    if after > ctx.gpu_budget_usd:
        why = (
            f"drift ({detectors}) but the GPU budget would be exceeded: "
            f"{ctx.spent_usd:.2f} + {ctx.retrain_cost_usd:.2f} > "
            f"{ctx.gpu_budget_usd:.2f} USD this month"
        )
        return _decision(event, [], [why])
    why = f"drift detected ({detectors}); budget {after:.2f}/{ctx.gpu_budget_usd:.2f}"
    return _decision(event, [_retrain("drift", why)], [why])


def on_format_changed(event: TriggerEvent, ctx: TriggerContext) -> TriggerDecision:
    """A required output format changed: models trained on the old one retrain."""
    files = list(event.payload.get("files") or [])
    why = f"output format changed since the champion was trained: {files}"
    return _decision(event, [_retrain("format-change", why)], [why])


HANDLERS = {
    events.SOURCE_CHANGED: on_source_changed,
    events.REGULATORY_UPDATED: on_regulatory_updated,
    events.DRIFT_DETECTED: on_drift,
    events.FORMAT_CHANGED: on_format_changed,
    RETRAIN_DEADLINE: on_deadline,
}


def decide(event: TriggerEvent, ctx: TriggerContext) -> TriggerDecision:
    """The decision for any event; an event nobody handles starts nothing."""
    handler = HANDLERS.get(event.name)
    if handler is None:
        return _decision(event, [], [f"no trigger for event {event.name}"])
    return handler(event, ctx)


def _decision(
    event: TriggerEvent, actions: list[Action], reasons: list[str]
) -> TriggerDecision:
    return TriggerDecision(event.name, event.event_id, tuple(actions), tuple(reasons))
