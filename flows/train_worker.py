"""train-worker: one QLoRA job on a GPU worker (the Prefect backend's deployment).

Steps:
1. take the worker's GPU slot: a per-worker global concurrency limit
   ``gpu:<worker>`` (create it with ``prefect gcl create gpu:<worker> --limit 1``),
   so a worker never runs two trainings on one GPU while IO work stays unlimited;
2. ``train(job)``: the same entrypoint the local, Modal and RunPod backends run;
3. return the TrainingResult (also written to ``<output_dir>/result.json``).

Deploy it on a GPU work pool (infra/prefect/gpu-work-pool.json), e.g.
``prefect deploy flows/train_worker.py:train_worker -n gpu -p gpu-pool``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from prefect import flow, get_run_logger
from prefect.concurrency.sync import concurrency

from ragtune.tasks.training.entrypoint import TrainingJob, train

WORKER_ENV = "RAGTUNE_GPU_WORKER"


def gpu_slot(worker: str | None = None) -> str:
    """The concurrency limit name for this worker: ``gpu:<worker>``.

    The worker name comes from the argument, the work pool's ``gpu_worker_id``
    variable (exported as RAGTUNE_GPU_WORKER), or the host name.
    """
    name = worker or os.environ.get(WORKER_ENV) or socket.gethostname()
    return f"gpu:{name}"


@flow(name="ragtune-train-worker", persist_result=True)
def train_worker(job: TrainingJob, worker: str | None = None) -> dict[str, Any]:
    """Train ``job`` while holding this worker's GPU slot."""
    logger = get_run_logger()
    slot = gpu_slot(worker)
    logger.info("waiting for %s to train %s", slot, job.run_name)
    # A training outlives many lease renewals; a transient renewal error must
    # not kill hours of GPU work, so only acquisition failures are fatal.
    with concurrency(slot, occupy=1, raise_on_lease_renewal_failure=False):
        result = train(job)
    logger.info(
        "trained %s: %d steps, final loss %.4f, adapter %s",
        job.run_name,
        result.steps,
        result.final_loss,
        result.adapter_dir,
    )
    return result.model_dump(mode="json")
