"""Which model answers: the promoted champion, or the base model when none is.

The registry is consulted through a callback so serving does not depend on how
promotion is stored (MLflow aliases arrive in a later issue; until then the
default callback says "no champion"). ``refresh`` swaps models without a restart:
the new one is loaded first and replaces the old in one assignment, so requests
in flight finish on the model they started with, and a load that fails keeps
the current model serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ragtune.tasks.generation.base import Generator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Champion:
    """A promoted adapter: registry name and version, and where its weights are."""

    name: str
    version: str
    adapter_path: str


@dataclass(frozen=True)
class LoadedModel:
    """A ready generator and what it is, for audit records and ``/v1/models``."""

    generator: Generator
    champion: Champion | None

    @property
    def adapter_version(self) -> str | None:
        return None if self.champion is None else self.champion.version


RegistryCallback = Callable[[], Champion | None]
GeneratorLoader = Callable[[Champion | None], Generator]


def no_champion() -> Champion | None:
    """The default registry: nothing promoted yet, so the base model serves."""
    return None


class ModelResolver:
    """Holds the serving model and reloads it when the registry's champion changes."""

    def __init__(
        self, load: GeneratorLoader, registry: RegistryCallback = no_champion
    ) -> None:
        self._load = load
        self._registry = registry
        self._lock = threading.Lock()
        self._current: LoadedModel | None = None
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        """The model to use now; None until the first successful load."""
        return self._current

    def refresh(self) -> bool:
        """Ask the registry; load and switch to a changed champion.

        Returns:
            True when the serving model changed.
        """
        with self._lock:
            try:
                wanted = self._registry()
            except Exception as exc:  # noqa: BLE001 - keep serving what we have
                return self._failed(f"model registry lookup failed: {exc}")
            current = self._current
            if current is not None and current.champion == wanted:
                return False
            try:
                generator = self._load(wanted)
            except Exception as exc:  # noqa: BLE001 - keep serving what we have
                what = "base model" if wanted is None else f"champion {wanted.version}"
                return self._failed(f"loading the {what} failed: {exc}")
            self._current = LoadedModel(generator, wanted)
            self.last_error = None
            log.info(
                "serving model %s (adapter %s)",
                generator.name,
                "none" if wanted is None else wanted.version,
            )
            return True

    def _failed(self, reason: str) -> bool:
        self.last_error = reason
        kept = "none loaded" if self._current is None else self._current.generator.name
        log.error("%s; still serving: %s", reason, kept)
        return False
