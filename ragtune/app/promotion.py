"""The evaluation gate's harness run from params.yaml: the candidate, the base
model and the champion answer the same queries on the live index."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from ragtune.app.evaluation import live_retriever, load_prompts, price_key
from ragtune.app.settings import Settings
from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import EvalSet, load_beir
from ragtune.tasks.evaluation.harness import run_harness
from ragtune.tasks.evaluation.harness_report import HarnessReport
from ragtune.tasks.generation.factory import build_generator, generation_params
from ragtune.tasks.promotion.evaluate import (
    GateReports,
    KnowledgeGap,
    gate_configs,
    gate_queries,
    slice_report,
)

log = logging.getLogger(__name__)


def evaluate_candidate(
    settings: Settings,
    adapter: Path,
    champion_adapter: Path | None,
    limit: int | None = None,
    gap: KnowledgeGap | None = None,
) -> GateReports:
    """Run the gate's configurations on the eval set (and the gap's slice)."""
    gen = settings.generation
    configs = gate_configs(price_key(gen), champion_adapter is not None)
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
    return GateReports(
        report, slice_report(report, qids, settings.evaluation), gap.name
    )
