"""The ``promotion-report`` artifact: every gate's verdict on one page, so the
approver sees in one place what was measured and what would move."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragtune.tasks.promotion.eval_gate import GateDecision


def promotion_markdown(
    version: int,
    index_tag: str,
    champion: int | None,
    decisions: Sequence[GateDecision],
    privacy: Any | None = None,
) -> str:
    """Markdown of the candidate, what it would replace, and every gate."""
    now = "nothing (first promotion)" if champion is None else f"version {champion}"
    lines = [
        f"## Promotion of version {version} with index tag `{index_tag}`",
        f"Currently serving: {now}.",
        "",
    ]
    for decision in decisions:
        lines += [decision.to_markdown(), ""]
    if privacy is not None:
        lines.append(privacy.to_markdown(level=3))
    return "\n".join(lines)


def rejection_reason(
    decisions: Sequence[GateDecision], privacy: Any | None = None
) -> str:
    """One line naming every failed comparison, regression and privacy check."""
    parts = [f"[{d.scope}] {r}" for d in decisions for r in d.reasons]
    if privacy is not None and not privacy.passed:
        parts += [f"[privacy] {g.name}: {g.reason}" for g in privacy.failures]
    return "; ".join(parts)
