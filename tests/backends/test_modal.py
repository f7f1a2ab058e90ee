"""Modal: the function body on a folder standing in for the Volume, the client up
to the network boundary, and the app file agreeing with params.yaml."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from ragtune.app.backends import build_backend
from ragtune.errors import ConfigError, InputError
from ragtune.tasks.backends.config import MODAL_GPU_NAMES, ModalBackendConfig
from ragtune.tasks.backends.costcap import PlanSummary, check_cost_cap
from ragtune.tasks.backends.modal_backend import (
    ModalBackend,
    build_call,
    map_outcome,
    modal_gpu,
)
from ragtune.tasks.backends.modal_worker import run_job_on_volume
from ragtune.tasks.backends.staging import stage_job

from .conftest import STEPS, adapter_files, make_job, make_settings

MODAL_INSTALLED = importlib.util.find_spec("modal") is not None


def _plan(gpu: str = "A100-80GB", count: int = 1) -> PlanSummary:
    return PlanSummary(
        gpu=gpu, count=count, hours=0.1, gpu_hours=0.1 * count, provider="modal",
        price_per_gpu_hour=2.5, cost_usd=0.25 * count,
    )  # fmt: skip


@pytest.fixture
def no_modal_tokens(monkeypatch):
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)


@pytest.mark.slow
def test_function_body_trains_a_staged_job_on_the_volume(tmp_path, one_thread):
    volume = tmp_path / "volume"
    staged = stage_job(make_job(tmp_path / "client", name="md"), "jobs/s1")
    for local, remote in staged.uploads:  # what batch_upload puts on the Volume
        (volume / remote).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(local, volume / remote)

    result = run_job_on_volume(staged.job.model_dump_json(), str(volume))

    assert result["adapter_dir"] == "jobs/s1/output/adapter"
    assert result["card_path"] == "jobs/s1/output/adapter/card.json"
    assert result["steps"] == STEPS
    adapter = volume / result["adapter_dir"]
    assert adapter_files(adapter) == {
        "adapter_config.json", "adapter_model.safetensors", "card.json",
        "tokenizer.json",
    }  # fmt: skip
    # MLflow logged beside the adapter on the Volume, not to the client's sqlite.
    assert (volume / "jobs/s1/output/mlflow.db").is_file()
    assert not (tmp_path / "client" / "mlflow.db").exists()
    json.dumps(result)  # what Modal returns to the client must be plain JSON


def test_function_body_rejects_bad_jobs(tmp_path):
    with pytest.raises(InputError, match="not a valid TrainingJob: config"):
        run_job_on_volume('{"run_name": "x"}', str(tmp_path))
    job = make_job(tmp_path)  # absolute paths: never staged
    with pytest.raises(InputError, match="train_path .* must be a path relative"):
        run_job_on_volume(job.model_dump_json(), str(tmp_path))


def test_call_arguments_are_built_from_the_job_and_the_plan(tmp_path):
    job = make_job(tmp_path).model_copy(
        update={"mlflow_tracking_uri": "https://mlflow.example.org"}
    )

    call = build_call(job, _plan("H100-80GB", 2), ModalBackendConfig(), "jobs/s9")

    assert (call.app_name, call.function_name, call.volume_name) == (
        "ragtune-training", "train_remote", "ragtune-training",
    )  # fmt: skip
    assert call.gpu == "H100:2" and call.timeout_s == 86400
    assert call.uploads == (
        (job.train_path, "jobs/s9/data/train.jsonl"),
        (job.eval_path, "jobs/s9/data/eval.jsonl"),
    )
    remote = json.loads(call.job_json)
    assert remote["train_path"] == "jobs/s9/data/train.jsonl"
    assert remote["output_dir"] == "jobs/s9/output"
    assert remote["mlflow_tracking_uri"] == "https://mlflow.example.org"  # a server
    assert remote["device"] is None and remote["run_name"] == job.run_name


def test_gpu_follows_the_estimator_on_modal(tmp_path):
    backend = build_backend(ModalBackend, make_settings(tmp_path))
    est = backend.estimate(make_job(tmp_path))

    plan = check_cost_cap(est, backend.cfg, provider="modal")

    cheapest = min(
        (p for p in est.providers if p.provider == "modal"), key=lambda p: p.cost_usd
    )
    assert plan.gpu == cheapest.fit.gpu
    assert modal_gpu(plan) == MODAL_GPU_NAMES[plan.gpu]
    with pytest.raises(ConfigError, match="Modal does not offer RTX-4090"):
        modal_gpu(_plan("RTX-4090"))


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("MODAL_TOKEN_ID", "MODAL_TOKEN_ID"),
        ("MODAL_TOKEN_SECRET", "MODAL_TOKEN_SECRET"),
    ],
)
def test_missing_token_stops_before_any_upload(tmp_path, monkeypatch, unset, named):
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")
    monkeypatch.delenv(unset)
    backend = build_backend(ModalBackend, make_settings(tmp_path))

    with pytest.raises(ConfigError, match=named) as err:
        backend.submit(make_job(tmp_path))

    assert "as-test" not in str(err.value) and "ak-test" not in str(err.value)
    assert not (tmp_path / "backends").exists()  # no job folder, no upload


def test_tokens_from_secret_blocks_are_accepted(tmp_path, no_modal_tokens):
    settings = make_settings(
        tmp_path, modal={"token_id_block": "modal-id", "token_secret_block": "modal-s"}
    )
    blocks = {"modal-id": "ak-block", "modal-s": "as-block"}
    backend = build_backend(ModalBackend, settings, secret_resolver=blocks.get)

    ids = [s.get_secret_value() for s in backend._tokens()]

    assert ids == ["ak-block", "as-block"]
    unreadable = build_backend(ModalBackend, settings, secret_resolver={}.__getitem__)
    with pytest.raises(ConfigError, match="cannot read Secret block 'modal-id'"):
        unreadable.submit(make_job(tmp_path))


@pytest.mark.skipif(MODAL_INSTALLED, reason="checks the message when modal is absent")
def test_missing_sdk_is_named_after_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")
    backend = build_backend(ModalBackend, make_settings(tmp_path))

    with pytest.raises(ConfigError, match="pip install 'modal"):
        backend.submit(make_job(tmp_path))


def test_outcome_mapping():
    class FunctionTimeoutError(Exception):  # the SDK's names, matched by name
        pass

    class InputCancellation(BaseException):
        pass

    assert map_outcome({"steps": 3}).state == "succeeded"
    assert map_outcome(error=TimeoutError()).state == "running"
    assert map_outcome(error=FunctionTimeoutError("24h")).state == "failed"
    assert map_outcome(error=InputCancellation()).state == "cancelled"
    failed = map_outcome(error=ValueError("CUDA out of memory"))
    assert failed.state == "failed" and "CUDA out of memory" in failed.message


def _constants(path: Path) -> dict[str, object]:
    tree = ast.parse(path.read_text())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }


def test_modal_app_matches_the_config_defaults(repo_root):
    path = repo_root / "infra" / "modal_app.py"
    names = _constants(path)
    cfg = ModalBackendConfig()

    assert names["APP_NAME"] == cfg.app_name
    assert names["FUNCTION_NAME"] == cfg.function_name
    assert names["VOLUME_NAME"] == cfg.volume_name
    assert names["TIMEOUT_S"] == cfg.timeout_s
    source = path.read_text()
    assert "run_job_on_volume(job_json, VOLUME_ROOT)" in source
    assert "def train_remote(job_json: str)" in source
