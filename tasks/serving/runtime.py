"""The server's long-lived parts and the poller that keeps model and index current.

``ragtune.app.serving.build_runtime`` wires them from params.yaml; it takes the
embedder, generator loader and registry callback as arguments so a caller (a
test) can supply real alternatives without the app reaching into globals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from ragtune.audit import AuditLog
from ragtune.tasks.embedding.embedder import Embedder
from ragtune.tasks.serving.auth import Authenticator, Caller
from ragtune.tasks.serving.chat import ChatService
from ragtune.tasks.serving.ratelimit import RateLimiter
from ragtune.tasks.serving.records import JsonlLog
from ragtune.tasks.serving.resolver import (
    ModelResolver,
)
from ragtune.tasks.serving.retrieval import LiveIndex

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a request handler needs."""

    auth: Authenticator
    embedder: Embedder
    index: LiveIndex
    resolver: ModelResolver
    chat: ChatService
    audit: AuditLog
    feedback_log: JsonlLog
    query_log: JsonlLog
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))

    def admit(self, headers: Mapping[str, str]) -> Caller:
        """The caller, once its key is known and within its rate limit.

        Raises:
            ApiError: 401 (key), 400 (X-User) or 429 (rate limit).
        """
        caller = self.auth.identify(headers)
        self.limiter.take(caller.api_key_id)
        return caller

    def refresh(self) -> tuple[bool, bool]:
        """Check registry and live tag once; (model changed, index changed)."""
        model_changed = self.resolver.refresh()
        try:
            index_changed = self.index.refresh()
        except Exception:  # noqa: BLE001 - a storage hiccup must not stop serving
            log.exception("checking the live index failed; keeping the current one")
            index_changed = False
        return model_changed, index_changed


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
