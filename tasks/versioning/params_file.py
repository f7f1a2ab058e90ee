"""Add ragtune's ``data:`` and ``dvc:`` sections to a knowledge base's params.yaml.

An existing file is never rewritten: comments and key order are the operator's.
Missing sections are appended as text; a section that is already there must
agree with what init would write, key by key, or init refuses and names the
key, so nothing is silently changed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml

from ragtune.errors import ConfigError, yaml_problem

logger = logging.getLogger(__name__)

HEADER = (
    "# ragtune configuration (written by `ragtune init`); see docs/params.md.\n"
    "# Relative paths resolve against this file's folder.\n"
)


def wanted_sections(
    kb_rel: str, eval_rel: str, remote_name: str, remote_url: str
) -> dict[str, dict[str, Any]]:
    """The keys init needs: where the data is and where DVC pushes it."""
    return {
        "data": {"kb_path": kb_rel, "eval_path": eval_rel},
        "dvc": {"remote_name": remote_name, "remote_url": remote_url},
    }


# Keys written only when init creates the section: the layout has no labels file.
_NEW_SECTION_EXTRAS: dict[str, dict[str, Any]] = {"data": {"labels_path": None}}


def plan_params(path: Path, wanted: dict[str, dict[str, Any]]) -> str | None:
    """The text to append to ``path`` (None: nothing to do), checked, not written.

    Raises:
        ConfigError: the file is not a YAML mapping, or one of its sections lacks
            a key or has a value that differs from ``wanted`` (each one named).
    """
    existing = _read(path)
    conflicts: list[str] = []
    missing: dict[str, dict[str, Any]] = {}
    for section, values in wanted.items():
        if section in existing:
            conflicts += _conflicts(section, existing[section], values)
        else:
            missing[section] = {**values, **_NEW_SECTION_EXTRAS.get(section, {})}
    if conflicts:
        raise ConfigError(
            f"{path} already configures ragtune differently; edit it or remove the "
            "sections, then run init again:\n  " + "\n  ".join(conflicts)
        )
    if not missing:
        return None
    text = yaml.safe_dump(missing, sort_keys=False, default_flow_style=False)
    return text if existing else HEADER + text


def _conflicts(section: str, have: Any, values: dict[str, Any]) -> list[str]:
    if not isinstance(have, dict):
        return [f"{section}: expected a mapping, found {have!r}"]
    found: list[str] = []
    for key, value in values.items():
        if key not in have:
            found.append(f"{section}.{key}: missing (init would set {value!r})")
        elif not _same(have[key], value):
            found.append(f"{section}.{key}: is {have[key]!r}, init sets {value!r}")
    return found


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return os.path.normpath(a) == os.path.normpath(b)
    return a == b


def write_params(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (creating it), keeping a newline between."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current and not current.endswith("\n"):
        current += "\n"
    path.write_text(current + text, encoding="utf-8")
    logger.info("wrote sections to %s", path)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {yaml_problem(exc)}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return raw
