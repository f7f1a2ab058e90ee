"""Schema and length gates on the SFT table, checked with Great Expectations.

One row per example (id, roles, first user turn, last assistant turn, system);
the expectations are table checks, so GX runs them on a pandas frame in an
ephemeral context (nothing is written to the project's ``gx/`` folder). Input
lines that never became examples (wrong keys, bad JSON) are counted too: the
build recorded them in ``removed.jsonl`` and they fail this gate by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import great_expectations.expectations as gxe
import pandas as pd

from ragtune.gates import GateResult
from ragtune.tasks.dataset.config import DatasetConfig
from ragtune.tasks.dataset.records import SFTExample
from ragtune.tasks.validation.checks import Check, SuiteSpec, fixed, param, unique
from ragtune.tasks.validation.gx_runner import open_context, run_suite

SUITE = "ragtune-sft-examples"
ROLES_PATTERN = r"^(?:system,)?(?:user,assistant,)*user,assistant$"
FIELDS = ("instruction", "response", "system")


def _length(column: str) -> Check:
    kwargs = {
        "column": column,
        "min_value": param(f"{column}_min"),
        "max_value": param(f"{column}_max"),
    }
    reason = fixed(f"{column} length outside dataset.lengths.{column}")
    return Check(
        f"{column}-length", gxe.ExpectColumnValueLengthsToBeBetween, kwargs, reason
    )


SFT_SUITE = SuiteSpec(
    SUITE,
    "sft examples",
    ("id",),
    (
        unique("id-unique", "id", fixed("duplicate example id")),
        Check(
            "roles-order",
            gxe.ExpectColumnValuesToMatchRegex,
            {"column": "roles", "regex": ROLES_PATTERN},
            fixed("turns must be [system], user, assistant, ... ending with assistant"),
        ),
        *(_length(c) for c in FIELDS),
    ),
)


def examples_frame(examples: Sequence[SFTExample]) -> pd.DataFrame:
    """The table GX checks: one row per example."""
    return pd.DataFrame(
        {
            "id": [e.id for e in examples],
            "roles": [",".join(m.role for m in e.messages) for e in examples],
            "instruction": [e.instruction for e in examples],
            "response": [e.response for e in examples],
            "system": [e.system for e in examples],
        }
    )


def _params(cfg: DatasetConfig) -> dict[str, Any]:
    bounds = cfg.lengths.model_dump()
    out: dict[str, Any] = {}
    for column in FIELDS:
        out[f"{column}_min"] = bounds[column]["min_chars"]
        out[f"{column}_max"] = bounds[column]["max_chars"]
    return out


def schema_gate(
    examples: Sequence[SFTExample],
    cfg: DatasetConfig,
    rejected: Sequence[Mapping[str, Any]] = (),
) -> GateResult:
    """Fail on rejected input lines, id clashes or bad turn order; length bounds
    fail above ``max_out_of_bounds_share`` and warn below it."""
    measured: dict[str, Any] = {"examples": len(examples), "rejected": len(rejected)}
    if rejected:
        first = rejected[0]
        where = f"{first.get('source')}:{first.get('line')}"
        return GateResult(
            "schema",
            "fail",
            f"{len(rejected)} input record(s) do not fit the SFT schema; first at "
            f"{where}: {first.get('reason', '').removeprefix('rejected: ')}",
            measured | {"first_rejections": [dict(r) for r in rejected[:5]]},
        )
    if not examples:
        return GateResult("schema", "fail", "no examples to check", measured)
    outcomes = run_suite(
        open_context(None), SFT_SUITE, examples_frame(examples), _params(cfg)
    )
    counts = {o.check.name: o.summary.unexpected_count for o in outcomes}
    failing = {o.check.name: [r.get("id") for r in o.rows[:5]] for o in outcomes}
    measured |= {"unexpected": counts, "ids": {k: v for k, v in failing.items() if v}}
    errors = [o.summary.error for o in outcomes if o.summary.error]
    if errors:
        return GateResult("schema", "fail", f"GX could not run: {errors[0]}", measured)
    structural = {k: v for k, v in counts.items() if v and not k.endswith("-length")}
    if structural:
        detail = ", ".join(f"{k}: {v}" for k, v in structural.items())
        return GateResult("schema", "fail", f"schema violations ({detail})", measured)
    return _length_verdict(counts, len(examples), cfg, measured)


def _length_verdict(
    counts: Mapping[str, int], total: int, cfg: DatasetConfig, measured: dict
) -> GateResult:
    out_of_bounds = {k: v for k, v in counts.items() if v and k.endswith("-length")}
    worst = max(out_of_bounds.values(), default=0)
    share = worst / total
    measured["out_of_bounds_share"] = round(share, 4)
    if not out_of_bounds:
        return GateResult(
            "schema", "pass", f"{total} examples fit the schema", measured
        )
    detail = ", ".join(
        f"{k.removesuffix('-length')}: {v}" for k, v in out_of_bounds.items()
    )
    status = "fail" if share > cfg.max_out_of_bounds_share else "warn"
    return GateResult(
        "schema",
        status,
        f"examples outside the length bounds ({detail}; {share:.1%} vs "
        f"dataset.max_out_of_bounds_share {cfg.max_out_of_bounds_share:.1%})",
        measured,
    )
