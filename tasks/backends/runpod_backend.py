"""The RunPod backend: a serverless endpoint's ``/run``, ``/status``, ``/cancel``.

Plain HTTP (httpx) against ``{api_base}/{endpoint_id}/...`` with the API key in
the Authorization header, as the ``runpod`` SDK's ``Endpoint.run`` does, so no
extra package is needed on the client. The key is read from the environment (or
a Secret block) per request, never stored in the handle, and scrubbed from any
error text. The endpoint runs ``infra/runpod/handler.py``.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.backends.base import (
    BackendError,
    BaseBackend,
    JobHandle,
    JobState,
    JobStatus,
    deliver,
    require_success,
)
from ragtune.tasks.backends.config import BackendConfig, RunPodBackendConfig
from ragtune.tasks.backends.costcap import PlanSummary
from ragtune.tasks.backends.credentials import redact, resolve_secret
from ragtune.tasks.backends.staging import stage_job, unb64, unpack_to
from ragtune.tasks.training.entrypoint import TrainingJob, TrainingResult

log = logging.getLogger(__name__)

STATUS_MAP: dict[str, JobState] = {
    "IN_QUEUE": "queued",
    "IN_PROGRESS": "running",
    "COMPLETED": "succeeded",
    "FAILED": "failed",
    "TIMED_OUT": "failed",
    "CANCELLED": "cancelled",
}
OUTPUT_FILE = "output.json"
STATUS_LOG = "status.log"
MB = 1024 * 1024


def map_status(body: dict[str, Any]) -> JobStatus:
    """ragtune's status for a ``/status`` response body."""
    raw = str(body.get("status", "UNKNOWN"))
    state = STATUS_MAP.get(raw)
    if state is None:
        return JobStatus(state="running", message=f"RunPod status {raw}")
    output = body.get("output")
    detail = body.get("error") or (
        output.get("error") if isinstance(output, dict) else None
    )
    if raw == "TIMED_OUT":
        detail = detail or "execution timeout reached"
    return JobStatus(state=state, message=f"{raw}: {detail}" if detail else raw)


def build_payload(
    job: TrainingJob, cfg: RunPodBackendConfig, prefix: str
) -> dict[str, Any]:
    """The ``/run`` body: the staged job, its data inline, and the policy.

    Raises:
        InputError: the request would exceed RunPod's payload limit.
    """
    staged = stage_job(job, prefix)
    files = {
        remote: local.read_text(encoding="utf-8") for local, remote in staged.uploads
    }
    body = {
        "input": {
            "job": staged.job.model_dump(mode="json"),
            "files": files,
            "volume_root": cfg.volume_root,
            "inline_adapter_mb": cfg.inline_adapter_mb,
        },
        "policy": {"executionTimeout": cfg.execution_timeout_s * 1000},
    }
    size_mb = len(json.dumps(body).encode()) / MB
    if size_mb > cfg.max_payload_mb:
        raise InputError(
            f"the RunPod request would be {size_mb:.1f} MB (data sent inline), above "
            f"backends.runpod.max_payload_mb {cfg.max_payload_mb:g}; use the modal "
            "or prefect backend for data sets this large"
        )
    return body


class RunPodBackend(BaseBackend):
    """Submits to a RunPod serverless endpoint; the cap uses RunPod's prices."""

    name = "runpod"
    provider = "runpod"

    @classmethod
    def configured_gpu(cls, cfg: BackendConfig) -> str | None:
        return cfg.runpod.gpu

    def _key(self) -> SecretStr:
        r = self.cfg.runpod
        return resolve_secret(
            "RunPod API key", r.api_key_env, r.api_key_block, self.secret_resolver
        )

    def _endpoint(self) -> str:
        var = self.cfg.runpod.endpoint_id_env
        endpoint = os.environ.get(var, "").strip()
        if not endpoint:
            raise ConfigError(
                f"RunPod endpoint id is missing: set the environment variable {var}"
            )
        return endpoint

    def check_credentials(self) -> None:
        self._key()
        self._endpoint()

    def _check_ready(self) -> None:
        self.check_credentials()

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        """One API call; errors name the call and status, never the key."""
        key = self._key()
        url = f"{self.cfg.runpod.api_base.rstrip('/')}/{self._endpoint()}/{path}"
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"}
        try:
            response = httpx.request(
                method, url, json=body, headers=headers,
                timeout=self.cfg.runpod.request_timeout_s,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            text = redact(f"{type(exc).__name__}: {exc}", [key])
            raise BackendError(f"RunPod {method} {path}: {text}") from None
        if response.status_code in (401, 403):
            raise ConfigError(
                f"RunPod rejected the API key from {self.cfg.runpod.api_key_env} "
                f"(HTTP {response.status_code})"
            )
        if response.status_code >= 400:
            snippet = redact(response.text[:300], [key])
            raise BackendError(
                f"RunPod {method} {path}: HTTP {response.status_code}: {snippet}"
            )
        return response.json()

    def _launch(self, job: TrainingJob, plan: PlanSummary, work_dir: Path) -> JobHandle:
        body = build_payload(job, self.cfg.runpod, f"jobs/{work_dir.name}")
        reply = self._request("POST", "run", body)
        job_id = reply.get("id")
        if not job_id:
            raise BackendError(f"RunPod /run returned no job id: {reply}")
        work_dir.mkdir(parents=True, exist_ok=True)
        return self._handle(job, str(job_id), plan, work_dir, endpoint=self._endpoint())

    def status(self, handle: JobHandle) -> JobStatus:
        body = self._request("GET", f"status/{handle.job_id}")
        status = map_status(body)
        _record(handle.work_dir, body)
        if status.state == "succeeded":
            output = body.get("output") or {}
            (handle.work_dir / OUTPUT_FILE).write_text(json.dumps(output), "utf-8")
        return status

    def logs(self, handle: JobHandle) -> str:
        """The job's status history as polled (RunPod serverless has no per-job
        log API; worker stdout is in the endpoint's console logs)."""
        path = handle.work_dir / STATUS_LOG
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def cancel(self, handle: JobHandle) -> None:
        reply = self._request("POST", f"cancel/{handle.job_id}")
        _record(handle.work_dir, reply)
        log.info("runpod: cancel %s -> %s", handle.job_id, reply.get("status"))

    def fetch_artifacts(self, handle: JobHandle, dest: Path) -> TrainingResult:
        """Unpack the inline adapter tarball into ``dest/adapter``."""
        require_success(self, handle)
        output = json.loads((handle.work_dir / OUTPUT_FILE).read_text("utf-8"))
        result = TrainingResult.model_validate(output["result"])
        if "adapter_tar_b64" not in output:
            where = output.get("adapter_volume_path", "(not reported)")
            raise InputError(
                f"the adapter was left on the RunPod network volume at {where} "
                "(above the inline limit); copy it from the volume"
            )
        download = handle.work_dir / "download"
        unpack_to(unb64(output["adapter_tar_b64"]), download)
        return deliver(result, download, dest)


def _record(work_dir: Path, body: dict[str, Any]) -> None:
    fields = ("status", "delayTime", "executionTime", "workerId", "error")
    seen = " ".join(f"{k}={body[k]}" for k in fields if body.get(k) is not None)
    work_dir.mkdir(parents=True, exist_ok=True)
    with (work_dir / STATUS_LOG).open("a", encoding="utf-8") as out:
        out.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {seen}\n")
