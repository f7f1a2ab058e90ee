"""The body of the RunPod serverless handler (``infra/runpod/handler.py``).

RunPod serverless workers have no storage shared with the client by default,
so a request carries its data inline (``files``: relative path -> JSONL text)
and the finished adapter comes back in the job output as a base64 gzipped
tarball when it is under ``inline_adapter_mb``. Larger adapters need a network
volume: with ``volume_root`` set (RunPod mounts network volumes at
``/runpod-volume``), the job runs there and the output names the adapter's
folder on the volume instead.

Returning ``{"error": ...}`` makes RunPod mark the job FAILED with that text.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import Field, ValidationError

from ragtune.errors import RagtuneError
from ragtune.schema import StrictModel
from ragtune.tasks.backends.staging import (
    b64,
    pack_dir,
    relative_result,
    resolve_on_root,
)
from ragtune.tasks.training.entrypoint import TrainingJob, train

log = logging.getLogger(__name__)

MB = 1024 * 1024


class RunPodInput(StrictModel):
    """``event["input"]`` of a ragtune training request."""

    job: TrainingJob = Field(description="Staged job: paths relative to the root.")
    files: dict[str, str] = Field(
        default_factory=dict, description="Relative path -> file text to write first."
    )
    volume_root: str | None = Field(
        None, description="Network volume folder to run in; None: worker scratch."
    )
    inline_adapter_mb: float = Field(
        8.0, gt=0, description="Largest adapter returned inline."
    )


def _parse(event: Any) -> RunPodInput | str:
    if not isinstance(event, dict) or not isinstance(event.get("input"), dict):
        return "event has no 'input' object"
    try:
        return RunPodInput.model_validate(event["input"])
    except ValidationError as exc:
        return "invalid input: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )


def _write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts:
            raise RagtuneError(f"files: {name} must be a relative path")
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _output(request: RunPodInput, result: dict[str, Any], root: Path) -> dict:
    adapter = root / result["adapter_dir"]
    blob = pack_dir(adapter)
    size_mb = len(blob) / MB
    if size_mb <= request.inline_adapter_mb:
        return {"result": result, "adapter_tar_b64": b64(blob)}
    if request.volume_root is not None:
        return {"result": result, "adapter_volume_path": str(adapter)}
    return {
        "error": f"the adapter archive is {size_mb:.1f} MB, above the inline limit "
        f"{request.inline_adapter_mb:g} MB, and no network volume was given; set "
        "backends.runpod.volume_root (or raise inline_adapter_mb)"
    }


def handle_event(event: Any) -> dict[str, Any]:
    """Train the job in ``event["input"]``; the output RunPod returns.

    Returns:
        ``{"result": TrainingResult (relative paths), "adapter_tar_b64": ...}``,
        or ``"adapter_volume_path"`` instead of the tarball, or ``{"error": ...}``
        for input that cannot be trained (bad job, bad data, bad config).
    """
    request = _parse(event)
    if isinstance(request, str):
        return {"error": request}
    scratch = None
    if request.volume_root is None:
        scratch = Path(tempfile.mkdtemp(prefix="ragtune-runpod-"))
    root = Path(request.volume_root) if scratch is None else scratch
    try:
        _write_files(root, request.files)
        job = resolve_on_root(request.job, root)
        log.info("runpod %s: training %s", event.get("id", "?"), job.run_name)
        return _output(request, relative_result(train(job), root), root)
    except RagtuneError as exc:
        return {"error": str(exc)}
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
