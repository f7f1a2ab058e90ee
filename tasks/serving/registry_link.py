"""The registry callback ``ragtune serve`` polls: the MLflow champion, as a
``Champion`` with a local adapter folder.

Promotions and rollbacks move the ``champion`` alias; the server's poller (or
``POST /admin/reload``) calls this and the resolver loads the new adapter without
a restart. Until the registry exists (no database yet, no server configured) the
base model serves, exactly as with ``no_champion``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ragtune.tasks.registry.lookup import local_adapter, registry_exists
from ragtune.tasks.serving.resolver import Champion, RegistryCallback

if TYPE_CHECKING:
    from ragtune.settings import Settings

log = logging.getLogger(__name__)


def registry_callback(settings: Settings) -> RegistryCallback:
    """A callback returning the champion (None: base model), registry built once."""
    state: dict[str, object] = {}

    def champion() -> Champion | None:
        if not registry_exists(settings):
            return None
        from ragtune.tasks.registry.registry import ModelRegistry

        registry = state.get("registry")
        if registry is None:
            registry = state["registry"] = ModelRegistry.from_settings(settings)
        info = registry.champion()  # type: ignore[attr-defined]
        if info is None:
            return None
        local = local_adapter(settings, registry, info)  # type: ignore[arg-type]
        return Champion(info.name, str(info.version), str(local))

    return champion
