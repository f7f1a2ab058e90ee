"""The Modal backend: stage data on a Volume, spawn the deployed function, poll.

The app is ``infra/modal_app.py`` (``modal deploy infra/modal_app.py``). Each
submission uploads the job's data under ``jobs/<submission>/`` on the Volume,
spawns ``train_remote`` with the GPU the estimator chose (``with_options``), and
keeps the FunctionCall id in the handle. Credentials come from the environment
(or Secret blocks) and are handed to ``modal.Client.from_credentials``; they are
checked before the SDK is imported or anything is uploaded.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.backends.base import (
    BaseBackend,
    JobHandle,
    JobStatus,
    deliver,
    require_success,
)
from ragtune.tasks.backends.config import (
    MODAL_GPU_NAMES,
    BackendConfig,
    ModalBackendConfig,
)
from ragtune.tasks.backends.costcap import PlanSummary
from ragtune.tasks.backends.credentials import redact, resolve_secret
from ragtune.tasks.backends.staging import stage_job
from ragtune.tasks.training.entrypoint import TrainingJob, TrainingResult

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
CANCELLED = "cancelled"
LOG_ENTRIES = 200


@dataclass(frozen=True)
class ModalCall:
    """Everything one spawn needs, built before the SDK is touched."""

    app_name: str
    function_name: str
    volume_name: str
    gpu: str
    timeout_s: int
    job_json: str
    uploads: tuple[tuple[Path, str], ...]
    prefix: str


def modal_gpu(plan: PlanSummary) -> str:
    """Modal's ``gpu=`` string for a plan: ``"H100"``, ``"A100-80GB:2"``.

    Raises:
        ConfigError: Modal does not rent the plan's GPU.
    """
    name = MODAL_GPU_NAMES.get(plan.gpu)
    if name is None:
        raise ConfigError(
            f"Modal does not offer {plan.gpu}; set backends.modal.gpu to one of "
            f"{', '.join(MODAL_GPU_NAMES)}"
        )
    return name if plan.count == 1 else f"{name}:{plan.count}"


def build_call(
    job: TrainingJob, plan: PlanSummary, cfg: ModalBackendConfig, prefix: str
) -> ModalCall:
    """The spawn's arguments: staged job JSON, uploads, GPU and timeout."""
    staged = stage_job(job, prefix)
    return ModalCall(
        app_name=cfg.app_name,
        function_name=cfg.function_name,
        volume_name=cfg.volume_name,
        gpu=modal_gpu(plan),
        timeout_s=cfg.timeout_s,
        job_json=staged.job.model_dump_json(),
        uploads=staged.uploads,
        prefix=staged.prefix,
    )


def map_outcome(value: Any = None, error: BaseException | None = None) -> JobStatus:
    """ragtune's status from ``FunctionCall.get(timeout=0)``'s value or error.

    The SDK raises Python's own TimeoutError while the call has no output yet,
    and its ``modal.exception`` classes when the call ended badly; those are
    matched by name so this mapping needs no SDK to test.
    """
    if error is None:
        return JobStatus(state="succeeded", message="result returned")
    kind = type(error).__name__
    if type(error) is TimeoutError:
        return JobStatus(state="running", message="no result yet")
    if kind == "InputCancellation":
        return JobStatus(state="cancelled", message="cancelled on Modal")
    if kind == "FunctionTimeoutError":
        return JobStatus(state="failed", message=f"timed out: {error}")
    if kind == "OutputExpiredError":
        return JobStatus(state="failed", message="result expired on Modal")
    return JobStatus(state="failed", message=f"{kind}: {error}")


class ModalBackend(BaseBackend):
    """Spawns ``train_remote`` on Modal; the cap uses Modal's prices."""

    name = "modal"
    provider = "modal"

    @classmethod
    def configured_gpu(cls, cfg: BackendConfig) -> str | None:
        return cfg.modal.gpu

    def _tokens(self) -> tuple[SecretStr, SecretStr]:
        m = self.cfg.modal
        token_id = resolve_secret(
            "Modal token id", m.token_id_env, m.token_id_block, self.secret_resolver
        )
        secret = resolve_secret(
            "Modal token secret",
            m.token_secret_env,
            m.token_secret_block,
            self.secret_resolver,
        )
        return token_id, secret

    def check_credentials(self) -> None:
        self._tokens()

    def _check_ready(self) -> None:
        self.check_credentials()
        try:
            import modal  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the Modal backend needs the modal package: pip install 'modal>=1.0'"
            ) from None

    @contextlib.contextmanager
    def _sdk(self) -> Iterator[tuple[Any, Any]]:
        """(modal module, authenticated client); SDK errors become ragtune errors
        with any credential scrubbed from the message."""
        import modal

        tokens = self._tokens()
        try:
            client = modal.Client.from_credentials(
                tokens[0].get_secret_value(), tokens[1].get_secret_value()
            )
            yield modal, client
        except modal.exception.Error as exc:
            text = redact(f"{type(exc).__name__}: {exc}", tokens)
            if isinstance(exc, modal.exception.NotFoundError):
                text += " (deploy it: modal deploy infra/modal_app.py)"
            raise ConfigError(f"Modal: {text}") from None

    def _launch(self, job: TrainingJob, plan: PlanSummary, work_dir: Path) -> JobHandle:
        call = build_call(job, plan, self.cfg.modal, f"jobs/{work_dir.name}")
        with self._sdk() as (modal, client):
            volume = modal.Volume.from_name(
                call.volume_name, create_if_missing=True, client=client
            )
            with volume.batch_upload(force=True) as batch:
                for local, remote in call.uploads:
                    batch.put_file(str(local), f"/{remote}")
            fn = modal.Function.from_name(
                call.app_name, call.function_name, client=client
            ).with_options(gpu=call.gpu, timeout=call.timeout_s)
            function_call = fn.spawn(call.job_json)
        return self._handle(
            job, function_call.object_id, plan, work_dir,
            prefix=call.prefix, gpu=call.gpu, volume=call.volume_name,
        )  # fmt: skip

    def status(self, handle: JobHandle) -> JobStatus:
        if (handle.work_dir / CANCELLED).exists():
            return JobStatus(state="cancelled", message="cancelled by request")
        if (handle.work_dir / RESULT_FILE).exists():
            return JobStatus(state="succeeded", message="result returned")
        with self._sdk() as (modal, client):
            function_call = modal.FunctionCall.from_id(handle.job_id, client=client)
            try:
                value = function_call.get(timeout=0)
            except Exception as exc:  # noqa: BLE001 - mapped to a status below
                return map_outcome(error=exc)
        handle.work_dir.mkdir(parents=True, exist_ok=True)
        (handle.work_dir / RESULT_FILE).write_text(json.dumps(value), "utf-8")
        return map_outcome(value)

    def logs(self, handle: JobHandle) -> str:
        with self._sdk() as (modal, client):
            function_call = modal.FunctionCall.from_id(handle.job_id, client=client)
            return "".join(e.message for e in function_call.logs.tail(LOG_ENTRIES))

    def cancel(self, handle: JobHandle) -> None:
        with self._sdk() as (modal, client):
            modal.FunctionCall.from_id(handle.job_id, client=client).cancel(
                terminate_containers=True
            )
        (handle.work_dir / CANCELLED).touch()
        log.info("modal: cancelled %s", handle.job_id)

    def fetch_artifacts(self, handle: JobHandle, dest: Path) -> TrainingResult:
        """Download the adapter folder from the Volume to ``dest/adapter``."""
        require_success(self, handle)
        data = json.loads((handle.work_dir / RESULT_FILE).read_text("utf-8"))
        result = TrainingResult.model_validate(data)
        remote = Path(result.adapter_dir).as_posix().lstrip("/")
        local = handle.work_dir / "download"
        with self._sdk() as (modal, client):
            volume = modal.Volume.from_name(handle.remote["volume"], client=client)
            for entry in volume.listdir(remote, recursive=True):
                if entry.type != modal.volume.FileEntryType.FILE:
                    continue
                target = local / Path(entry.path.lstrip("/")).relative_to(remote)
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    volume.read_file_into_fileobj(entry.path, out)
        if not local.is_dir():
            raise InputError(f"Modal Volume holds no files under {remote}")
        return deliver(result, local, dest)
