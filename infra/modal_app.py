"""Modal app for ragtune training: ``modal deploy infra/modal_app.py``.

One function, ``train_remote(job_json)``, runs the same ``train(job)`` as every
other backend, on a GPU, with a Volume mounted for data, checkpoints and
adapters. The client (``ragtune.tasks.backends.modal_backend``) uploads the data
to the Volume, spawns the function with the GPU the estimator chose
(``with_options(gpu=...)`` overrides the default below) and downloads the
adapter from the Volume afterwards.

Names must match the ``backends.modal`` section of params.yaml (a test checks
the defaults). ``RAGTUNE_PIP_SPEC`` picks what the image installs: a released
version (``ragtune==0.1.0``), a git URL, or a wheel you built.
"""

from __future__ import annotations

import os

import modal

APP_NAME = "ragtune-training"
FUNCTION_NAME = "train_remote"
VOLUME_NAME = "ragtune-training"
VOLUME_ROOT = "/vol"
DEFAULT_GPU = "A100-80GB"
TIMEOUT_S = 86400  # Modal's maximum; the cost cap bounds the expected hours
PIP_SPEC = os.environ.get("RAGTUNE_PIP_SPEC", "ragtune")
# A Modal Secret with HF_TOKEN, for gated base models; none by default.
HF_SECRET = os.environ.get("RAGTUNE_MODAL_HF_SECRET")

image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install(PIP_SPEC)
    .env(
        {
            "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
            "DO_NOT_TRACK": "1",
        }
    )
)
app = modal.App(APP_NAME, image=image)
volume = modal.Volume.from_name(VOLUME_NAME, create_if_missing=True)


@app.function(
    name=FUNCTION_NAME,
    gpu=DEFAULT_GPU,
    volumes={VOLUME_ROOT: volume},
    timeout=TIMEOUT_S,
    secrets=[modal.Secret.from_name(HF_SECRET)] if HF_SECRET else [],
)
def train_remote(job_json: str) -> dict:
    """Train one staged job on the Volume; returns the result (Volume paths)."""
    from ragtune.tasks.backends.modal_worker import run_job_on_volume

    volume.reload()  # see the data the client uploaded after this container started
    try:
        return run_job_on_volume(job_json, VOLUME_ROOT)
    finally:
        volume.commit()  # checkpoints and the adapter persist even on failure
