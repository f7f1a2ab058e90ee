"""The local backend: the real process entrypoint in a child process."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ragtune.app.backends import build_backend
from ragtune.errors import InputError
from ragtune.tasks.backends import local as local_mod
from ragtune.tasks.backends.base import JobHandle
from ragtune.tasks.backends.local import LocalBackend

from .conftest import STEPS, adapter_files, make_job, make_settings


def _backend(tmp_path) -> LocalBackend:
    return build_backend(LocalBackend, make_settings(tmp_path))


@pytest.mark.slow
def test_trains_end_to_end_and_fetches_the_adapter(tmp_path, one_thread):
    backend = _backend(tmp_path)
    job = make_job(tmp_path, name="loc")

    handle = backend.submit(job)
    status = backend.wait(handle, timeout_s=300)
    result = backend.fetch_artifacts(handle, tmp_path / "fetched")

    assert status.state == "succeeded", backend.logs(handle)
    assert result.steps == STEPS and result.final_loss > 0
    assert result.adapter_dir == tmp_path / "fetched" / "adapter"
    assert adapter_files(result.adapter_dir) == {
        "adapter_config.json", "adapter_model.safetensors", "card.json",
        "tokenizer.json",
    }  # fmt: skip
    card = json.loads(result.card_path.read_text())
    assert card["run_name"] == "loc" and card["steps"] == STEPS
    # The training wrote where the job said; the fetch copied, not moved.
    assert (job.output_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert "adapter:" in backend.logs(handle)
    # Another process, knowing only the handle file, sees the same outcome.
    reloaded = JobHandle.load(handle.work_dir)
    local_mod._RUNNING.pop(reloaded.job_id)
    assert _backend(tmp_path).status(reloaded).state == "succeeded"


@pytest.mark.slow
def test_cancel_kills_the_training_process(tmp_path, one_thread):
    backend = _backend(tmp_path)
    job = make_job(tmp_path, name="long")
    job = job.model_copy(
        update={"config": job.config.model_copy(update={"max_steps": 100_000})}
    )
    handle = backend.submit(job)
    pid = int(handle.remote["pid"])
    # Wait until training is under way: the MLflow run pointer is written just
    # before the first step.
    deadline = time.monotonic() + 240
    while not (job.output_dir / "mlflow_run.json").exists():
        assert backend.status(handle).state == "running", backend.logs(handle)
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.5)
    # it watches this process, so a SIGKILLed `ragtune retrain` stops it too
    # (tests/core/test_lifecycle.py kills a parent of such a child)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"RAGTUNE_EXIT_WITH_PARENT={os.getpid()}".encode() in environ

    started = time.monotonic()
    backend.cancel(handle)

    assert time.monotonic() - started < 15
    assert backend.status(handle).state == "cancelled"
    assert not local_mod._alive(pid)
    assert local_mod._RUNNING[handle.job_id].poll() is not None
    assert not (job.output_dir / "adapter").exists()
    with pytest.raises(InputError, match="is cancelled: no artifacts"):
        backend.fetch_artifacts(handle, tmp_path / "fetched")


@pytest.mark.slow
def test_bad_data_fails_with_the_entrypoints_message(tmp_path):
    backend = _backend(tmp_path)
    job = make_job(tmp_path, name="bad")
    job.train_path.write_text('{"messages": "not a list"}\n')

    handle = backend.submit(job)
    status = backend.wait(handle, timeout_s=300)

    assert status.state == "failed"
    assert status.message.startswith("exit code 2")  # the CLI's bad-input code
    assert "messages" in status.message
    assert not (job.output_dir / "adapter").exists()
