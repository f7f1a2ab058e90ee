"""SIGTERM to ``ragtune retrain`` while the local backend trains: the training
child's process group is stopped, nothing is registered, and the CLI says so and
exits 143 (128 + SIGTERM) within seconds.

The run is the tiny random-weight model (not the shipped SmolLM2) with far more
steps than the test waits for: only the stop is under test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests._server import shared_api
from tests.flows._project import audit_records, promotion_project, update_params

pytestmark = pytest.mark.slow

STOP_WITHIN_S = 60  # the backend's grace period is 10 s; Prefect reports after


def _training_child(cli: subprocess.Popen, timeout_s: float) -> psutil.Process:
    """The ``python -m ragtune.tasks.training`` process under the CLI, once it
    has written its first training step."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert cli.poll() is None, cli.communicate()
        for proc in psutil.Process(cli.pid).children(recursive=True):
            try:
                if "ragtune.tasks.training" in " ".join(proc.cmdline()):
                    return proc
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.5)
    raise AssertionError("no training process started")


def _wait_training(root: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in root.glob("state/retrain/**/progress.jsonl"):
            if '"phase": "training"' in path.read_text():
                return
        time.sleep(0.5)
    raise AssertionError("the training child never reached its step loop")


def _gone(proc: psutil.Process, timeout_s: float) -> bool:
    try:
        proc.wait(timeout=timeout_s)
    except psutil.TimeoutExpired:
        return False
    return True


def test_sigterm_cancels_the_training_child_and_exits_143(
    tmp_path: Path, repo_root: Path
) -> None:
    params = promotion_project(tmp_path, repo_root)
    update_params(params, "training", max_steps=100_000, save_steps=100_000)
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / ".prefect"),
        "PREFECT_API_URL": shared_api(),
        "COLUMNS": "200",
    }
    exe = Path(sys.executable).with_name("ragtune")
    cli = subprocess.Popen(
        [str(exe), "retrain", "--backend", "local", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        child = _training_child(cli, timeout_s=240)
        _wait_training(tmp_path, timeout_s=120)
        cli.send_signal(signal.SIGTERM)
        out, err = cli.communicate(timeout=STOP_WITHIN_S)
    finally:
        if cli.poll() is None:
            cli.kill()
    survived = not _gone(child, timeout_s=5)
    if survived:  # a failing test must not leave the orphan behind either
        os.killpg(child.pid, signal.SIGKILL)
    assert not survived, f"training process {child.pid} outlived the CLI"
    assert cli.returncode == 128 + signal.SIGTERM, err
    assert "retrain stopped by SIGTERM" in err
    assert out == ""  # --json: no half summary on stdout
    # the child unwound through its clean-up (MLflow run closed), not SIGKILL
    (log,) = tmp_path.glob("state/backends/local/*/train.log")
    assert "stopped by SIGTERM" in log.read_text()
    actions = [r["action"] for r in audit_records(params)]
    assert "retrain.interrupted" in actions
    assert "retrain.candidate" not in actions  # nothing registered or promoted
    assert not list(tmp_path.glob("state/retrain/**/adapter"))


def test_a_killed_retrain_stops_its_child_and_the_rerun_resumes(
    tmp_path: Path, repo_root: Path
) -> None:
    """SIGKILL (no clean-up at all, as a pre-empted machine): the training child
    notices its parent is gone and stops; ``ragtune retrain`` run again finds the
    run's checkpoints and continues from the newest one, and says so."""
    params = promotion_project(tmp_path, repo_root)
    update_params(params, "training", max_steps=60, save_steps=4)
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / ".prefect"),
        "PREFECT_API_URL": shared_api(),
        "COLUMNS": "200",
    }
    exe = Path(sys.executable).with_name("ragtune")
    args = [str(exe), "retrain", "--backend", "local", "--json"]
    cli = subprocess.Popen(
        args,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        child = _training_child(cli, timeout_s=240)
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("state/retrain/*/checkpoints/*")):
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.1)
    finally:
        cli.kill()
        cli.wait()
    survived = not _gone(child, timeout_s=20)
    if survived:
        os.killpg(child.pid, signal.SIGKILL)
    assert not survived, f"training process {child.pid} outlived a killed CLI"

    rerun = subprocess.run(
        args, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600
    )
    candidates = [
        r["details"]
        for r in audit_records(params)
        if r["action"] == "retrain.candidate"
    ]
    assert len(candidates) == 1, rerun.stderr
    (summary,) = candidates
    assert summary["reused"] is False and summary["steps"] == 60
    assert summary["resumed_from_step"] is not None, rerun.stderr
    assert 4 <= summary["resumed_from_step"] < 60
    assert f"resumed from its checkpoint at step {summary['resumed_from_step']}" in (
        rerun.stderr
    )
