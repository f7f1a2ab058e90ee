"""A person's decision on a candidate, or the automatic one CI and demos use.

The Prefect form that collects it lives in the flow (``flows/promotion.py``); this
module only says what a decision is and how each one is recorded, so the audit
log reads the same whoever decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragtune.tasks.promotion.config import PromotionConfig


@dataclass(frozen=True)
class Approval:
    """Approve or reject, who decided, why; ``how`` is human, auto or timeout."""

    approve: bool
    approver: str
    reason: str
    how: str = "human"

    @property
    def audit_action(self) -> str:
        return "promotion.approved" if self.approve else "promotion.refused"


def auto_approval(cfg: PromotionConfig) -> Approval:
    """The decision ``promotion.auto_approve`` stands for (no person looked)."""
    return Approval(
        True,
        cfg.auto_approver,
        "auto-approved by promotion.auto_approve (no human review)",
        "auto",
    )


def auto_approval_withheld(privacy: Any | None) -> str | None:
    """Why ``promotion.auto_approve`` may not stand in for a person here, or None.

    A privacy gate whose membership checks found insufficient evidence (too few
    records, or bounds straddling a limit) did not fail the candidate, but did
    not clear it either: a person decides from the figures.
    """
    if privacy is None or not privacy.needs_review:
        return None
    names = ", ".join(r.name for r in privacy.insufficient)
    return f"privacy gate: insufficient evidence ({names}); a person must approve"


def timeout_rejection(cfg: PromotionConfig) -> Approval:
    """No decision within ``approval_timeout_s``: the candidate is rejected."""
    return Approval(
        False,
        "timeout",
        f"no approval within {cfg.approval_timeout_s} s: rejected",
        "timeout",
    )


def from_form(approve: bool, approver: str, reason: str) -> Approval:
    """A person's answer; an empty name or reason is recorded as such, not invented."""
    return Approval(
        approve, approver.strip() or "unknown", reason.strip() or "(none given)"
    )
