"""One interface for every place a training job can run.

A backend submits a :class:`TrainingJob`, reports its status, returns its logs,
cancels it and fetches its adapter. Every backend inherits
:meth:`BaseBackend.submit`, which prices the job and checks the cost cap before
the backend's own launch code runs: the cap lives in one place, not four.

Handles are plain data saved beside the job's files, so a flow, the CLI or a
later process can poll or cancel a job it did not submit.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import Field

from ragtune.atomic import write_atomic
from ragtune.errors import ConfigError, InputError, RagtuneError
from ragtune.schema import StrictModel
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.backends.costcap import PlanSummary, check_cost_cap, estimate_job
from ragtune.tasks.estimate.config import EstimatorConfig
from ragtune.tasks.estimate.cost import Estimate
from ragtune.tasks.training.entrypoint import TrainingJob, TrainingResult
from ragtune.tasks.training.progress import PROGRESS_FILE, Progress, read_progress

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
SecretResolver = Callable[[str], str]
HANDLE_FILE = "handle.json"
PROGRESS_TICK_S = 1.0  # progress is a local file read: cheap to poll often

# name -> "module:class"; imported on demand so that choosing the local backend
# never imports httpx or the Modal SDK. The Prefect work-pool backend is an
# orchestrator, not a capability: the application layer adds it
# (ragtune.app.backends.BACKENDS).
BACKENDS: dict[str, str] = {
    "local": "ragtune.tasks.backends.local:LocalBackend",
    "modal": "ragtune.tasks.backends.modal_backend:ModalBackend",
    "runpod": "ragtune.tasks.backends.runpod_backend:RunPodBackend",
}


class BackendError(RagtuneError):
    """A backend's service refused or failed a request (message has no secrets)."""


class JobHandle(StrictModel):
    """Where a submitted job is and how to find it again."""

    backend: str = Field(description="Backend name that ran the job.")
    job_id: str = Field(description="The backend's id: pid key, flow run, call, job.")
    run_name: str = Field(description="The job's run name.")
    work_dir: Path = Field(description="Local folder of this job's files and logs.")
    output_dir: Path = Field(description="The job's output_dir as submitted.")
    submitted_at: datetime = Field(description="When the launch was accepted (UTC).")
    plan: PlanSummary = Field(description="The priced plan the cost cap accepted.")
    remote: dict[str, str] = Field(
        default_factory=dict, description="Backend details (pid, volume prefix, gpu)."
    )

    def save(self) -> Path:
        """Write the handle to ``<work_dir>/handle.json``."""
        return write_atomic(self.work_dir / HANDLE_FILE, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: Path) -> JobHandle:
        """Read a handle from a ``handle.json`` file or the folder holding one."""
        path = path / HANDLE_FILE if path.is_dir() else path
        if not path.is_file():
            raise InputError(f"{path}: no job handle here")
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


class JobStatus(StrictModel):
    """A job's state in ragtune's five words, with the backend's own words."""

    state: JobState
    message: str = ""

    @property
    def terminal(self) -> bool:
        """True once the state can no longer change."""
        return self.state in TERMINAL


@runtime_checkable
class Backend(Protocol):
    """What the retrain flow needs from a place that trains."""

    name: str

    def estimate(self, job: TrainingJob) -> Estimate: ...

    def submit(
        self, job: TrainingJob, estimate: Estimate | None = None
    ) -> JobHandle: ...

    def status(self, handle: JobHandle) -> JobStatus: ...

    def logs(self, handle: JobHandle) -> str: ...

    def cancel(self, handle: JobHandle) -> None: ...

    def progress(self, handle: JobHandle) -> Progress | None: ...

    def check_credentials(self) -> None: ...

    def fetch_artifacts(self, handle: JobHandle, dest: Path) -> TrainingResult: ...


class BaseBackend:
    """Shared submit path: price, cap, credentials, then the backend's launch.

    Subclasses set ``name``, ``provider`` (the estimator's provider whose prices
    apply, or None for hardware already paid for) and ``gpu``, and implement
    :meth:`_check_ready` and :meth:`_launch`.
    """

    name = "base"
    provider: str | None = None

    def __init__(
        self,
        cfg: BackendConfig,
        estimator: EstimatorConfig,
        *,
        root: Path = Path("."),
        secret_resolver: SecretResolver | None = None,
        gpu: str | None = None,
    ) -> None:
        if gpu is not None and gpu not in estimator.gpus:
            raise ConfigError(
                f"backends.{self.name}.gpu {gpu!r} is not in estimate.gpus "
                f"({', '.join(estimator.gpus)})"
            )
        self.cfg = cfg
        self.estimator = estimator
        self.root = root
        self.secret_resolver = secret_resolver
        self.gpu = gpu

    @classmethod
    def from_config(
        cls,
        backends: BackendConfig,
        estimator: EstimatorConfig,
        root: Path,
        *,
        secret_resolver: SecretResolver | None = None,
    ) -> BaseBackend:
        """Build from the ``backends`` and ``estimate`` sections."""
        return cls(
            backends,
            estimator,
            root=root,
            secret_resolver=secret_resolver,
            gpu=cls.configured_gpu(backends),
        )

    @classmethod
    def configured_gpu(cls, cfg: BackendConfig) -> str | None:
        """The catalogue GPU this backend's section pins, if any."""
        return None

    def estimate(self, job: TrainingJob) -> Estimate:
        """The estimator's sizing of ``job`` on this backend's GPU (if fixed)."""
        return estimate_job(job, self.estimator, gpu=self.gpu)

    def submit(self, job: TrainingJob, estimate: Estimate | None = None) -> JobHandle:
        """Launch ``job`` unless its estimate breaks the cost cap.

        Raises:
            GateFailed: the estimated cost or GPU hours exceed the cap.
            ConfigError: credentials or backend settings are missing; raised
                before anything is uploaded or started.
        """
        plan = check_cost_cap(
            estimate or self.estimate(job), self.cfg, self.provider, self.gpu
        )
        self._check_ready()
        work_dir = self._new_work_dir(job.run_name)
        # the card prices the run at the plan's price (the catalogue's, not a
        # figure of its own); None on hardware already paid for
        price = (
            None
            if plan.price_per_gpu_hour is None
            else plan.price_per_gpu_hour * plan.count
        )
        job = job.model_copy(update={"price_per_hour_usd": price})
        handle = self._launch(job, plan, work_dir)
        handle.save()
        log.info(
            "%s: submitted %s as %s (%s x %s, est. %.2f GPU-h, $%s)",
            self.name,
            job.run_name,
            handle.job_id,
            plan.count,
            plan.gpu,
            plan.gpu_hours,
            "-" if plan.cost_usd is None else f"{plan.cost_usd:.2f}",
        )
        return handle

    def wait(
        self,
        handle: JobHandle,
        timeout_s: float | None = None,
        on_poll: Callable[[], None] | None = None,
    ) -> JobStatus:
        """Poll the status every ``poll_interval_s`` until the job ends or time
        runs out; meanwhile call ``on_poll`` about every second (progress)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            status = self.status(handle)
            if status.terminal:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            self._pause(on_poll)

    def _pause(self, on_poll: Callable[[], None] | None) -> None:
        end = time.monotonic() + self.cfg.poll_interval_s
        while (left := end - time.monotonic()) > 0:
            if on_poll is not None:
                on_poll()
                left = min(left, PROGRESS_TICK_S)
            time.sleep(max(0.0, left))

    def progress(self, handle: JobHandle) -> Progress | None:
        """The job's newest progress snapshot, when its output folder is readable
        here (local jobs, workers sharing this file system); else None."""
        return read_progress(handle.output_dir / PROGRESS_FILE)

    def _new_work_dir(self, run_name: str) -> Path:
        base = self.cfg.work_dir
        base = base if base.is_absolute() else self.root / base
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return base / self.name / f"{run_name}-{stamp}-{uuid.uuid4().hex[:6]}"

    def check_credentials(self) -> None:
        """Raise ConfigError when a credential this backend needs is missing.

        Reads the environment (or a Secret block) and contacts no service, so the
        CLI runs it before a retrain builds or gates anything: a missing key is
        then named in a second, not after the dataset work. None by default.
        """

    def _check_ready(self) -> None:
        """Raise ConfigError when credentials or settings are missing."""

    def _launch(self, job: TrainingJob, plan: PlanSummary, work_dir: Path) -> JobHandle:
        raise NotImplementedError

    def _handle(
        self, job: TrainingJob, job_id: str, plan: PlanSummary, work_dir: Path,
        **remote: str,
    ) -> JobHandle:  # fmt: skip
        return JobHandle(
            backend=self.name,
            job_id=job_id,
            run_name=job.run_name,
            work_dir=work_dir,
            output_dir=job.output_dir,
            submitted_at=datetime.now(UTC),
            plan=plan,
            remote=remote,
        )


def require_success(backend: Backend, handle: JobHandle) -> None:
    """Raise InputError unless the job succeeded (nothing to fetch otherwise)."""
    status = backend.status(handle)
    if status.state != "succeeded":
        raise InputError(
            f"job {handle.run_name} ({handle.backend} {handle.job_id}) is "
            f"{status.state}: no artifacts to fetch. {status.message}".strip()
        )


def deliver(result: TrainingResult, adapter: Path, dest: Path) -> TrainingResult:
    """Copy a finished adapter folder to ``dest/adapter``; the result, re-pointed.

    The copy lands in a temporary folder first and is renamed into place, so a
    ``dest/adapter`` that exists is complete; an existing one is replaced.
    """
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "adapter"
    if adapter.resolve() != target.resolve():
        tmp = dest / f".adapter-{uuid.uuid4().hex[:8]}"
        shutil.copytree(adapter, tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    return repoint(result, target, dest)


def repoint(result: TrainingResult, adapter: Path, dest: Path) -> TrainingResult:
    """``result`` with its adapter, tokenizer and card paths inside ``adapter``;
    also written to ``dest/result.json``."""
    moved = result.model_copy(
        update={
            "adapter_dir": adapter,
            "tokenizer_dir": adapter,
            "card_path": adapter / Path(result.card_path).name,
        }
    )
    (dest / "result.json").write_text(moved.model_dump_json(indent=2), "utf-8")
    return moved


def get_backend(
    name: str | None,
    backends: BackendConfig,
    estimator: EstimatorConfig,
    root: Path,
    *,
    secret_resolver: SecretResolver | None = None,
    known: Mapping[str, str] = BACKENDS,
) -> Backend:
    """The backend called ``name`` (``backends.default`` when None).

    Args:
        name: A key of ``known``: local, modal or runpod, and prefect where the
            application layer adds it.
        backends: The ``backends`` section.
        estimator: The ``estimate`` section (GPU catalogue, cost cap).
        root: The folder relative paths resolve against.
        secret_resolver: Reads a Prefect Secret block by name; needed only when
            a ``*_block`` key is set (flows pass ``Secret.load(n).get()``).
        known: name -> "module:class" of the backends to choose from.

    Raises:
        ConfigError: the name is not a known backend (the message lists them).
    """
    chosen = name or backends.default
    if chosen not in known:
        raise ConfigError(
            f"unknown backend {chosen!r}; known backends: {', '.join(known)}"
        )
    module, cls_name = known[chosen].split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    return cls.from_config(backends, estimator, root, secret_resolver=secret_resolver)
