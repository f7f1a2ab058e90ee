"""``ragtune serve`` wired from params.yaml: the runtime's parts (keys, embedder,
live index, model resolver with the registry's champion, logs) and the app.

``build_runtime`` takes the embedder, generator loader and registry callback as
arguments so a caller (a test) can supply real alternatives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ragtune.app.catalog import Catalog
from ragtune.app.secrets import project_key
from ragtune.app.settings import Settings
from ragtune.tasks.embedding.embedder import Embedder, build_embedder
from ragtune.tasks.generation.base import Generator
from ragtune.tasks.generation.factory import SecretResolver, build_generator
from ragtune.tasks.generation.prompts import PromptTemplate
from ragtune.tasks.registry.lookup import local_adapter
from ragtune.tasks.registry.registry import ModelRegistry
from ragtune.tasks.serving.app import build_app
from ragtune.tasks.serving.auth import Authenticator
from ragtune.tasks.serving.chat import ChatService
from ragtune.tasks.serving.output_filter import OutputFilter
from ragtune.tasks.serving.ratelimit import RateLimiter
from ragtune.tasks.serving.records import JsonlLog, Recorder
from ragtune.tasks.serving.resolver import (
    Champion,
    GeneratorLoader,
    ModelResolver,
    RegistryCallback,
)
from ragtune.tasks.serving.retrieval import LiveIndex
from ragtune.tasks.serving.runtime import Runtime


def create_app(settings: Settings, **runtime_parts: Any) -> FastAPI:
    """The app for ``settings``; ``runtime_parts`` go to ``build_runtime``
    (``embedder``, ``loader``, ``registry``, ``environ``, ``secret_resolver``,
    ``insecure_local``)."""
    runtime = build_runtime(settings, **runtime_parts)
    return build_app(runtime, settings.serving.poll_interval_s)


def default_loader(
    settings: Settings, secret_resolver: SecretResolver | None = None
) -> GeneratorLoader:
    """Builds the configured generator, with the champion's adapter when there is
    one (the configured base model and adapter otherwise)."""

    def load(champion: Champion | None) -> Generator:
        cfg = settings.generation
        if champion is not None:
            cfg = cfg.model_copy(update={"adapter": Path(champion.adapter_path)})
        return build_generator(
            cfg, settings.training, root=settings.root, secret_resolver=secret_resolver
        )

    return load


def build_runtime(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    loader: GeneratorLoader | None = None,
    registry: RegistryCallback | None = None,
    environ: Mapping[str, str] | None = None,
    secret_resolver: SecretResolver | None = None,
    insecure_local: bool = False,
) -> Runtime:
    """Wire the parts; nothing is loaded yet (the poller does that).

    ``insecure_local`` serves without keys (the CLI allows it on loopback only).

    ``registry`` defaults to the MLflow champion (``registry_link``), so a
    promotion or rollback is served after the next poll or ``/admin/reload``.

    Raises:
        ConfigError: bearer keys required but not set, or a bad prompt template.
    """
    cfg = settings.serving
    catalog = Catalog.from_settings(settings)
    state_dir = catalog.state_dir
    pseudonyms = pseudonym_key(state_dir) if cfg.pseudonymise_users else None
    auth = (
        Authenticator.insecure_local(pseudonyms)
        if insecure_local
        else Authenticator.from_env(
            cfg.api_keys_env,
            os.environ if environ is None else environ,
            pseudonyms,
            cfg.admin_keys_env,
        )
    )
    template = PromptTemplate.load(settings.path(settings.generation.prompt_template))
    embedder = embedder or build_embedder(settings.embedding)
    index = LiveIndex(
        catalog.index.uri,
        settings.index,
        embedder,
        known_classes=settings.freshness.classes,
    )
    resolver = ModelResolver(
        loader or default_loader(settings, secret_resolver),
        registry or registry_callback(catalog),
    )
    audit = catalog.audit()
    query_log = JsonlLog(settings.path(cfg.query_log or state_dir / "query_log.jsonl"))
    output_filter = OutputFilter(cfg.deny_terms, cfg.pii_kinds)
    question_filter = OutputFilter(cfg.deny_terms, cfg.query_log_pii_kinds)
    recorder = Recorder(audit, query_log, cfg.min_source_score, question_filter)
    chat = ChatService(
        cfg, settings.generation, template, index, resolver, recorder, output_filter
    )
    feedback = JsonlLog(settings.path(cfg.feedback_log or state_dir / "feedback.jsonl"))
    return Runtime(
        auth, embedder, index, resolver, chat, audit, feedback, query_log,
        RateLimiter(cfg.rate_limit_per_minute),
    )  # fmt: skip


def registry_callback(catalog: Catalog) -> RegistryCallback:
    """The champion (None: base model) with a local adapter folder, for the
    server's poller; the registry is opened once it exists.

    Promotions and rollbacks move the ``champion`` alias; the poller (or
    ``POST /admin/reload``) calls this and the resolver loads the new adapter
    without a restart. Until the registry exists (no database yet, no server
    configured) the base model serves, exactly as with ``no_champion``.
    """
    state: dict[str, ModelRegistry] = {}

    def champion() -> Champion | None:
        if "registry" not in state:
            opened = catalog.open_registry()
            if opened is None:
                return None
            state["registry"] = opened
        registry = state["registry"]
        info = registry.champion()
        if info is None:
            return None
        local = local_adapter(registry, info, catalog.adapter_cache)
        return Champion(info.name, str(info.version), str(local))

    return champion


def pseudonym_key(state_dir: Path) -> bytes:
    """The project's key for caller pseudonyms (see ``project_key``); delete it to
    unlink every pseudonym the logs hold."""
    return project_key(state_dir, "user-pseudonym")
