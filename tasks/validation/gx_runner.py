"""Great Expectations plumbing: one context per call, suites synced from code,
one validation per suite, failing rows mapped back to ragtune checks.

A file context keeps suites and validation definitions under ``gx_root`` (in git)
and results and Data Docs under ``gx_root/uncommitted`` (ignored). Objects are
fetched before they are written, so a rerun leaves the committed files as they
were; an ephemeral context (``gx_root=None``) writes nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.exceptions import DataContextError

from ragtune.tasks.validation.checks import Check, SuiteSpec
from ragtune.tasks.validation.models import ExpectationSummary
from ragtune.tasks.validation.suites import ALL_SUITES

log = logging.getLogger(__name__)

DATASOURCE = "ragtune"
BATCH_DEFINITION = "whole-frame"
ID_KEYS = frozenset({"id"})


@dataclass(frozen=True)
class CheckOutcome:
    """One check's summary and the failing rows (index columns + checked value)."""

    check: Check
    summary: ExpectationSummary
    rows: tuple[dict[str, Any], ...]


def open_context(gx_root: Path | None) -> Any:
    """A file context rooted at ``gx_root`` (created if new), or an ephemeral one."""
    if gx_root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", context_root_dir=str(gx_root))
    # Progress bars would write to stderr on every run of a CLI that promises
    # clean output; the setting is stored once in great_expectations.yml.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def suite_signature(suite: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A suite's expectations as JSON, without the ids GX assigns on save."""
    return [
        {k: v for k, v in exp.items() if k not in ID_KEYS and k != "rendered_content"}
        for exp in suite["expectations"]
    ]


def sync_suite(context: Any, spec: SuiteSpec) -> gx.ExpectationSuite:
    """Store ``spec``'s suite unless an identical one is already stored."""
    wanted = spec.build()
    try:
        stored = context.suites.get(spec.name)
    except DataContextError:
        log.info("creating expectation suite %s", spec.name)
        return context.suites.add(wanted)
    if suite_signature(stored.to_json_dict()) == suite_signature(wanted.to_json_dict()):
        return stored
    log.info("updating expectation suite %s from code", spec.name)
    return context.suites.add_or_update(wanted)


def sync_context(gx_root: Path) -> tuple[Path, ...]:
    """Write every ragtune suite and validation definition into ``gx_root``.

    Validation runs do this on the fly; calling it up front (or after editing
    ``suites.py``) gives the files to commit without running any validation.

    Returns:
        The suite JSON files.
    """
    context = open_context(gx_root)
    for spec in ALL_SUITES:
        _validation_definition(context, spec)
    return tuple(Path(gx_root, "expectations", f"{s.name}.json") for s in ALL_SUITES)


def _batch_definition(context: Any, asset_name: str) -> Any:
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def _validation_definition(context: Any, spec: SuiteSpec) -> gx.ValidationDefinition:
    suite = sync_suite(context, spec)
    try:
        stored = context.validation_definitions.get(spec.name)
        if stored.is_fresh().success and stored.suite.id == suite.id:
            return stored
        context.validation_definitions.delete(spec.name)
    except DataContextError:
        pass
    batch = _batch_definition(context, spec.name)
    definition = gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
    return context.validation_definitions.add(definition)


def run_suite(
    context: Any, spec: SuiteSpec, frame: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[CheckOutcome, ...]:
    """Validate ``frame`` against ``spec`` (one batch) and explain every failure.

    Args:
        context: from :func:`open_context`.
        spec: the suite to run.
        frame: one row per record; must hold every column the suite checks.
        params: values for the suite's ``$PARAMETER`` placeholders.

    Returns:
        One outcome per check, in the suite's order.
    """
    definition = _validation_definition(context, spec)
    result_format = {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": list(spec.index_columns),
    }
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(params),
        result_format=result_format,
    )
    by_name = {r.expectation_config.meta.get("check"): r for r in result.results}
    return tuple(_outcome(check, by_name.get(check.name)) for check in spec.checks)


def _outcome(check: Check, result: Any) -> CheckOutcome:
    kind = check.kind.__name__
    if result is None:
        summary = ExpectationSummary(
            check.name, kind, check.column, False, 0, "no result"
        )
        return CheckOutcome(check, summary, ())
    body = result.to_json_dict()
    details = body.get("result") or {}
    rows = tuple(details.get("unexpected_index_list") or ())
    error = _error_message(body.get("exception_info") or {})
    summary = ExpectationSummary(
        name=check.name,
        expectation=result.expectation_config.type,
        column=check.column,
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        error=error,
    )
    if error:
        log.error("expectation %s could not be evaluated: %s", check.name, error)
    return CheckOutcome(check, summary, tuple(r for r in rows if isinstance(r, dict)))


def _error_message(info: Mapping[str, Any]) -> str | None:
    # GX reports either one flat record or one record per failed metric.
    records = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(r.get("exception_message"))
        for r in records
        if isinstance(r, Mapping) and r.get("raised_exception")
    ]
    return "; ".join(messages) or None


def build_data_docs(context: Any) -> str | None:
    """Render the local Data Docs site; returns its index.html path, if any."""
    context.build_data_docs()
    for site in context.get_docs_sites_urls():
        url = site.get("site_url") or ""
        if url.startswith("file://"):
            return url[len("file://") :]
    return None
