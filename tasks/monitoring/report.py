"""The ``drift-report`` markdown: the verdict, the windows and every detector."""

from __future__ import annotations

from ragtune.tasks.monitoring.models import DetectorResult
from ragtune.tasks.monitoring.monitor import DriftCheck

# How each detector compares its value with its threshold.
_FIRES_WHEN = {
    "query_drift": "p <",
    "topic_drift": "PSI >",
    "retrieval_drift": "drop >",
    "no_good_source": "share >",
    "satisfaction": "mean <",
}


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def render_markdown(check: DriftCheck) -> str:
    """The ``drift-report`` artifact: verdict, windows, and a table of detectors."""
    decision, inputs = check.decision, check.inputs
    verdict = (
        f"**Drift detected** by {', '.join(decision.detectors)}"
        if decision.fire
        else "No drift trigger fired."
    )
    skipped = sum(inputs.skipped_lines.values())
    lines = [
        f"# Drift report {check.checked_at:%Y-%m-%d %H:%M} UTC"
        + (" (dry run)" if check.dry_run else ""),
        "",
        verdict,
        "",
        f"- reference window: {inputs.reference.start:%Y-%m-%d %H:%M} to "
        f"{inputs.reference.end:%Y-%m-%d %H:%M}, "
        f"{len(inputs.reference_queries)} queries",
        f"- current window: {inputs.current.start:%Y-%m-%d %H:%M} to "
        f"{inputs.current.end:%Y-%m-%d %H:%M}, {len(inputs.current_queries)} "
        f"queries, {len(inputs.feedback)} ratings",
        f"- published index tags: {len(inputs.tags)}",
    ]
    if skipped:
        lines.append(f"- unreadable log lines skipped: {skipped}")
    lines += [
        "",
        "| detector | status | value | fires when | n | cooled down until | why |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        _row(r, decision.statuses[r.name], decision.reasons[r.name])
        for r in decision.results
    ]
    return "\n".join(lines) + "\n"


def _row(result: DetectorResult, status: str, reason: str) -> str:
    until = (
        result.cooled_down_until.strftime("%Y-%m-%d %H:%M")
        if result.cooled_down_until
        else ""
    )
    cells = [
        result.name,
        f"**{status}**" if status == "fires" else status,
        _figure(result.value),
        f"{_FIRES_WHEN.get(result.name, 'past')} {result.threshold:g}",
        str(result.n),
        until,
        reason.replace("|", "\\|"),
    ]
    return "| " + " | ".join(cells) + " |"
