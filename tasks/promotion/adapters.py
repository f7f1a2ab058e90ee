"""Where a registered adapter's weights are on this machine.

With the default SQLite registry the artifacts sit beside the database, so a
``file://`` URI is used in place; from an MLflow server they are downloaded once
into a cache folder named after the URI, so a reload does not fetch them again.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

from ragtune.errors import InputError

log = logging.getLogger(__name__)


def adapter_path(uri: str, cache_dir: Path, tracking_uri: str | None = None) -> Path:
    """A local folder holding the adapter at ``uri``.

    Raises:
        InputError: the folder (or download) has no ``adapter_config.json``.
    """
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        local = Path(unquote(parsed.path) if parsed.scheme else uri)
    else:
        local = _download(uri, cache_dir, tracking_uri)
    if not (local / "adapter_config.json").is_file():
        raise InputError(f"no adapter at {uri} (adapter_config.json missing)")
    return local


def _download(uri: str, cache_dir: Path, tracking_uri: str | None) -> Path:
    from mlflow.artifacts import download_artifacts

    target = cache_dir / hashlib.sha256(uri.encode()).hexdigest()[:16]
    if (target / "adapter_config.json").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    log.info("downloading adapter %s into %s", uri, target)
    got = download_artifacts(
        artifact_uri=uri, dst_path=str(target), tracking_uri=tracking_uri
    )
    found = Path(got)
    return found if (found / "adapter_config.json").is_file() else target
