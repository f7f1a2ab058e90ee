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
    from ragtune.tasks.registry.models import ModelVersionInfo
    from ragtune.tasks.registry.registry import ModelRegistry

log = logging.getLogger(__name__)
CHAMPION = "champion"


def check_model_name(which: str) -> None:
    """Refuse a model that is neither "champion" nor a version number (a model
    name or a path is a common slip), before any registry is opened.

    Raises:
        InputError: naming what was given and what is accepted.
    """
    if which != CHAMPION and not which.isdigit():
        raise InputError(f"model {which!r}: give 'champion' or a version number")


def local_adapter(registry: ModelRegistry, info: ModelVersionInfo, cache: Path) -> Path:
    """The version's adapter folder on this machine (fetched once into ``cache``)."""
    from ragtune.tasks.promotion.adapters import adapter_path

    return adapter_path(info.adapter_uri, Path(cache), registry.store.tracking_uri)


def registered_adapter(
    registry: ModelRegistry | None,
    cache: Path,
    which: str = CHAMPION,
    *,
    required: bool = True,
) -> tuple[ModelVersionInfo, Path] | None:
    """The champion's (or version ``which``'s) entry and local adapter folder.

    Args:
        registry: The project's registry; None when none has been written yet.
        cache: Where remote adapters are fetched to.
        which: "champion" or a version number.
        required: Raise instead of returning None when there is no such model.

    Raises:
        InputError: ``which`` is neither "champion" nor a number, or (when
            ``required``) the registry has no champion or no such version.
    """
    check_model_name(which)
    if registry is None:
        if required:
            raise InputError("no model registry yet: run `ragtune retrain` first")
        return None
    info = registry.champion() if which == CHAMPION else _version(registry, int(which))
    if info is None:
        if required:
            raise InputError(
                "the registry has no champion yet; name a candidate version "
                "(`ragtune model list`)"
            )
        return None
    return info, local_adapter(registry, info, cache)


def _version(registry: ModelRegistry, version: int) -> ModelVersionInfo:
    known = {v.version: v for v in registry.list_versions()}
    if version not in known:
        listed = ", ".join(map(str, sorted(known))) or "none"
        raise InputError(
            f"model version {version} not in the registry (versions: {listed})"
        )
    return known[version]


def gap_candidate(
    registry: ModelRegistry | None, cache: Path, gap: str
) -> tuple[ModelVersionInfo, Path] | None:
    """The newest version trained for knowledge gap ``gap`` that no gate rejected
    (the champion first, when it was trained for that gap), with its local adapter;
    None when there is none or no registry yet."""
    if registry is None:
        return None
    champion = registry.champion()
    if champion is not None and champion.gap == gap:
        return champion, local_adapter(registry, champion, cache)
    found = [
        v for v in registry.list_versions() if v.gap == gap and v.status != "rejected"
    ]
    if not found:
        return None
    newest = max(found, key=lambda v: v.version)
    return newest, local_adapter(registry, newest, cache)
