"""A retrain aimed at one knowledge gap: its SFT records, its slice and its metric.

``ragtune decide`` names the gaps that need a fine-tune; ``ragtune retrain --gap
NAME`` then trains a candidate for that gap alone. Three things follow from the
gap's entry in GAPS.yaml:

- the training data: the built SFT records tagged ``meta.gap: NAME`` (their
  held-out split is the privacy gate's non-members), so a format fine-tune
  learns the format and nothing else;
- the evaluation gate's second scope: the gap's own eval set (or its slice of the
  project's) judged on the gap's metric, e.g. format compliance;
- the registry lineage: the version records the gap, and ``ragtune decide``
  measures that candidate beside base + RAG the next time it decides the gap.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ragtune.errors import InputError
from ragtune.tasks.decision.gaps import HARNESS_METRIC, Gap, load_gaps
from ragtune.tasks.promotion.evaluate import KnowledgeGap
from ragtune.tasks.training.config import QLoRAConfig


@dataclass(frozen=True)
class GapTarget:
    """A retrain aimed at one gap: what the gate judges and how to train."""

    name: str
    gate: KnowledgeGap
    training: QLoRAConfig


def gap_target(
    gaps_file: Path,
    name: str,
    known_classes: Collection[str],
    training: QLoRAConfig,
    overrides: Mapping[str, Any],
) -> GapTarget:
    """The gap's gate slice and its training config (``overrides`` applied to
    ``training``), checked before any work starts.

    Raises:
        InputError: no such gap, a gap that cannot be trained for, or overrides
            that are not valid training settings.
    """
    found = find_gap(gaps_file, name, known_classes)
    try:
        tuned = QLoRAConfig.model_validate({**training.model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(
            f"retrain.gap_training.{name} is not a valid training config: {problems}"
        ) from None
    return GapTarget(name, knowledge_gap(found), tuned)


@dataclass(frozen=True)
class GapSlice:
    """The training and held-out records of one gap, written beside the runs."""

    train: Path
    heldout: Path
    train_records: int
    heldout_records: int


def find_gap(gaps_file: Path, name: str, known_classes: Collection[str]) -> Gap:
    """The named gap of a gaps file.

    Raises:
        InputError: the file is invalid or has no such gap.
    """
    gaps = load_gaps(gaps_file, known_classes=known_classes)
    for gap in gaps.gaps:
        if gap.name == name:
            return gap
    names = ", ".join(g.name for g in gaps.gaps)
    raise InputError(f"{gaps_file} has no gap {name!r}; it has: {names}")


def knowledge_gap(gap: Gap) -> KnowledgeGap:
    """What the evaluation gate judges for this gap: its slice and its metric.

    Raises:
        InputError: the gap has no eval slice (nothing to judge it on), or its
            target is retrieval recall, which no fine-tune changes.
    """
    if gap.eval_slice is None:
        raise InputError(
            f"gap {gap.name!r} has no eval_slice: a candidate trained for it could "
            "not be judged; add eval questions for it first"
        )
    metric = gap.accuracy_target.metric
    if metric not in HARNESS_METRIC:
        raise InputError(
            f"gap {gap.name!r} targets {metric}: retrieval recall is not changed "
            "by fine-tuning, so there is no gap-specific candidate to train"
        )
    return KnowledgeGap(
        classes=tuple(gap.eval_slice.classes),
        query_ids=tuple(gap.eval_slice.query_ids),
        name=gap.name,
        eval_set=gap.eval_slice.eval_set,
        metric=HARNESS_METRIC[metric],
    )


def write_gap_slice(build_dir: Path, name: str, out_dir: Path) -> GapSlice:
    """The built SFT set's records tagged ``meta.gap == name``, train and held-out.

    Raises:
        InputError: no training record carries the gap's tag.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "eval"):
        source = build_dir / f"{split}.jsonl"
        kept = [
            line
            for line in source.read_text(encoding="utf-8").splitlines()
            if line.strip() and _gap_of(line) == name
        ]
        (out_dir / f"{split}.jsonl").write_text(
            "".join(f"{line}\n" for line in kept), encoding="utf-8"
        )
        counts[split] = len(kept)
    if not counts["train"]:
        raise InputError(
            f"no SFT record in {build_dir / 'train.jsonl'} is tagged meta.gap: "
            f"{name!r}; add curated examples for the gap (see "
            "data/tools/make_case_updates.py) and rebuild with `ragtune dataset build`"
        )
    return GapSlice(
        out_dir / "train.jsonl", out_dir / "eval.jsonl", counts["train"], counts["eval"]
    )


def _gap_of(line: str) -> str | None:
    meta = json.loads(line).get("meta") or {}
    return meta.get("gap") if isinstance(meta, dict) else None
