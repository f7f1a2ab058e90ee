"""Champion alias and live index tag move as one transaction.

A move is planned first (``plan_transition``): the previous champion, challenger,
live index tag and the target's overwritten tags are recorded before anything
changes. Then three steps run, each with an undo: move the alias, move the index
tag, append to the promotion log (the commit point). If a step fails, the steps
that ran, the failed one included, are undone in reverse order. Every undo is
idempotent (it sets the recorded previous state), so a Prefect ``transaction()``
may call the same ``undo_*`` functions from its ``on_rollback`` hooks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ragtune.errors import InputError, RagtuneError
from ragtune.tasks.index import publish
from ragtune.tasks.registry import lineage as lt
from ragtune.tasks.registry.config import RegistryConfig
from ragtune.tasks.registry.mlflow_store import MlflowStore
from ragtune.tasks.registry.models import (
    AuditEntry,
    TransitionKind,
    TransitionOutcome,
    TransitionPlan,
)
from ragtune.tasks.registry.promotion_log import ACTIONS, PromotionLog

log = logging.getLogger(__name__)

IndexMove = Callable[[str, str, str], Any]  # (uri, table, tag): make ``tag`` live


class TransitionFailed(RagtuneError):
    """A move failed part-way; the message says what was restored."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Step:
    """One reversible step of a transition."""

    name: str
    apply: Callable[[], Any]
    undo: Callable[[], Any]


def run_with_compensation(steps: Sequence[Step], what: str) -> None:
    """Run steps in order; on failure undo the ran ones (failed one first) and raise.

    Raises:
        TransitionFailed: a step failed; the message lists undo results, and the
            exit code is the failing error's when it was a ragtune error.
    """
    done: list[Step] = []
    for step in steps:
        try:
            step.apply()
        except Exception as exc:
            problems = _undo([step, *reversed(done)])
            state = (
                "previous champion and live index tag restored"
                if not problems
                else "UNDO FAILED, check both by hand: " + "; ".join(problems)
            )
            code = exc.exit_code if isinstance(exc, RagtuneError) else 1
            raise TransitionFailed(
                f"{what} failed at step '{step.name}': {exc}; {state}", code
            ) from exc
        done.append(step)


def _undo(steps: Sequence[Step]) -> list[str]:
    problems: list[str] = []
    for step in steps:
        try:
            step.undo()
        except Exception as exc:  # keep undoing the rest, then report all
            log.exception("undo of %s failed", step.name)
            problems.append(f"undo of {step.name}: {exc}")
    return problems


def _target_tags(plan_kind: TransitionKind, actor: str, at: datetime) -> dict:
    tags = {lt.DEPLOYED_AT: at.isoformat()}
    if plan_kind == "promote":
        tags.update({lt.STATUS: "approved", lt.APPROVER: actor})
        tags[lt.APPROVED_AT] = at.isoformat()
    return tags


def live_tag(index_uri: str, table: str) -> str | None:
    """The index tag readers see now."""
    live = publish.live_tag(index_uri, table)
    return None if live is None else live.tag


def plan_transition(
    store: MlflowStore,
    index: tuple[str, str],
    kind: TransitionKind,
    version: int,
    index_tag: str,
    actor: str,
    reason: str,
    at: datetime,
) -> TransitionPlan:
    """Record the state before a move. Nothing changes here.

    Raises:
        InputError: unknown version or index tag, empty actor or reason, or an
            index with no live tag to restore on failure.
    """
    if not actor.strip() or not reason.strip():
        raise InputError(f"a {kind} needs who does it and why (actor and reason)")
    target = store.get(version)
    tags = publish.list_tags(*index)
    known = [t.tag for t in tags]
    if index_tag not in known:
        raise InputError(
            f"index {index[1]} has no published tag {index_tag!r} "
            f"(known: {', '.join(known) or 'none'})"
        )
    current = next((t.tag for t in tags if t.live), None)
    if current is None:
        raise InputError(f"index {index[1]} has no live tag to restore on failure")
    aliases = store.aliases()
    new_tags = _target_tags(kind, actor, at)
    return TransitionPlan(
        kind=kind,
        model_name=store.name,
        to_version=version,
        index_tag=index_tag,
        adapter_uri=(target.tags or {}).get(lt.ADAPTER_URI) or target.source,
        from_version=aliases.get(store.cfg.champion_alias),
        from_index_tag=current,
        previous_challenger=aliases.get(store.cfg.challenger_alias),
        actor=actor,
        reason=reason,
        at=at,
        previous_tags={k: (target.tags or {}).get(k) for k in new_tags},
    )


def apply_alias(store: MlflowStore, plan: TransitionPlan) -> None:
    """Champion -> target; the target stops being challenger; deploy tags set."""
    cfg: RegistryConfig = store.cfg
    store.set_alias(cfg.champion_alias, plan.to_version)
    if plan.previous_challenger == plan.to_version:
        store.set_alias(cfg.challenger_alias, None)
    store.set_tags(plan.to_version, _target_tags(plan.kind, plan.actor, plan.at))


def undo_alias(store: MlflowStore, plan: TransitionPlan) -> None:
    """Champion, challenger and the target's tags back to the recorded state."""
    cfg: RegistryConfig = store.cfg
    store.set_tags(plan.to_version, plan.previous_tags)
    store.set_alias(cfg.challenger_alias, plan.previous_challenger)
    store.set_alias(cfg.champion_alias, plan.from_version)


def apply_index(index: tuple[str, str], plan: TransitionPlan, move: IndexMove) -> None:
    """Make the plan's index tag live."""
    move(index[0], index[1], plan.index_tag)


def undo_index(index: tuple[str, str], plan: TransitionPlan, move: IndexMove) -> None:
    """Make the recorded previous index tag live again (no call when it still is,
    so an index store that failed to move is not asked to move back)."""
    if plan.from_index_tag not in (None, live_tag(*index)):
        move(index[0], index[1], plan.from_index_tag)


def outcome(plan: TransitionPlan, record: dict[str, Any]) -> TransitionOutcome:
    """The audit entry and event the flow emits for a committed move."""
    details = {
        "model_name": plan.model_name,
        "from_version": plan.from_version,
        "to_version": plan.to_version,
        "from_index_tag": plan.from_index_tag,
        "index_tag": plan.index_tag,
        "adapter_uri": plan.adapter_uri,
        "reason": plan.reason,
        "at": plan.at.isoformat(),
        "promotion_log_hash": record["hash"],
        "by": plan.actor,  # the event payload's name for the actor
    }
    return TransitionOutcome(
        plan=plan,
        changed=True,
        record=record,
        audit=AuditEntry(ACTIONS[plan.kind], plan.actor, details),
    )


def promote_together(
    store: MlflowStore,
    index: tuple[str, str],
    promotions: PromotionLog,
    plan: TransitionPlan,
    move: IndexMove = publish.rollback,
) -> TransitionOutcome:
    """Move champion alias and live index tag together, or neither.

    Returns:
        The outcome with the promotion-log record, audit entry and event; a plan
        whose target already serves with its tag live changes nothing.

    Raises:
        TransitionFailed: a step failed; both were restored (the message says so,
            or says which undo failed).
    """
    if plan.is_noop:
        log.info("v%d already champion with %s", plan.to_version, plan.index_tag)
        return TransitionOutcome(plan=plan, changed=False)
    written: list[dict[str, Any]] = []
    steps = [
        Step(
            "alias", lambda: apply_alias(store, plan), lambda: undo_alias(store, plan)
        ),
        Step(
            "index",
            lambda: apply_index(index, plan, move),
            lambda: undo_index(index, plan, move),
        ),
        Step("log", lambda: written.append(promotions.append(plan)), lambda: None),
    ]
    what = f"{plan.kind} of {plan.model_name} v{plan.to_version} with {plan.index_tag}"
    run_with_compensation(steps, what)
    log.info("%s committed", what)
    return outcome(plan, written[0])
