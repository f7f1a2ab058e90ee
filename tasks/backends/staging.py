"""Moving a job between this machine and a remote worker's storage.

Remote workers (Modal, RunPod) see a storage root (a Modal Volume, a RunPod
network volume or scratch folder), not this machine's paths. The client stages
the job under a per-submission prefix with paths *relative* to that root; the
worker resolves them against its own mount point, trains, and hands back a
result whose paths are relative again. Adapters travel as gzipped tarballs when
they have to cross a JSON API.
"""

from __future__ import annotations

import base64
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ragtune.errors import InputError
from ragtune.tasks.training.entrypoint import TrainingJob, TrainingResult

REMOTE_TRACKING_SCHEMES = ("http://", "https://", "databricks")
PATH_FIELDS = ("train_path", "eval_path", "output_dir")
RESULT_PATHS = ("adapter_dir", "tokenizer_dir", "card_path")


@dataclass(frozen=True)
class StagedJob:
    """A job rewritten for a remote root, and the files to put there first."""

    job: TrainingJob
    uploads: tuple[tuple[Path, str], ...]
    prefix: str


def stage_job(job: TrainingJob, prefix: str) -> StagedJob:
    """``job`` with its data under ``<prefix>/data`` and output in ``<prefix>/output``.

    A local MLflow store (sqlite, a folder) means nothing on the worker, so only
    a server URI is kept; otherwise the run logs beside the adapter.
    """
    prefix = prefix.strip("/")
    uploads = [(job.train_path, f"{prefix}/data/train.jsonl")]
    if job.eval_path is not None:
        uploads.append((job.eval_path, f"{prefix}/data/eval.jsonl"))
    for local, _ in uploads:
        if not local.is_file():
            raise InputError(f"training data {local} does not exist")
    uri = job.mlflow_tracking_uri
    remote = job.model_copy(
        update={
            "train_path": Path(uploads[0][1]),
            "eval_path": Path(uploads[1][1]) if len(uploads) > 1 else None,
            "output_dir": Path(f"{prefix}/output"),
            "mlflow_tracking_uri": uri if _is_remote(uri) else None,
            "device": None,
        }
    )
    return StagedJob(remote, tuple(uploads), prefix)


def _is_remote(uri: str | None) -> bool:
    return uri is not None and uri.startswith(REMOTE_TRACKING_SCHEMES)


def _inside(root: Path, value: Path | None, field: str) -> Path | None:
    if value is None:
        return None
    rel = PurePosixPath(str(value))
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(
            f"job.{field} {value} must be a path relative to the worker's storage "
            "root (staged jobs never carry the submitting machine's paths)"
        )
    return root / rel


def resolve_on_root(job: TrainingJob, root: Path) -> TrainingJob:
    """The worker's view of a staged job: relative paths joined to ``root``.

    Raises:
        InputError: a path is absolute or climbs out of the root.
    """
    update = {f: _inside(root, getattr(job, f), f) for f in PATH_FIELDS}
    return job.model_copy(update=update)


def relative_result(result: TrainingResult, root: Path) -> dict[str, Any]:
    """The result as JSON with its paths relative to ``root`` (for the client)."""
    data = result.model_dump(mode="json")
    for field in RESULT_PATHS:
        data[field] = Path(data[field]).resolve().relative_to(root.resolve()).as_posix()
    return data


def pack_dir(folder: Path) -> bytes:
    """A gzipped tarball of ``folder``'s contents (names relative to it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def unpack_to(blob: bytes, dest: Path) -> Path:
    """Extract a :func:`pack_dir` tarball into ``dest`` (created).

    Raises:
        InputError: the archive is damaged or holds links or paths outside dest.
    """
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"adapter archive cannot be unpacked: {exc}") from None
    return dest


def b64(blob: bytes) -> str:
    """Bytes as base64 text for a JSON payload."""
    return base64.b64encode(blob).decode("ascii")


def unb64(text: str) -> bytes:
    """Base64 text back to bytes.

    Raises:
        InputError: the text is not base64.
    """
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise InputError(f"adapter archive is not valid base64: {exc}") from None
