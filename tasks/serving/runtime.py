"""The server's long-lived parts, built once from settings, and the poller that
keeps model and index current.

``build_runtime`` takes the embedder, generator loader and registry callback as
arguments so a caller (a test, a later registry issue) can supply real
alternatives without the app reaching into globals.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ragtune.audit import AuditLog
from ragtune.settings import Settings
from ragtune.tasks.embedding.embedder import Embedder, build_embedder
from ragtune.tasks.generation.base import Generator
from ragtune.tasks.generation.factory import SecretResolver, build_generator
from ragtune.tasks.generation.prompts import PromptTemplate
from ragtune.tasks.serving.auth import Authenticator
from ragtune.tasks.serving.chat import ChatService
from ragtune.tasks.serving.output_filter import OutputFilter
from ragtune.tasks.serving.records import JsonlLog, Recorder
from ragtune.tasks.serving.registry_link import registry_callback
from ragtune.tasks.serving.resolver import (
    Champion,
    GeneratorLoader,
    ModelResolver,
    RegistryCallback,
)
from ragtune.tasks.serving.retrieval import LiveIndex

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a request handler needs."""

    settings: Settings
    auth: Authenticator
    embedder: Embedder
    index: LiveIndex
    resolver: ModelResolver
    chat: ChatService
    audit: AuditLog
    feedback_log: JsonlLog
    query_log: JsonlLog

    def refresh(self) -> tuple[bool, bool]:
        """Check registry and live tag once; (model changed, index changed)."""
        model_changed = self.resolver.refresh()
        try:
            index_changed = self.index.refresh()
        except Exception:  # noqa: BLE001 - a storage hiccup must not stop serving
            log.exception("checking the live index failed; keeping the current one")
            index_changed = False
        return model_changed, index_changed


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
) -> Runtime:
    """Wire the parts; nothing is loaded yet (the poller does that).

    ``registry`` defaults to the MLflow champion (``registry_link``), so a
    promotion or rollback is served after the next poll or ``/admin/reload``.

    Raises:
        ConfigError: bearer keys required but not set, or a bad prompt template.
    """
    cfg = settings.serving
    state_dir = settings.path(settings.project.state_dir)
    auth = Authenticator.from_env(
        cfg.api_keys_env, os.environ if environ is None else environ
    )
    template = PromptTemplate.load(settings.path(settings.generation.prompt_template))
    embedder = embedder or build_embedder(settings.embedding)
    index = LiveIndex(
        settings.uri(settings.index.uri),
        settings.index,
        embedder,
        known_classes=settings.freshness.classes,
    )
    resolver = ModelResolver(
        loader or default_loader(settings, secret_resolver),
        registry or registry_callback(settings),
    )
    audit = AuditLog(settings.path(settings.project.audit_log))
    query_log = JsonlLog(settings.path(cfg.query_log or state_dir / "query_log.jsonl"))
    output_filter = OutputFilter(cfg.deny_terms, cfg.pii_kinds)
    recorder = Recorder(audit, query_log, cfg.min_source_score, output_filter)
    chat = ChatService(
        cfg, settings.generation, template, index, resolver, recorder, output_filter
    )
    feedback = JsonlLog(settings.path(cfg.feedback_log or state_dir / "feedback.jsonl"))
    return Runtime(
        settings, auth, embedder, index, resolver, chat, audit, feedback, query_log
    )


class Poller:
    """A daemon thread: refresh at once (first load), then every ``interval`` s."""

    def __init__(self, runtime: Runtime, interval: float) -> None:
        self._runtime, self._interval = runtime, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="ragtune-serve-poller", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._runtime.refresh()
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("serving refresh failed")
            if self._interval <= 0:
                return
            self._stop.wait(self._interval)
