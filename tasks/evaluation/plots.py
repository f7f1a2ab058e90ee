"""PNG charts of a harness report: metric per configuration with interval error
bars, and cost against accuracy.

Figures are built with matplotlib's object API (``Figure``), never pyplot: no GUI
backend, no global state, safe in worker threads and on headless servers.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from ragtune.tasks.evaluation.harness_report import HarnessReport

log = logging.getLogger(__name__)

ANSWER_METRICS = ("exact_match", "token_f1", "format_ok", "citation_ok")
_LABELS = {
    "exact_match": "exact match",
    "token_f1": "token F1",
    "format_ok": "format",
    "citation_ok": "citations",
}
DPI = 110


def plot_report(report: HarnessReport, out_dir: Path) -> list[Path]:
    """Write ``metrics.png`` and ``cost_accuracy.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        _metrics_chart(report, out_dir / "metrics.png"),
        _cost_chart(report, out_dir / "cost_accuracy.png"),
    ]
    log.info("eval charts written: %s", ", ".join(str(p) for p in paths))
    return paths


def _metrics_chart(report: HarnessReport, path: Path) -> Path:
    """Grouped bars: one group per answer metric, one bar per configuration."""
    metrics = [m for m in ANSWER_METRICS if any(c.answers[m].n for c in report.configs)]
    fig = Figure(figsize=(max(6.0, 1.8 * len(metrics) + 2), 4.2), dpi=DPI)
    ax = fig.subplots()
    width = 0.8 / max(1, len(report.configs))
    for i, config in enumerate(report.configs):
        xs, means, errs = [], [], ([], [])
        for j, metric in enumerate(metrics):
            ci = config.answers[metric]
            if ci.n == 0:
                continue  # not applicable to this configuration (e.g. no RAG)
            xs.append(j + (i - (len(report.configs) - 1) / 2) * width)
            means.append(ci.mean)
            errs[0].append(max(0.0, ci.mean - ci.ci_low))
            errs[1].append(max(0.0, ci.ci_high - ci.mean))
        ax.bar(xs, means, width, yerr=errs, capsize=3, label=config.name)
    ax.set_xticks(range(len(metrics)), [_LABELS[m] for m in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean per query")
    conf = round(100 * report.meta.get("confidence", 0.95))
    ax.set_title(f"{report.evalset}: {len(report.qids)} queries ({conf}% CI)")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _cost_chart(report: HarnessReport, path: Path) -> Path:
    """Cost per 1,000 queries against the primary metric; unpriced ones at 0."""
    metric = report.meta.get("primary_metric", "token_f1")
    fig = Figure(figsize=(6.0, 4.2), dpi=DPI)
    ax = fig.subplots()
    for config in report.configs:
        ci = config.answers[metric]
        if ci.n == 0 or not math.isfinite(ci.mean):
            continue
        cost = config.cost_per_1k_queries
        x = 0.0 if cost is None else cost
        yerr = [[max(0.0, ci.mean - ci.ci_low)], [max(0.0, ci.ci_high - ci.mean)]]
        ax.errorbar([x], [ci.mean], yerr=yerr, fmt="o", capsize=4, label=config.name)
        note = config.name if cost is not None else f"{config.name} (no price)"
        ax.annotate(note, (x, ci.mean), textcoords="offset points", xytext=(6, 6))
    ax.set_xlabel("cost per 1,000 queries (USD)")
    ax.set_ylabel(_LABELS.get(metric, metric))
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("cost vs accuracy")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
