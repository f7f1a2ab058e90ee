"""PII in SFT examples: which kinds occur, which lack a legal basis, redaction.

Training data may hold personal data only where params declares a legal basis
for that kind (``dataset.legal_basis``). Kinds without one are either redacted
(``dataset.redact: true``) or block training at the PII gate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ragtune.tasks.dataset.records import Message, SFTExample
from ragtune.tasks.privacy import KINDS, redact, scan


@dataclass(frozen=True)
class PIIFinding:
    """Counts per kind, the examples that hold each kind (first few), kinds unbased."""

    counts: dict[str, int]
    example_ids: dict[str, tuple[str, ...]]
    without_basis: tuple[str, ...]


def unbased_kinds(legal_basis: Mapping[str, str]) -> tuple[str, ...]:
    """PII kinds that params gives no legal basis for."""
    return tuple(k for k in KINDS if k not in legal_basis)


def scan_examples(
    examples: Iterable[SFTExample],
    legal_basis: Mapping[str, str],
    keep_ids: int = 5,
) -> PIIFinding:
    """Every message of every example, scanned for every PII kind."""
    counts: Counter[str] = Counter()
    ids: dict[str, list[str]] = {}
    for example in examples:
        for message in example.messages:
            for match in scan(message.content):
                counts[match.kind] += 1
                held = ids.setdefault(match.kind, [])
                if example.id not in held and len(held) < keep_ids:
                    held.append(example.id)
    missing = tuple(k for k in KINDS if counts[k] and k not in legal_basis)
    return PIIFinding(
        counts={k: counts[k] for k in KINDS if counts[k]},
        example_ids={k: tuple(v) for k, v in ids.items()},
        without_basis=missing,
    )


def redact_examples(
    examples: Sequence[SFTExample], kinds: Sequence[str]
) -> tuple[list[SFTExample], dict[str, int]]:
    """Replace PII of ``kinds`` with ``[kind]`` in every message.

    Returns:
        The examples (unchanged objects where nothing was found) and how many
        matches of each kind were replaced. Redacted examples are marked with
        ``meta.redacted`` so the change is visible downstream.
    """
    if not kinds:
        return list(examples), {}
    counts: Counter[str] = Counter()
    out: list[SFTExample] = []
    for example in examples:
        messages, found = [], Counter()
        for message in example.messages:
            text, matches = redact(message.content, kinds)
            found.update(m.kind for m in matches)
            messages.append(Message(role=message.role, content=text))
        if not found:
            out.append(example)
            continue
        counts.update(found)
        meta = example.meta | {"redacted": dict(sorted(found.items()))}
        out.append(
            example.model_copy(update={"messages": tuple(messages), "meta": meta})
        )
    return out, dict(sorted(counts.items()))
