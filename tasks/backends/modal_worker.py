"""The body of the Modal function: one staged job trained on the mounted Volume.

``infra/modal_app.py`` wraps :func:`run_job_on_volume` in ``@app.function`` with
the GPU and the Volume; keeping the body here, free of the Modal SDK, lets tests
run it in-process on a temporary folder standing in for the Volume.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ragtune.errors import InputError
from ragtune.tasks.backends.staging import relative_result, resolve_on_root
from ragtune.tasks.training.entrypoint import TrainingJob, train

log = logging.getLogger(__name__)


def parse_job(job_json: str) -> TrainingJob:
    """A TrainingJob from JSON text.

    Raises:
        InputError: the text is not a valid TrainingJob (fields named).
    """
    try:
        return TrainingJob.model_validate_json(job_json)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'job'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InputError(f"not a valid TrainingJob: {problems}") from None


def run_job_on_volume(job_json: str, volume_root: str | Path) -> dict[str, Any]:
    """Train a staged job whose paths are relative to ``volume_root``.

    Args:
        job_json: A TrainingJob as JSON, staged by the client (relative paths).
        volume_root: Where the Volume is mounted in the container.

    Returns:
        The TrainingResult as JSON data, paths relative to the Volume, so the
        client can download the adapter from the same Volume.
    """
    root = Path(volume_root)
    job = resolve_on_root(parse_job(job_json), root)
    log.info("modal: training %s from %s", job.run_name, job.train_path)
    return relative_result(train(job), root)
