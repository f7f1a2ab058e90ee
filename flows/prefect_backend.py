"""The Prefect backend: a flow run of ``flows/train_worker.py`` on a GPU work pool.

``run_deployment(..., timeout=0)`` only creates the flow run; a worker polling
the GPU pool picks it up and calls the same ``train(job)`` as every other
backend. Status and logs come from the Prefect API, and cancelling sets the run
to Cancelling, which tells its worker to stop the process.

It sits with the flows, not with the other backends under ``tasks/``: submitting
a flow run to a Prefect work pool is orchestration, and capabilities never import
Prefect. Prefect is imported inside the methods so that listing the backends
never loads it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any
from uuid import UUID

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.backends.base import (
    BaseBackend,
    JobHandle,
    JobState,
    JobStatus,
    deliver,
    require_success,
)
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.backends.costcap import PlanSummary
from ragtune.tasks.training.entrypoint import TrainingJob, TrainingResult

log = logging.getLogger(__name__)

# Prefect state type -> ragtune state. Paused and Cancelling runs still hold
# (or may resume on) a worker, so they count as running.
STATE_MAP: dict[str, JobState] = {
    "SCHEDULED": "queued",
    "PENDING": "queued",
    "RUNNING": "running",
    "PAUSED": "running",
    "CANCELLING": "running",
    "COMPLETED": "succeeded",
    "FAILED": "failed",
    "CRASHED": "failed",
    "CANCELLED": "cancelled",
}
LOG_LIMIT = 200


def map_state(
    state_type: str | None, name: str | None, message: str | None
) -> JobStatus:
    """ragtune's status for a Prefect state (type, name and message)."""
    if state_type is None:
        return JobStatus(state="queued", message="no state yet")
    state = STATE_MAP.get(state_type.upper(), "running")
    text = " ".join(x for x in (name or state_type.title(), message or "") if x)
    return JobStatus(state=state, message=text)


def run_parameters(job: TrainingJob) -> dict[str, Any]:
    """The deployment parameters: the job as JSON-safe data."""
    return {"job": job.model_dump(mode="json")}


def idempotency_key(job: TrainingJob) -> str:
    """Same job JSON, same key: a retried submit reuses the flow run."""
    blob = job.model_dump_json().encode()
    return f"ragtune-train-{hashlib.sha256(blob).hexdigest()[:20]}"


class PrefectBackend(BaseBackend):
    """Submits to a deployment on a GPU work pool through ``run_deployment``."""

    name = "prefect"
    provider = None

    @classmethod
    def configured_gpu(cls, cfg: BackendConfig) -> str | None:
        return cfg.prefect.gpu

    def _client(self):
        from prefect.client.orchestration import get_client

        return get_client(sync_client=True)

    def _check_ready(self) -> None:
        """The deployment exists and runs on the configured work pool."""
        from prefect.exceptions import ObjectNotFound

        pcfg = self.cfg.prefect
        with self._client() as client:
            try:
                deployment = client.read_deployment_by_name(pcfg.deployment)
            except ObjectNotFound:
                raise ConfigError(
                    f"backends.prefect.deployment {pcfg.deployment!r} is not "
                    "deployed (see docs/gpu-backends.md, 'Prefect GPU pool')"
                ) from None
        if deployment.work_pool_name != pcfg.work_pool:
            raise ConfigError(
                f"deployment {pcfg.deployment!r} runs on work pool "
                f"{deployment.work_pool_name!r}, not backends.prefect.work_pool "
                f"{pcfg.work_pool!r}"
            )

    def _launch(self, job: TrainingJob, plan: PlanSummary, work_dir: Path) -> JobHandle:
        from prefect.deployments import run_deployment

        pcfg = self.cfg.prefect
        flow_run = run_deployment(
            pcfg.deployment,
            parameters=run_parameters(job),
            timeout=0,
            flow_run_name=job.run_name,
            tags=["ragtune", "training"],
            idempotency_key=idempotency_key(job),
            work_queue_name=pcfg.work_queue,
            job_variables=dict(pcfg.job_variables) or None,
        )
        return self._handle(
            job, str(flow_run.id), plan, work_dir, deployment=pcfg.deployment
        )

    def status(self, handle: JobHandle) -> JobStatus:
        with self._client() as client:
            state = client.read_flow_run(UUID(handle.job_id)).state
        if state is None:
            return map_state(None, None, None)
        return map_state(state.type.value, state.name, state.message)

    def logs(self, handle: JobHandle) -> str:
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
        from prefect.client.schemas.sorting import LogSort

        flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(handle.job_id)]))
        with self._client() as client:
            entries = client.read_logs(flt, limit=LOG_LIMIT, sort=LogSort.TIMESTAMP_ASC)
        return "\n".join(
            f"{e.timestamp:%Y-%m-%d %H:%M:%S} {logging.getLevelName(e.level)} "
            f"{e.name}: {e.message}"
            for e in entries
        )

    def cancel(self, handle: JobHandle) -> None:
        """Set the run to Cancelling; its worker stops the process."""
        from prefect.states import Cancelling

        with self._client() as client:
            client.set_flow_run_state(
                UUID(handle.job_id), Cancelling(message="cancelled by ragtune"),
                force=True,
            )  # fmt: skip
        log.info("prefect: cancelling flow run %s", handle.job_id)

    def fetch_artifacts(self, handle: JobHandle, dest: Path) -> TrainingResult:
        """Read ``result.json`` from the job's output_dir (shared storage)."""
        require_success(self, handle)
        path = handle.output_dir / "result.json"
        if not path.is_file():
            raise InputError(
                f"{path} is not visible here: the GPU worker's output_dir must be "
                "on storage this machine mounts too (see docs/gpu-backends.md)"
            )
        result = TrainingResult.model_validate_json(path.read_text(encoding="utf-8"))
        return deliver(result, Path(result.adapter_dir), dest)
