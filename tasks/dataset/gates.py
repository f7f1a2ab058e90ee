"""The dataset gates that stand between a built SFT set and any GPU time.

Each gate returns a ``GateResult`` (pass / warn / fail, a reason an operator can
act on, the measured numbers); ``run_gates`` runs them all on one built set and
returns a ``GateReport``. Warnings are reported but do not block training; a
single failure does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ragtune.errors import InputError
from ragtune.gates import GateResult, verdict
from ragtune.tasks.dataset.build import (
    EVAL_FILE,
    MANIFEST_FILE,
    REMOVED_FILE,
    TRAIN_FILE,
    example_text,
)
from ragtune.tasks.dataset.config import DatasetConfig
from ragtune.tasks.dataset.coverage import LoggedQuery, representativeness_gate
from ragtune.tasks.dataset.dedup import cross_duplicates, find_duplicates
from ragtune.tasks.dataset.label_quality import label_quality_gate
from ragtune.tasks.dataset.records import SFTExample
from ragtune.tasks.dataset.redaction import scan_examples
from ragtune.tasks.dataset.report import GateReport
from ragtune.tasks.dataset.schema_check import schema_gate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuiltDataset:
    """A built set as read back from disk: splits, manifest, what was left out."""

    train: tuple[SFTExample, ...]
    eval: tuple[SFTExample, ...]
    manifest: dict[str, Any]
    rejected: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class GateInputs:
    """Everything besides the dataset that the gates compare it with."""

    doc_classes: Mapping[str, str | None] = field(default_factory=dict)
    stable_classes: tuple[str, ...] = ("historical", "domain-concept")
    eval_queries: tuple[str, ...] = ()
    query_log: tuple[LoggedQuery, ...] = ()


def _read_split(path: Path, rejected: list[dict[str, Any]]) -> list[SFTExample]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            examples.append(SFTExample.model_validate_json(line))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(map(str, problem["loc"])) or "record"
            rejected.append(
                {
                    "source": path.name,
                    "line": number,
                    "reason": f"{where}: {problem['msg']}",
                }
            )
    return examples


def load_built(out_dir: Path) -> BuiltDataset:
    """Read ``train.jsonl``, ``eval.jsonl``, ``manifest.json`` and the rejections.

    Raises:
        InputError: the folder was never built (names the command that builds it).
    """
    missing = [
        n for n in (TRAIN_FILE, EVAL_FILE, MANIFEST_FILE) if not (out_dir / n).is_file()
    ]
    if missing:
        raise InputError(
            f"{out_dir} has no {', '.join(missing)}; run `ragtune dataset build` "
            "(or `dvc repro build_sft`) first"
        )
    rejected: list[dict[str, Any]] = []
    removed = out_dir / REMOVED_FILE
    if removed.is_file():
        rows = [
            json.loads(line)
            for line in removed.read_text(encoding="utf-8").splitlines()
            if line
        ]
        rejected += [r for r in rows if str(r.get("reason", "")).startswith("rejected")]
    train = _read_split(out_dir / TRAIN_FILE, rejected)
    held_out = _read_split(out_dir / EVAL_FILE, rejected)
    manifest = json.loads((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    return BuiltDataset(tuple(train), tuple(held_out), manifest, tuple(rejected))


def min_examples_gate(data: BuiltDataset, cfg: DatasetConfig) -> GateResult:
    """Fewer training examples than ``min_examples`` fails, with what was removed."""
    counts = data.manifest.get("counts", {})
    n = len(data.train)
    removed = {
        k: counts.get(k, 0) for k in ("rejected", "exact_duplicates", "near_duplicates")
    }
    measured = {
        "train": n,
        "eval": len(data.eval),
        "min_examples": cfg.min_examples,
    } | removed
    if n >= cfg.min_examples:
        return GateResult("min_examples", "pass", f"{n} training examples", measured)
    lost = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in removed.items() if v)
    return GateResult(
        "min_examples",
        "fail",
        f"only {n} training examples; at least {cfg.min_examples} needed "
        f"(dataset.min_examples)" + (f"; the build removed {lost}" if lost else ""),
        measured,
    )


def duplicates_gate(data: BuiltDataset, cfg: DatasetConfig) -> GateResult:
    """Report what the build removed; fail on a mostly-duplicate input or on
    duplicates left in the built files (edited after the build)."""
    counts = data.manifest.get("counts", {})
    total_in = counts.get("curated", 0) + counts.get("generated", 0)
    exact, near = counts.get("exact_duplicates", 0), counts.get("near_duplicates", 0)
    share = (exact + near) / total_in if total_in else 0.0
    both = [*data.train, *data.eval]
    left = find_duplicates([example_text(e) for e in both], cfg.near_dup_threshold)
    measured = {
        "input": total_in,
        "exact_removed": exact,
        "near_removed": near,
        "removed_share": round(share, 4),
        "threshold": cfg.near_dup_threshold,
        "remaining": len(left),
        "remaining_pairs": [[both[d.item].id, both[d.of].id] for d in left[:5]],
    }
    if left:
        return GateResult(
            "duplicates",
            "fail",
            f"{len(left)} duplicate(s) remain in the built files (edited after the "
            "build?); rebuild with `ragtune dataset build`",
            measured,
        )
    status = verdict(share, 0.0, cfg.max_duplicate_share)
    reason = (
        f"removed {exact} exact and {near} near-duplicate(s) of {total_in} "
        f"({share:.1%}; fail above dataset.max_duplicate_share "
        f"{cfg.max_duplicate_share:.0%})"
        if exact + near
        else f"no duplicates among {total_in} examples"
    )
    return GateResult("duplicates", status, reason, measured)


def leakage_gate(
    data: BuiltDataset, cfg: DatasetConfig, eval_queries: Sequence[str]
) -> GateResult:
    """Fail when eval examples repeat training ones, or training instructions
    repeat the retrieval eval queries (scores would measure memory, not skill)."""
    split_dups = cross_duplicates(
        [example_text(e) for e in data.train],
        [example_text(e) for e in data.eval],
        cfg.near_dup_threshold,
    )
    query_dups = cross_duplicates(
        list(eval_queries), [e.instruction for e in data.train], cfg.near_dup_threshold
    )
    measured = {
        "train_eval_exact": sum(d.exact for d in split_dups),
        "train_eval_near": sum(not d.exact for d in split_dups),
        "eval_queries": len(eval_queries),
        "eval_query_overlap": len(query_dups),
        "pairs": [[data.eval[d.item].id, data.train[d.of].id] for d in split_dups[:5]],
        "query_overlap_ids": [data.train[d.item].id for d in query_dups[:5]],
    }
    problems = []
    if split_dups:
        problems.append(f"{len(split_dups)} eval example(s) repeat training examples")
    if query_dups:
        problems.append(
            f"{len(query_dups)} training instruction(s) repeat retrieval eval queries"
        )
    if problems:
        return GateResult("leakage", "fail", "; ".join(problems), measured)
    return GateResult(
        "leakage",
        "pass",
        f"no overlap between train/eval or with {len(eval_queries)} eval queries",
        measured,
    )


def pii_gate(data: BuiltDataset, cfg: DatasetConfig) -> GateResult:
    """Fail unless params declares a legal basis for every PII kind found."""
    finding = scan_examples([*data.train, *data.eval], cfg.legal_basis)
    redacted = data.manifest.get("redactions") or {}
    measured = {
        "found": finding.counts,
        "example_ids": {k: list(v) for k, v in finding.example_ids.items()},
        "legal_basis": {
            k: cfg.legal_basis[k] for k in finding.counts if k in cfg.legal_basis
        },
        "redacted_by_build": redacted,
    }
    done = f"; the build redacted {_counts(redacted)}" if redacted else ""
    if finding.without_basis:
        missing = ", ".join(f"{k} ({finding.counts[k]})" for k in finding.without_basis)
        return GateResult(
            "pii",
            "fail",
            f"personal data without a legal basis: {missing}; declare one under "
            "dataset.legal_basis or set dataset.redact: true and rebuild" + done,
            measured,
        )
    if finding.counts:
        return GateResult(
            "pii",
            "pass",
            "PII found only of kinds with a declared legal basis: "
            f"{_counts(finding.counts)}{done}",
            measured,
        )
    return GateResult("pii", "pass", "no personal data found" + done, measured)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items())


def run_gates(
    data: BuiltDataset, cfg: DatasetConfig, inputs: GateInputs | None = None
) -> GateReport:
    """Run every dataset gate on one built set; never raises on bad data."""
    inputs = inputs or GateInputs()
    both = [*data.train, *data.eval]
    results = (
        min_examples_gate(data, cfg),
        schema_gate(both, cfg, data.rejected),
        duplicates_gate(data, cfg),
        leakage_gate(data, cfg, inputs.eval_queries),
        label_quality_gate(both, cfg),
        representativeness_gate(
            data.train, inputs.doc_classes, inputs.stable_classes, cfg, inputs.query_log
        ),
        pii_gate(data, cfg),
    )
    for r in results:
        log.info(
            "gate %s: %s: %s",
            r.name,
            r.status,
            r.reason,
        )
    return GateReport(results, data.manifest.get("dataset_hash"))
