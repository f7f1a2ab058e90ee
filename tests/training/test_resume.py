"""Kill the training process with SIGKILL mid-run, resume, and land where an
uninterrupted run lands.

The killed run is a real ``python -m ragtune.tasks.training`` process (the one
GPU backends start); the reference and the resumed run are in-process. LoRA
dropout is on and the optimizer is bitsandbytes' 8-bit AdamW, so the RNG state
and the quantised optimizer state must both survive the restart.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient
from safetensors.torch import load_file

from ragtune.errors import ConfigError
from ragtune.tasks.training.checkpoint import TMP_PREFIX, list_checkpoints
from ragtune.tasks.training.entrypoint import TrainingJob, train

from ._sft import fast_qlora, make_job, single_thread, write_data

STEPS = 16
KILL_AFTER = 4  # first checkpoint step at which the process is killed
STARTUP_LIMIT_S = 300  # imports alone take ~20 s on a busy two-core machine


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with single_thread():
        yield


def _job(root: Path, data: Path, uri: str, name: str) -> TrainingJob:
    cfg = fast_qlora(
        max_steps=STEPS,
        save_steps=2,
        eval_steps=8,
        lora_dropout=0.1,
        optim="adamw_8bit",
    )
    return make_job(root, data, uri, name, config=cfg)


def _run_until_checkpoint(job: TrainingJob, workdir: Path) -> subprocess.Popen:
    """Start the worker process and SIGKILL it once a mid-run checkpoint exists."""
    job_file = workdir / "job.json"
    job_file.write_text(job.model_dump_json())
    # One OpenMP thread, as in this process: same kernels, same float sums.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAGTUNE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragtune.tasks.training", "--job", str(job_file)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + STARTUP_LIMIT_S
    root = job.output_dir / "checkpoints"
    while time.monotonic() < deadline and proc.poll() is None:
        steps = [step for step, _ in list_checkpoints(root)]
        if steps and steps[-1] >= KILL_AFTER:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    else:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"worker never reached step {KILL_AFTER}: {err.decode()[-2000:]}")
    proc.communicate()
    return proc


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, tmp_path_factory):
    data = write_data(tmp_path / "sft")
    uri = f"sqlite:///{tmp_path_factory.getbasetemp() / 'mlflow.db'}"
    reference = train(_job(tmp_path, data, uri, "straight"))
    job = _job(tmp_path, data, uri, "killed")

    proc = _run_until_checkpoint(job, tmp_path)

    assert proc.returncode == -signal.SIGKILL
    assert not (job.output_dir / "result.json").exists()
    killed_at = list_checkpoints(job.output_dir / "checkpoints")[-1][0]
    assert KILL_AFTER <= killed_at < STEPS, "the process finished before the kill"
    run_id = json.loads((job.output_dir / "mlflow_run.json").read_text())["run_id"]
    # A writer killed mid-save leaves a temporary folder; resume must ignore it.
    junk = job.output_dir / "checkpoints" / f"{TMP_PREFIX}step-00000099-1"
    junk.mkdir()

    resumed = train(job.model_copy(update={"resume": True}))

    assert resumed.resumed_from_step == killed_at and resumed.steps == STEPS
    assert not junk.exists()
    assert resumed.final_loss == pytest.approx(reference.final_loss, rel=1e-4)
    assert resumed.eval_loss == pytest.approx(reference.eval_loss, rel=1e-4)
    curve = json.loads(resumed.card_path.read_text())["loss_curve"]
    expected = json.loads(reference.card_path.read_text())["loss_curve"]
    assert curve == pytest.approx(expected, rel=1e-4)
    ours = load_file(resumed.adapter_dir / "adapter_model.safetensors")
    theirs = load_file(reference.adapter_dir / "adapter_model.safetensors")
    assert ours.keys() == theirs.keys()
    for name, tensor in ours.items():
        assert (tensor - theirs[name]).abs().max() < 1e-4, name
    # One MLflow run across the two processes, finished by the resumed one.
    assert resumed.mlflow_run_id == run_id
    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED"
    steps = {m.step for m in MlflowClient(uri).get_metric_history(run_id, "loss")}
    assert steps == set(range(1, STEPS + 1))


def test_resuming_with_other_settings_is_refused_before_training(tmp_path):
    data = write_data(tmp_path / "sft")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    job = _job(tmp_path, data, uri, "run")
    state = {"fingerprint": "0123456789abcdef", "step": 2}
    folder = job.output_dir / "checkpoints" / "step-00000002"
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps(state))

    with pytest.raises(ConfigError, match="another config or data set"):
        train(job.model_copy(update={"resume": True}))
    assert not (job.output_dir / "mlflow_run.json").exists()
    assert not (tmp_path / "mlflow.db").exists()  # no MLflow run was opened
