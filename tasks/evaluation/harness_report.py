"""What the harness found: per-configuration results, paired comparisons, renderers.

The JSON form is the contract (``ragtune eval --json``, the flow artifact, the
decision framework read it); markdown and PNGs are views of the same numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ragtune.tasks.evaluation.answers import AnswerScores
from ragtune.tasks.evaluation.bootstrap import MeanCI, PairedDiff, bootstrap_mean
from ragtune.tasks.evaluation.config import EvaluationConfig

ANSWER_METRICS = ("exact_match", "token_f1", "format_ok", "citation_ok")
RETRIEVAL_METRICS = ("recall_at_k", "mrr", "ndcg_at_10")
LABELS = {
    "exact_match": "EM",
    "token_f1": "F1",
    "format_ok": "format",
    "citation_ok": "citations",
    "recall_at_k": "recall@k",
    "mrr": "MRR",
    "ndcg_at_10": "nDCG@10",
}


@dataclass(frozen=True)
class ScoredAnswer:
    """One configuration's answer to one query, with what it cost."""

    qid: str
    answer: str
    scores: AnswerScores
    sources: tuple[str, ...]
    latency_s: float
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    finish_reason: str

    def to_dict(self) -> dict[str, Any]:
        scores = asdict(self.scores)
        scores.pop("qid")
        return {
            "qid": self.qid,
            "answer": self.answer,
            **scores,
            "sources": list(self.sources),
            "latency_s": self.latency_s,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "finish_reason": self.finish_reason,
        }


@dataclass(frozen=True)
class ConfigResult:
    """One configuration's figures over the evaluated queries."""

    name: str
    generator: str
    rag: bool
    price: str | None
    answers: dict[str, MeanCI]
    retrieval: dict[str, Any] | None
    latency_p50_s: float
    latency_p95_s: float
    tokens_in_mean: float
    tokens_out_mean: float
    cost_per_1k_queries: float | None
    records: tuple[ScoredAnswer, ...] = field(default=(), repr=False)

    @classmethod
    def from_records(
        cls,
        name: str,
        generator: str,
        price: str | None,
        records: list[ScoredAnswer],
        retrieval: dict[str, Any] | None,
        cfg: EvaluationConfig,
        *,
        rag: bool,
    ) -> ConfigResult:
        """Means with bootstrap intervals, latency percentiles, tokens and cost.

        Cost is known only when every answer was priced; a partial sum would
        understate it.
        """
        answers = {
            metric: bootstrap_mean(
                [v for r in records if (v := getattr(r.scores, metric)) is not None],
                n_resamples=cfg.bootstrap_resamples,
                confidence=cfg.confidence,
                seed=cfg.seed,
            )
            for metric in ANSWER_METRICS
        }
        latencies = [r.latency_s for r in records] or [0.0]
        costs = [r.cost_usd for r in records]
        priced = bool(records) and all(c is not None for c in costs)
        return cls(
            name=name,
            generator=generator,
            rag=rag,
            price=price,
            answers=answers,
            retrieval=retrieval,
            latency_p50_s=float(np.percentile(latencies, 50)),
            latency_p95_s=float(np.percentile(latencies, 95)),
            tokens_in_mean=float(np.mean([r.tokens_in for r in records] or [0])),
            tokens_out_mean=float(np.mean([r.tokens_out for r in records] or [0])),
            cost_per_1k_queries=1000 * float(np.mean(costs)) if priced else None,
            records=tuple(records),
        )

    def per_query(self, metric: str) -> dict[str, float]:
        """``{qid: value}`` of an answer metric, for queries where it applies."""
        values = {r.qid: getattr(r.scores, metric) for r in self.records}
        return {qid: v for qid, v in values.items() if v is not None}

    def value(self, metric: str) -> float | None:
        """The set-level figure of an answer or retrieval metric (None: n/a)."""
        if metric in self.answers:
            return _finite(self.answers[metric].mean)
        if self.retrieval is not None and metric in self.retrieval:
            return float(self.retrieval[metric])
        return None

    def to_dict(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {
            name: {k: _finite(v) for k, v in asdict(ci).items()}
            for name, ci in self.answers.items()
        }
        for name in RETRIEVAL_METRICS:
            metrics[name] = None if self.retrieval is None else self.retrieval[name]
        return {
            "generator": self.generator,
            "rag": self.rag,
            "price": self.price,
            "metrics": metrics,
            "retrieval": self.retrieval,
            "latency_p50_s": self.latency_p50_s,
            "latency_p95_s": self.latency_p95_s,
            "tokens_in_mean": self.tokens_in_mean,
            "tokens_out_mean": self.tokens_out_mean,
            "cost_per_1k_queries": self.cost_per_1k_queries,
            "per_query": [r.to_dict() for r in self.records],
        }


@dataclass(frozen=True)
class HarnessReport:
    """Every configuration on the same queries, and their pairwise differences."""

    evalset: str
    split: str
    qids: tuple[str, ...]
    configs: tuple[ConfigResult, ...]
    comparisons: tuple[PairedDiff, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def config(self, name: str) -> ConfigResult:
        """The result of the configuration called ``name``."""
        for result in self.configs:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures; NaN (a metric that applied to no query) is null."""
        return {
            "evalset": self.evalset,
            "split": self.split,
            "n_queries": len(self.qids),
            "qids": list(self.qids),
            "meta": self.meta,
            "configs": {c.name: c.to_dict() for c in self.configs},
            "comparisons": [
                {k: _finite(v) for k, v in d.to_dict().items()}
                for d in self.comparisons
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, default=str)

    def to_markdown(self) -> str:
        """Tables for a Prefect artifact or a pull request: figures, then diffs."""
        conf = round(100 * self.meta.get("confidence", 0.95))
        lines = [
            f"## Evaluation on {self.evalset}/{self.split}: {len(self.qids)} queries",
            "",
            f"Means with {conf}% bootstrap intervals; retrieval at "
            f"k={self.meta.get('k', '?')}; cost in USD per 1,000 queries.",
            "",
            *_config_table(self.configs),
            "",
            f"### Paired differences (A - B, {conf}% CI)",
            "",
            "| metric | A | B | n | diff | CI | p | significant |",
            "|---|---|---|---:|---:|---|---:|---|",
        ]
        for d in self.comparisons:
            lines.append(
                f"| {LABELS.get(d.metric, d.metric)} | {d.a} | {d.b} | {d.n} | "
                f"{d.mean_diff:+.3f} | [{d.ci_low:+.3f}, {d.ci_high:+.3f}] | "
                f"{d.p_value:.3f} | {'yes' if d.significant else 'no'} |"
            )
        if not self.comparisons:
            lines.append(
                "| (fewer than two configurations: nothing to compare) |||||||"
            )
        return "\n".join(lines) + "\n"

    def plot(self, out_dir: Path | str) -> list[Path]:
        """Write the PNG charts into ``out_dir``; returns their paths."""
        from ragtune.tasks.evaluation.plots import plot_report

        return plot_report(self, Path(out_dir))

    def write(self, out_dir: Path | str) -> dict[str, Path]:
        """JSON, markdown and PNGs into ``out_dir`` (created); returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "eval-report.json", "markdown": out / "eval-report.md"}
        paths["json"].write_text(self.to_json() + "\n", encoding="utf-8")
        paths["markdown"].write_text(self.to_markdown(), encoding="utf-8")
        for png in self.plot(out):
            paths[png.stem] = png
        return paths


def _config_table(configs: tuple[ConfigResult, ...]) -> list[str]:
    answer_cols = ANSWER_METRICS
    head = [LABELS[m] for m in (*answer_cols, *RETRIEVAL_METRICS)]
    head += ["p50 s", "p95 s", "tokens in", "tokens out", "$/1k"]
    rows = [
        "| configuration | " + " | ".join(head) + " |",
        "|---|" + "---|" * len(head),
    ]
    for c in configs:
        cells = [_ci_cell(c.answers[m]) for m in answer_cols]
        cells += [_num(c.value(m)) for m in RETRIEVAL_METRICS]
        cells += [f"{c.latency_p50_s:.2f}", f"{c.latency_p95_s:.2f}"]
        cells += [f"{c.tokens_in_mean:.0f}", f"{c.tokens_out_mean:.0f}"]
        cells.append(_num(c.cost_per_1k_queries, 4))
        rows.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return rows


def _ci_cell(ci: MeanCI) -> str:
    if ci.n == 0:
        return "n/a"
    return f"{ci.mean:.3f} [{ci.ci_low:.2f}, {ci.ci_high:.2f}]"


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
