"""The harness run the evaluation gate judges: base, base + RAG, the candidate with
and without RAG, and the champion + RAG, all on the same queries.

The knowledge gap that triggered a retrain is judged on its own slice too: its
queries are always added to the (sampled) eval set, and the slice's report is cut
from the same answers instead of generating them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet, load_beir
from ragtune.tasks.evaluation.harness import (
    HarnessConfig,
    run_harness,
    sample_queries,
)
from ragtune.tasks.evaluation.harness_report import ConfigResult, HarnessReport
from ragtune.tasks.evaluation.run import live_retriever, load_prompts
from ragtune.tasks.generation.factory import build_generator, generation_params
from ragtune.tasks.promotion.eval_gate import BASE_RAG, CHAMPION_RAG

if TYPE_CHECKING:
    from ragtune.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnowledgeGap:
    """The eval slice of the gap that triggered a retrain: queries of these
    freshness classes, or these query ids (either may be empty), of the project's
    eval set or of the gap's own ``eval_set`` (all of it when both are empty);
    ``metric`` is what the gate compares on the slice (default: the gate's)."""

    classes: tuple[str, ...] = ()
    query_ids: tuple[str, ...] = ()
    name: str = "gap"
    eval_set: Path | None = None
    metric: str | None = None

    def matches(self, query: EvalQuery) -> bool:
        if self.eval_set is not None and not self.classes and not self.query_ids:
            return True
        cls = query.metadata.get("class", query.extra.get("class"))
        return cls in self.classes or query.qid in self.query_ids


@dataclass(frozen=True)
class GateReports:
    """The full report and, with a gap, the report of its slice."""

    full: HarnessReport
    gap: HarnessReport | None = None
    gap_name: str | None = None


def gate_configs(price: str | None, has_champion: bool) -> list[HarnessConfig]:
    configs = [
        HarnessConfig("base", "base", rag=False, price=price),
        HarnessConfig(BASE_RAG, "base", rag=True, price=price),
        HarnessConfig("fine-tuned", "fine-tuned", rag=False, price=price),
        HarnessConfig("fine-tuned+rag", "fine-tuned", rag=True, price=price),
    ]
    if has_champion:
        configs.append(HarnessConfig(CHAMPION_RAG, "champion", rag=True, price=price))
    return configs


def gate_queries(
    evalset: EvalSet, limit: int | None, seed: int, gap: KnowledgeGap | None
) -> EvalSet:
    """The seeded sample plus every gap query, in set order.

    Raises:
        InputError: a gap that selects no query of the eval set.
    """
    picked = {q.qid for q in sample_queries(evalset, limit, seed)}
    if gap is not None:
        wanted = {q.qid for q in evalset.queries if gap.matches(q)}
        if not wanted:
            raise InputError(
                f"knowledge gap {gap.name!r} (classes {list(gap.classes)}, "
                f"queries {list(gap.query_ids)}) selects no eval query"
            )
        picked |= wanted
    queries = tuple(q for q in evalset.queries if q.qid in picked)
    return replace(evalset, queries=queries)


def slice_report(
    report: HarnessReport, qids: Sequence[str], settings: Settings
) -> HarnessReport:
    """The same answers restricted to ``qids`` (figures recomputed on the slice)."""
    keep = set(qids)
    configs = tuple(
        ConfigResult.from_records(
            c.name,
            c.generator,
            c.price,
            [r for r in c.records if r.qid in keep],
            c.retrieval,
            settings.evaluation,
            rag=c.rag,
        )  # fmt: skip
        for c in report.configs
    )
    return replace(
        report,
        qids=tuple(q for q in report.qids if q in keep),
        configs=configs,
        comparisons=(),
    )


def evaluate_candidate(
    settings: Settings,
    adapter: Path,
    champion_adapter: Path | None,
    limit: int | None = None,
    gap: KnowledgeGap | None = None,
) -> GateReports:
    """Run the gate's configurations on the eval set (and the gap's slice)."""
    gen = settings.generation
    price = "tiny" if gen.provider == "tiny" else gen.model
    configs = gate_configs(price, champion_adapter is not None)
    evalset = load_beir(settings.path(settings.data.eval_path), "test")
    own = gap is not None and gap.eval_set is not None
    queries = gate_queries(
        evalset, limit, settings.evaluation.seed, None if own else gap
    )
    variants = {"base": None, "fine-tuned": adapter, "champion": champion_adapter}
    generators = {
        key: build_generator(
            gen.model_copy(update={"adapter": path}),
            settings.training,
            root=settings.root,
        )
        for key, path in variants.items()
        if key != "champion" or path is not None
    }
    retriever = live_retriever(settings)
    prompts, params = load_prompts(settings), generation_params(gen)

    def harness(which: EvalSet) -> HarnessReport:
        return run_harness(
            configs,
            which,
            retriever,
            generators,
            settings.evaluation.prices,
            cfg=settings.evaluation.model_copy(update={"limit": None}),
            prompts=prompts,
            params=params,
        )

    report = harness(queries)
    if gap is None:
        return GateReports(report)
    if gap.eval_set is not None:  # the gap's own questions, answered apart
        own_set = load_beir(gap.eval_set, "test")
        picked = tuple(q for q in own_set.queries if gap.matches(q))
        if not picked:
            raise InputError(
                f"knowledge gap {gap.name!r} selects no query of {gap.eval_set}"
            )
        log.info("knowledge gap %s: %d queries of its own set", gap.name, len(picked))
        return GateReports(report, harness(replace(own_set, queries=picked)), gap.name)
    qids = [q.qid for q in queries.queries if gap.matches(q)]
    log.info("knowledge gap %s: %d queries", gap.name, len(qids))
    return GateReports(report, slice_report(report, qids, settings), gap.name)
