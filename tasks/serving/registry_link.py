"""The registry callback ``ragtune serve`` polls: the MLflow champion, as a
``Champion`` with a local adapter folder.

Promotions and rollbacks move the ``champion`` alias; the server's poller (or
``POST /admin/reload``) calls this and the resolver loads the new adapter without
a restart. Until the registry exists (no database yet, no server configured) the
base model serves, exactly as with ``no_champion``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.tasks.serving.resolver import Champion, RegistryCallback

if TYPE_CHECKING:
    from ragtune.settings import Settings

log = logging.getLogger(__name__)


def _registry_exists(settings: Settings) -> bool:
    if settings.registry.tracking_uri or settings.registry.registry_uri:
        return True  # a configured MLflow server: always ask it
    return (settings.path(settings.project.state_dir) / "mlflow.db").is_file()


def registry_callback(settings: Settings) -> RegistryCallback:
    """A callback returning the champion (None: base model), registry built once."""
    state: dict[str, object] = {}

    def champion() -> Champion | None:
        if not _registry_exists(settings):
            return None
        from ragtune.tasks.promotion.adapters import adapter_path
        from ragtune.tasks.registry.registry import ModelRegistry

        registry = state.get("registry")
        if registry is None:
            registry = state["registry"] = ModelRegistry.from_settings(settings)
        info = registry.champion()  # type: ignore[attr-defined]
        if info is None:
            return None
        cache = settings.path(settings.project.state_dir) / "adapters"
        local = adapter_path(
            info.adapter_uri,
            Path(cache),
            registry.store.tracking_uri,  # type: ignore[attr-defined]
        )
        return Champion(info.name, str(info.version), str(local))

    return champion
