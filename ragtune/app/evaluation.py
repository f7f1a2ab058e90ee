"""The evaluation harness wired from params.yaml: eval set, index, generators, prompts.

Shared by ``ragtune eval`` and the flow that publishes the ``eval-report``
artifact, so both evaluate exactly the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.app.catalog import Catalog
from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import load_beir
from ragtune.tasks.evaluation.harness import (
    HarnessConfig,
    Prompts,
    Retriever,
    run_harness,
    standard_configs,
)
from ragtune.tasks.evaluation.harness_report import HarnessReport
from ragtune.tasks.generation.base import Generator
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.generation.factory import (
    SecretResolver,
    build_generator,
    generation_params,
)
from ragtune.tasks.generation.prompts import PromptTemplate

if TYPE_CHECKING:
    from ragtune.app.settings import Settings

log = logging.getLogger(__name__)


def select_configs(
    settings: Settings, adapter: Path | None, names: Sequence[str] | None
) -> list[HarnessConfig]:
    """The standard configurations (fine-tuned ones only with an adapter), or the
    ones named; an unknown or unavailable name is an error that lists the choices."""
    configs = standard_configs(
        fine_tuned=adapter is not None, price=price_key(settings.generation)
    )
    if not names:
        return configs
    known = {c.name: c for c in configs}
    unknown = [n for n in names if n not in known]
    if unknown:
        hint = "" if adapter else " (fine-tuned configurations need an adapter)"
        raise InputError(
            f"unknown configuration(s) {', '.join(unknown)}; choose from "
            f"{', '.join(known)}{hint}"
        )
    return [known[n] for n in dict.fromkeys(names)]


def fine_tuned_adapter(settings: Settings, model: str | None) -> Path | None:
    """``generation.adapter``, the named registry version, or the champion."""
    from ragtune.tasks.registry.lookup import CHAMPION, registered_adapter

    gen = settings.generation
    if model is None and gen.adapter is not None:
        return settings.path(gen.adapter)
    catalog = Catalog.from_settings(settings)
    found = registered_adapter(
        catalog.open_registry(),
        catalog.adapter_cache,
        model or CHAMPION,
        required=model is not None,
    )
    if found is None:
        return None
    info, folder = found
    log.info("fine-tuned configurations use %s version %s", info.name, info.version)
    return folder


def price_key(gen: GenerationConfig) -> str | None:
    """The ``evaluation.prices`` entry that costs this generator's answers."""
    return "tiny" if gen.provider == "tiny" else gen.model


def check_eval_request(
    settings: Settings,
    *,
    config_names: Sequence[str] | None = None,
    adapter: Path | None = None,
    eval_path: Path | None = None,
    split: str = "test",
    model: str | None = None,
) -> None:
    """The checks that load no model, run by the CLI before Prefect starts (a
    flow run costs seconds before its first step; :func:`evaluate` finds the
    same problems again for runs started elsewhere).

    Whether a fine-tuned configuration has an adapter is settled here only when
    no registry exists; otherwise the registry is read once, by the run.

    Raises:
        InputError: a missing adapter folder or eval set, a bad qrels split, an
            unknown configuration, a model that is neither "champion" nor a
            version, or a RAG configuration with no live index.
    """
    from ragtune.tasks.registry.lookup import check_model_name

    if adapter is not None and not adapter.is_dir():
        raise InputError(f"--adapter {adapter}: no such adapter folder")
    if model is not None:
        check_model_name(model)
    load_beir(eval_path or settings.path(settings.data.eval_path), split)
    every = {c.name: c for c in standard_configs(fine_tuned=True)}
    unknown = [n for n in config_names or () if n not in every]
    if unknown:
        raise InputError(
            f"unknown configuration(s) {', '.join(unknown)}; choose from "
            f"{', '.join(every)}"
        )
    catalog = Catalog.from_settings(settings)
    no_adapter = adapter is None and settings.generation.adapter is None
    if no_adapter and not catalog.registry_exists():  # nothing to read or download
        select_configs(settings, fine_tuned_adapter(settings, model), config_names)
    names = config_names or list(every)
    if any(every[n].rag for n in names) and catalog.index.open_live() is None:
        raise InputError(NO_LIVE_INDEX)


NO_LIVE_INDEX = (
    "no live index yet: run `ragtune refresh` first, or evaluate prompting "
    "only with --config base"
)


def live_retriever(settings: Settings) -> Retriever:
    """Hybrid search with full chunk texts on the live index."""
    from ragtune.tasks.embedding.embedder import build_embedder
    from ragtune.tasks.index.retrieval import index_retriever

    table = Catalog.from_settings(settings).index.open_live()
    if table is None:
        raise InputError(NO_LIVE_INDEX)
    embedder = build_embedder(settings.embedding)
    return index_retriever(
        table, embedder, settings.evaluation.search_k, settings.index
    )


def load_prompts(settings: Settings) -> Prompts:
    """The two prompt templates named in the ``generation`` section."""
    gen = settings.generation
    return Prompts(
        with_context=PromptTemplate.load(settings.path(gen.prompt_template)),
        without_context=PromptTemplate.load(
            settings.path(gen.prompt_template_no_context)
        ),
        max_context_chars=gen.max_context_chars,
    )


def build_generators(
    settings: Settings,
    configs: Sequence[HarnessConfig],
    adapter: Path | None,
    secret_resolver: SecretResolver | None = None,
) -> dict[str, Generator]:
    """One generator per key the configurations use: the base model, and the same
    model with the adapter for the fine-tuned ones."""
    wanted = {c.generator for c in configs}
    variants = {"base": None, "fine-tuned": adapter}
    return {
        key: build_generator(
            settings.generation.model_copy(update={"adapter": variants[key]}),
            settings.training,
            root=settings.root,
            secret_resolver=secret_resolver,
        )
        for key in variants
        if key in wanted
    }


def evaluate(
    settings: Settings,
    *,
    config_names: Sequence[str] | None = None,
    limit: int | None = None,
    adapter: Path | None = None,
    eval_path: Path | None = None,
    split: str = "test",
    model: str | None = None,
    secret_resolver: SecretResolver | None = None,
    on_answer: Callable[[str, str], None] | None = None,
) -> HarnessReport:
    """Run the harness as params.yaml describes.

    Args:
        settings: Loaded params.yaml.
        config_names: Configurations to run (default: all that apply).
        limit: Seeded sample size (default ``evaluation.limit``: all queries).
        adapter: LoRA adapter folder; default ``generation.adapter``, else the
            registry's ``model`` version, else its champion when there is one.
            With an adapter the fine-tuned configurations run too.
        eval_path: BEIR folder; default ``data.eval_path``.
        split: Which qrels split to score against.
        model: Registry version (or "champion") whose adapter is fine-tuned.
        secret_resolver: Reads a Prefect Secret block (OpenAI-compatible key).
        on_answer: Progress callback (configuration, qid).
    """
    gen = settings.generation
    adapter = adapter or fine_tuned_adapter(settings, model)
    configs = select_configs(settings, adapter, config_names)
    evalset = load_beir(eval_path or settings.path(settings.data.eval_path), split)
    prompts = load_prompts(settings)
    retrieve = live_retriever(settings) if any(c.rag for c in configs) else None
    generators = build_generators(settings, configs, adapter, secret_resolver)
    return run_harness(
        configs,
        evalset,
        retrieve,
        generators,
        settings.evaluation.prices,
        cfg=settings.evaluation,
        prompts=prompts,
        params=generation_params(gen),
        limit=limit,
        on_answer=on_answer,
    )
