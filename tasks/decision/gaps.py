"""GAPS.yaml: the knowledge gaps a user wants closed, in a strict schema.

Each gap says what is missing (description, example questions), how fast the
knowledge changes, the accuracy it needs on which metric, its traffic and
latency budget, any required output format, whether its data holds personal
information, how many labelled examples exist, and which part of the eval set
measures it. Validation is strict (no type coercion, unknown keys are errors) and
every message names the gap and the key, so a typo is fixed in one pass.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragtune.errors import InputError, yaml_problem
from ragtune.tasks.decision.config import FREQUENCIES, FineTunePlan, ModelPrice

GapType = Literal[
    "style-format", "vocabulary", "capability", "current-facts", "document-retrieval"
]
GAP_TYPES: tuple[str, ...] = get_args(GapType)
Metric = Literal["recall_at_k", "token_f1", "exact_match", "format_compliance"]
# A gap's answer metric -> the evaluation harness's per-query metric (recall is
# a retrieval figure: the harness does not score answers on it).
HARNESS_METRIC = {
    "token_f1": "token_f1",
    "exact_match": "exact_match",
    "format_compliance": "format_ok",
}
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class GapModel(BaseModel):
    """Strict, frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AccuracyTarget(GapModel):
    """The figure the gap must reach on its eval slice."""

    metric: Metric = Field(description="Which metric the target is on.")
    target: float = Field(ge=0, le=1, description="Least acceptable value, 0-1.")


class FormatRequirement(GapModel):
    """A required answer format: a JSON schema file or a regular expression."""

    json_schema: Path | None = Field(None, description="Relative to GAPS.yaml.")
    regex: str | None = Field(None, description="Whole answer must match.")

    @model_validator(mode="after")
    def _one_of(self) -> FormatRequirement:
        if (self.json_schema is None) == (self.regex is None):
            raise ValueError("give exactly one of json_schema or regex")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return self


class EvalSlice(GapModel):
    """The eval-set queries that measure this gap."""

    classes: tuple[str, ...] = Field((), description="Freshness classes of queries.")
    query_ids: tuple[str, ...] = Field((), description="Query ids in the eval set.")
    eval_set: Path | None = Field(
        None,
        description="A BEIR eval-set folder of the gap's own questions, relative "
        "to GAPS.yaml (default: the project's eval set); without classes or "
        "query ids, all its judged questions.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> EvalSlice:
        if not self.classes and not self.query_ids and self.eval_set is None:
            raise ValueError("name at least one class, query id or eval_set")
        return self


class FineTunedFigures(GapModel):
    """What a fine-tuned candidate measured, when one was evaluated already."""

    metric: float | None = Field(None, ge=0, le=1)
    format_compliance: float | None = Field(None, ge=0, le=1)
    latency_p95_ms: float | None = Field(None, ge=0)
    cost_per_1k_queries_usd: float | None = Field(None, ge=0)


class Measured(GapModel):
    """Answer-level figures from an earlier ``ragtune eval`` run (base + RAG)."""

    token_f1: float | None = Field(None, ge=0, le=1)
    exact_match: float | None = Field(None, ge=0, le=1)
    format_compliance: float | None = Field(None, ge=0, le=1)
    answer_latency_p95_ms: float | None = Field(None, ge=0)
    fine_tuned: FineTunedFigures | None = None


class Assumptions(GapModel):
    """Per-gap overrides of the ``decision:`` price assumptions."""

    rag_model: ModelPrice | None = None
    fine_tuned_model: ModelPrice | None = None
    fine_tune: FineTunePlan | None = None
    max_inference_usd_per_month: float | None = Field(None, ge=0)


class Gap(GapModel):
    """One knowledge gap."""

    name: str = Field(pattern=SLUG, description="Lowercase-dash identifier.")
    description: str = Field(min_length=1)
    examples: tuple[str, ...] = Field(min_length=1, description="Example questions.")
    gap_type: GapType | None = Field(None, description="Declared type; else inferred.")
    change_frequency: str = Field(
        description="daily/weekly/monthly/quarterly/stable or a freshness class."
    )
    accuracy_target: AccuracyTarget
    query_volume_per_month: int = Field(ge=0)
    latency_budget_ms: int | None = Field(None, gt=0)
    format: FormatRequirement | None = None
    personal_data: bool = False
    legal_basis: str | None = Field(None, min_length=1)
    labelled_examples: int = Field(0, ge=0)
    eval_slice: EvalSlice | None = Field(
        None,
        description="The eval-set questions that measure the gap; leave it out "
        "when none exist yet (the record then says what evidence is missing).",
    )
    measured: Measured | None = None
    assumptions: Assumptions | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Gap:
        if self.accuracy_target.metric == "format_compliance" and self.format is None:
            raise ValueError("accuracy_target on format_compliance needs a format")
        if any(not e.strip() for e in self.examples):
            raise ValueError("examples: blank question")
        return self


class GapsFile(GapModel):
    """The whole GAPS.yaml."""

    organisation: str | None = None
    gaps: tuple[Gap, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> GapsFile:
        names = [g.name for g in self.gaps]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"gap names repeat: {', '.join(repeated)}")
        return self

    def select(self, only: Collection[str] | None) -> GapsFile:
        """The file with only the named gaps, in the file's order (all when None).

        Raises:
            InputError: a name is not a gap of the file.
        """
        if not only:
            return self
        names = [g.name for g in self.gaps]
        unknown = [n for n in only if n not in names]
        if unknown:
            raise InputError(
                f"unknown gap(s) {', '.join(unknown)}; the file has: {', '.join(names)}"
            )
        return self.model_copy(
            update={"gaps": [g for g in self.gaps if g.name in only]}
        )


def load_gaps(path: Path, known_classes: Collection[str] | None = None) -> GapsFile:
    """Read and validate GAPS.yaml; format schema paths become absolute.

    Args:
        path: The gaps file.
        known_classes: Freshness class names allowed in ``change_frequency`` and
            ``eval_slice.classes``; None skips that check.

    Raises:
        InputError: unreadable file, bad YAML, or schema errors (each named by
            gap and key).
    """
    path = Path(path)
    raw = _read_yaml(path)
    try:
        gaps = GapsFile.model_validate_json(json.dumps(raw, default=str), strict=True)
    except ValidationError as exc:
        errors = exc.errors()
        # pydantic counts a list whose gaps all failed as empty too; that error
        # only repeats the ones that name the gap
        if any(e["loc"][:1] == ("gaps",) and len(e["loc"]) > 1 for e in errors):
            errors = [e for e in errors if e["loc"] != ("gaps",)]
        lines = "\n  ".join(_describe(e, raw) for e in errors)
        raise InputError(f"{path} is invalid:\n  {lines}") from None
    problems = [p for g in gaps.gaps for p in _check_names(g, known_classes)]
    problems += [p for g in gaps.gaps for p in _check_schema_file(g, path.parent)]
    problems += [p for g in gaps.gaps for p in _check_eval_set(g, path.parent)]
    if problems:
        raise InputError(f"{path} is invalid:\n  " + "\n  ".join(problems))
    return gaps.model_copy(
        update={"gaps": tuple(_absolute_paths(g, path.parent) for g in gaps.gaps)}
    )


def file_sha256(path: Path) -> str:
    """Hash of the gaps file's bytes, recorded with every decision."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"{path}: gaps file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping with a 'gaps' list")
    return raw


def _describe(err: dict[str, Any], raw: dict[str, Any]) -> str:
    loc = list(err["loc"])
    where = "(top level)"
    if len(loc) >= 2 and loc[0] == "gaps" and isinstance(loc[1], int):
        where = f"gap {_gap_name(raw, loc[1])} (gaps[{loc[1]}])"
        loc = loc[2:]
    key = ".".join(str(p) for p in loc) or "(the gap)"
    if err["type"] == "extra_forbidden":
        return f"{where}: {key}: unknown key"
    if err["type"] == "missing":
        return f"{where}: {key}: required key is missing"
    given = err.get("input")
    shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
    return f"{where}: {key}: {err['msg']}{shown}"


def _gap_name(raw: dict[str, Any], index: int) -> str:
    items = raw.get("gaps")
    if (
        isinstance(items, list)
        and index < len(items)
        and isinstance(items[index], dict)
    ):
        name = items[index].get("name")
        if isinstance(name, str):
            return repr(name)
    return "#" + str(index)


def _check_names(gap: Gap, known: Collection[str] | None) -> list[str]:
    if known is None:
        return []
    problems = []
    if gap.change_frequency not in FREQUENCIES and gap.change_frequency not in known:
        problems.append(
            f"gap {gap.name!r}: change_frequency: {gap.change_frequency!r} is neither "
            f"a frequency ({', '.join(FREQUENCIES)}) nor a freshness class "
            f"({', '.join(sorted(known))})"
        )
    classes = gap.eval_slice.classes if gap.eval_slice else ()
    unknown = sorted(set(classes) - set(known))
    if unknown:
        problems.append(
            f"gap {gap.name!r}: eval_slice.classes: unknown class(es) "
            f"{', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return problems


def _check_schema_file(gap: Gap, base: Path) -> list[str]:
    if gap.format is None or gap.format.json_schema is None:
        return []
    file = base / gap.format.json_schema
    if not file.is_file():
        return [f"gap {gap.name!r}: format.json_schema: {file} not found"]
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [f"gap {gap.name!r}: format.json_schema: {file} is not JSON ({exc})"]
    if not isinstance(schema, dict):
        return [f"gap {gap.name!r}: format.json_schema: {file} is not a JSON object"]
    return []


def _check_eval_set(gap: Gap, base: Path) -> list[str]:
    if gap.eval_slice is None or gap.eval_slice.eval_set is None:
        return []
    folder = base / gap.eval_slice.eval_set
    if not (folder / "queries.jsonl").is_file():
        return [
            f"gap {gap.name!r}: eval_slice.eval_set: {folder} has no queries.jsonl "
            "(a BEIR eval-set folder is expected)"
        ]
    return []


def _absolute_paths(gap: Gap, base: Path) -> Gap:
    """Schema file and eval-set folder resolved against the gaps file's folder."""
    update: dict[str, Any] = {}
    if gap.format is not None and gap.format.json_schema is not None:
        update["format"] = gap.format.model_copy(
            update={"json_schema": (base / gap.format.json_schema).resolve()}
        )
    if gap.eval_slice is not None and gap.eval_slice.eval_set is not None:
        update["eval_slice"] = gap.eval_slice.model_copy(
            update={"eval_set": (base / gap.eval_slice.eval_set).resolve()}
        )
    return gap.model_copy(update=update) if update else gap
