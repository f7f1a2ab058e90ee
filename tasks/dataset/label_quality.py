"""Label-quality spot checks: answers a model should not learn to give.

Each example is checked for an empty answer, a truncated answer, refusal
boilerplate and an answer in another language than the question. These are
cheap heuristics, run on every example rather than a sample because they cost
microseconds; the gate reports counts and the first ids of each problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune.gates import GateResult, verdict
from ragtune.tasks.dataset.config import DatasetConfig
from ragtune.tasks.dataset.language import language_mismatch
from ragtune.tasks.dataset.records import SFTExample

PROBLEMS = ("empty", "truncated", "refusal", "language_mismatch")
_SOURCE_LINE = re.compile(r"\n?^Source:.*$", re.MULTILINE)
_DANGLING = re.compile(
    r"(\.\.\.|…|[,;:(\[{/–-]|\b(and|or|the|a|an|of|to|with|for|in|that|which|is))$",
    re.IGNORECASE,
)
_PAIRS = ("()", "[]", "{}")


def answer_body(response: str) -> str:
    """The answer without its trailing ``Source:`` line(s)."""
    return _SOURCE_LINE.sub("", response).strip()


def is_truncated(response: str) -> bool:
    """Cut mid-sentence: a dangling word or mark, an unclosed bracket, or a long
    answer whose last character is a letter (no closing punctuation)."""
    body = answer_body(response)
    if not body:
        return False
    if _DANGLING.search(body):
        return True
    if any(body.count(a) > body.count(b) for a, b in _PAIRS):
        return True
    return len(body) >= 40 and body[-1].isalpha()


def problems_of(example: SFTExample, refusals: Sequence[re.Pattern]) -> list[str]:
    """The label problems of one example (empty list when it looks fine)."""
    body = answer_body(example.response)
    if not body:
        return ["empty"]
    found = ["truncated"] if is_truncated(example.response) else []
    if any(p.search(body) for p in refusals):
        found.append("refusal")
    if language_mismatch(example.instruction, body):
        found.append("language_mismatch")
    return found


def label_quality_gate(
    examples: Sequence[SFTExample], cfg: DatasetConfig
) -> GateResult:
    """Warn when any example has a problem; fail above ``max_label_issue_share``."""
    refusals = [re.compile(p, re.IGNORECASE) for p in cfg.refusal_patterns]
    ids: dict[str, list[str]] = {p: [] for p in PROBLEMS}
    flagged = 0
    for example in examples:
        found = problems_of(example, refusals)
        flagged += bool(found)
        for problem in found:
            ids[problem].append(example.id)
    share = flagged / len(examples) if examples else 0.0
    measured = {
        "examples": len(examples),
        "flagged": flagged,
        "share": round(share, 4),
        "counts": {p: len(v) for p, v in ids.items()},
        "first_ids": {p: v[:5] for p, v in ids.items() if v},
    }
    status = verdict(share, 0.0, cfg.max_label_issue_share)
    if status == "pass":
        reason = (
            f"no empty, truncated, refusing or mismatched answers in {len(examples)}"
        )
    else:
        detail = ", ".join(f"{p}: {len(v)}" for p, v in ids.items() if v)
        reason = (
            f"{flagged} example(s) with label problems ({detail}); {share:.1%} vs "
            f"dataset.max_label_issue_share {cfg.max_label_issue_share:.1%}"
        )
    return GateResult("label_quality", status, reason, measured)
