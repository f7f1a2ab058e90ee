"""The local backend: the training entrypoint in a subprocess on this machine.

A subprocess (``python -m ragtune.tasks.training --job job.json``), not a
thread, so that cancelling really stops the work: the process gets its own
session and the whole group is signalled. The job file, its log and the result
sit in the handle's folder, so another process can read the status of a job it
did not start.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ragtune.errors import InputError
from ragtune.lifecycle import PARENT_ENV
from ragtune.tasks.backends.base import (
    BaseBackend,
    JobHandle,
    JobStatus,
    deliver,
    require_success,
)
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.backends.costcap import PlanSummary
from ragtune.tasks.training.entrypoint import TrainingJob, TrainingResult

log = logging.getLogger(__name__)

JOB_FILE = "job.json"
LOG_FILE = "train.log"
RESULT_FILE = "result.json"
CANCELLED = "cancelled"
EXIT_CODE = "exit_code"
STOP_GRACE_S = 10.0
TAIL_LINES = 8

# Popen objects of the jobs this process started: only the parent can reap a
# child and read its exit code; other processes fall back to the files.
_RUNNING: dict[str, subprocess.Popen] = {}


class LocalBackend(BaseBackend):
    """Trains in a child process; the cost cap prices the plan that fits."""

    name = "local"
    provider = None

    @classmethod
    def configured_gpu(cls, cfg: BackendConfig) -> str | None:
        return cfg.local.gpu

    def _launch(self, job: TrainingJob, plan: PlanSummary, work_dir: Path) -> JobHandle:
        work_dir.mkdir(parents=True, exist_ok=True)
        job_file = work_dir / JOB_FILE
        job_file.write_text(job.model_dump_json(indent=2), encoding="utf-8")
        command = [
            sys.executable, "-m", "ragtune.tasks.training",
            "--job", str(job_file), "--result", str(work_dir / RESULT_FILE),
        ]  # fmt: skip
        with (work_dir / LOG_FILE).open("ab") as out:
            proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.root,
                # stops when this process dies, even by SIGKILL (see lifecycle)
                env=os.environ | {PARENT_ENV: str(os.getpid())},
            )
        job_id = f"{work_dir.name}"
        _RUNNING[job_id] = proc
        return self._handle(job, job_id, plan, work_dir, pid=str(proc.pid))

    def status(self, handle: JobHandle) -> JobStatus:
        """From the child's exit code (or, from another process, its files)."""
        work = handle.work_dir
        if (work / CANCELLED).exists():
            return JobStatus(state="cancelled", message="cancelled by request")
        code = _exit_code(handle)
        if code is None:
            return JobStatus(state="running", message=f"pid {handle.remote['pid']}")
        if code == 0 and (work / RESULT_FILE).is_file():
            return JobStatus(state="succeeded", message="adapter written")
        return JobStatus(
            state="failed", message=f"exit code {code}: {_tail(work / LOG_FILE)}"
        )

    def logs(self, handle: JobHandle) -> str:
        path = handle.work_dir / LOG_FILE
        return (
            path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        )

    def cancel(self, handle: JobHandle) -> None:
        """SIGTERM the job's process group, SIGKILL it after a grace period."""
        (handle.work_dir / CANCELLED).touch()
        if _exit_code(handle) is not None:
            return
        pid = int(handle.remote["pid"])
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while _exit_code(handle) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if _exit_code(handle) is None:
            _signal_group(pid, signal.SIGKILL)
            # SIGKILL is delivered, not yet done: wait until the child is reaped
            # (or gone, for a job another process started), so that a caller
            # never sees "cancelled" while the process still holds the GPU.
            deadline = time.monotonic() + STOP_GRACE_S
            while _exit_code(handle) is None and time.monotonic() < deadline:
                time.sleep(0.05)
        log.info("local: cancelled %s (pid %s)", handle.run_name, pid)

    def fetch_artifacts(self, handle: JobHandle, dest: Path) -> TrainingResult:
        """Copy the adapter to ``dest/adapter``; the result points there."""
        require_success(self, handle)
        path = handle.work_dir / RESULT_FILE
        result = TrainingResult.model_validate_json(path.read_text(encoding="utf-8"))
        if not Path(result.adapter_dir).is_dir():
            raise InputError(f"adapter folder {result.adapter_dir} is gone")
        return deliver(result, Path(result.adapter_dir), dest)


def _exit_code(handle: JobHandle) -> int | None:
    """None while the process runs; its exit code (or -1 if unknown) after."""
    saved = handle.work_dir / EXIT_CODE
    if saved.exists():
        return int(saved.read_text())
    proc = _RUNNING.get(handle.job_id)
    if proc is not None:
        code = proc.poll()
        if code is not None:
            saved.write_text(str(code))
        return code
    if _alive(int(handle.remote["pid"])):
        return None
    return 0 if (handle.work_dir / RESULT_FILE).is_file() else -1


def _alive(pid: int) -> bool:
    # A pid can be reused; only count it if it still runs the training module.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return b"ragtune.tasks.training" in cmdline


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    if not path.exists():
        return "no log"
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])
