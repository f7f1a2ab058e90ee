"""Finding a registered adapter on this machine: the champion or a named version.

Evaluation and serving both turn a registry entry into a local adapter folder
(downloaded into the state folder's cache when the registry is remote); this is
the one place that does it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ragtune.errors import InputError

if TYPE_CHECKING:
    from ragtune.settings import Settings
    from ragtune.tasks.registry.models import ModelVersionInfo
    from ragtune.tasks.registry.registry import ModelRegistry

log = logging.getLogger(__name__)
CHAMPION = "champion"


def registry_exists(settings: Settings) -> bool:
    """A configured MLflow server, or a local registry database already written."""
    if settings.registry.tracking_uri or settings.registry.registry_uri:
        return True
    return (settings.path(settings.project.state_dir) / "mlflow.db").is_file()


def local_adapter(
    settings: Settings, registry: ModelRegistry, info: ModelVersionInfo
) -> Path:
    """The version's adapter folder on this machine (fetched once into the cache)."""
    from ragtune.tasks.promotion.adapters import adapter_path

    cache = settings.path(settings.project.state_dir) / "adapters"
    return adapter_path(info.adapter_uri, Path(cache), registry.store.tracking_uri)


def registered_adapter(
    settings: Settings, which: str = CHAMPION, *, required: bool = True
) -> tuple[ModelVersionInfo, Path] | None:
    """The champion's (or version ``which``'s) entry and local adapter folder.

    Args:
        settings: Loaded params.yaml.
        which: "champion" or a version number.
        required: Raise instead of returning None when there is no such model.

    Raises:
        InputError: ``which`` is neither "champion" nor a number, or (when
            ``required``) the registry has no champion or no such version.
    """
    if which != CHAMPION and not which.isdigit():
        raise InputError(f"model {which!r}: give 'champion' or a version number")
    if not registry_exists(settings):
        if required:
            raise InputError("no model registry yet: run `ragtune retrain` first")
        return None
    from ragtune.tasks.registry.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings)
    info = registry.champion() if which == CHAMPION else _version(registry, int(which))
    if info is None:
        if required:
            raise InputError(
                "the registry has no champion yet; name a candidate version "
                "(`ragtune model list`)"
            )
        return None
    return info, local_adapter(settings, registry, info)


def _version(registry: ModelRegistry, version: int) -> ModelVersionInfo:
    known = {v.version: v for v in registry.list_versions()}
    if version not in known:
        listed = ", ".join(map(str, sorted(known))) or "none"
        raise InputError(
            f"model version {version} not in the registry (versions: {listed})"
        )
    return known[version]


def gap_candidate(settings: Settings, gap: str) -> tuple[ModelVersionInfo, Path] | None:
    """The newest version trained for knowledge gap ``gap`` that no gate rejected
    (the champion first, when it was trained for that gap), with its local adapter;
    None when there is none or no registry yet."""
    if not registry_exists(settings):
        return None
    from ragtune.tasks.registry.registry import ModelRegistry

    registry = ModelRegistry.from_settings(settings)
    champion = registry.champion()
    if champion is not None and champion.gap == gap:
        return champion, local_adapter(settings, registry, champion)
    found = [
        v for v in registry.list_versions() if v.gap == gap and v.status != "rejected"
    ]
    if not found:
        return None
    newest = max(found, key=lambda v: v.version)
    return newest, local_adapter(settings, registry, newest)
