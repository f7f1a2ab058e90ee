"""RunPod: the serverless handler on the tiny model, and the HTTP client against
a local server that answers like RunPod's /run, /status and /cancel."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import pytest

from ragtune.app.backends import build_backend
from ragtune.errors import ConfigError, GateFailed, InputError
from ragtune.tasks.backends.base import BackendError
from ragtune.tasks.backends.runpod_backend import (
    RunPodBackend,
    build_payload,
    map_status,
)
from ragtune.tasks.backends.runpod_worker import handle_event
from ragtune.tasks.backends.staging import b64, pack_dir, stage_job, unb64, unpack_to

from .conftest import STEPS, adapter_files, make_job, make_settings
from .runpod_fake import FakeRunPod, serve

KEY = "rp-test-key-7f3a9c"  # a fake credential; it must never leak anywhere


def _load_handler(repo_root: Path):
    path = repo_root / "infra" / "runpod" / "handler.py"
    spec = importlib.util.spec_from_file_location("runpod_handler", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


@pytest.fixture
def runpod_env(monkeypatch):
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "ep-test")


def _backend(tmp_path: Path, url: str, **runpod) -> RunPodBackend:
    settings = make_settings(tmp_path, runpod={"api_base": url, **runpod})
    return build_backend(RunPodBackend, settings)


def _canned_output(tmp_path: Path) -> dict:
    adapter = tmp_path / "canned" / "adapter"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text('{"r": 4}')
    (adapter / "adapter_model.safetensors").write_bytes(b"\x00" * 64)
    (adapter / "card.json").write_text('{"steps": 3}')
    result = {
        "adapter_dir": "jobs/x/output/adapter",
        "tokenizer_dir": "jobs/x/output/adapter",
        "card_path": "jobs/x/output/adapter/card.json",
        "final_loss": 4.2, "eval_loss": None, "steps": 3, "wall_time_s": 1.0,
        "tokens_seen": 900, "hardware": {"device": "cuda"}, "mlflow_run_id": "m1",
        "fingerprint": "f1",
    }  # fmt: skip
    return {"result": result, "adapter_tar_b64": b64(pack_dir(adapter))}


def _poll_states(backend, handle, limit=5):
    states = []
    for _ in range(limit):
        status = backend.status(handle)
        states.append(status.state)
        if status.terminal:
            break
    return states


def test_client_submits_polls_and_fetches(tmp_path, runpod_env, caplog):
    caplog.set_level(logging.DEBUG)
    with serve(FakeRunPod(canned_output=_canned_output(tmp_path))) as fake:
        backend = _backend(tmp_path, fake.url)
        handle = backend.submit(make_job(tmp_path))
        states = _poll_states(backend, handle)
        result = backend.fetch_artifacts(handle, tmp_path / "fetched")

    assert handle.job_id == "job-1" and handle.plan.provider == "runpod"
    # the job carries the plan's price (the catalogue's), which its card uses
    sent = fake.requests[0]["body"]["input"]["job"]
    plan = handle.plan
    assert plan.price_per_gpu_hour is not None
    assert sent["price_per_hour_usd"] == pytest.approx(
        plan.price_per_gpu_hour * plan.count
    )
    assert states == ["queued", "running", "succeeded"]
    assert adapter_files(result.adapter_dir) == {
        "adapter_config.json", "adapter_model.safetensors", "card.json",
    }  # fmt: skip
    assert result.adapter_dir == tmp_path / "fetched" / "adapter"
    assert result.card_path == result.adapter_dir / "card.json"
    # The key went in the header of every call, from the environment only...
    assert {r["authorization"] for r in fake.requests} == {f"Bearer {KEY}"}
    assert [r["path"] for r in fake.requests][:2] == [
        "/v2/ep-test/run", "/v2/ep-test/status/job-1",
    ]  # fmt: skip
    # ...and nowhere else: not in the payload, the handle, the logs.
    run_body = json.dumps(fake.requests[0]["body"])
    assert KEY not in run_body
    assert KEY not in (handle.work_dir / "handle.json").read_text()
    assert KEY not in caplog.text
    assert KEY not in backend.logs(handle)
    assert "COMPLETED" in backend.logs(handle)


def test_payload_carries_the_staged_job_and_its_data(tmp_path):
    job = make_job(tmp_path)
    settings = make_settings(tmp_path)

    body = build_payload(job, settings.backends.runpod, "jobs/s1")

    sent = body["input"]
    assert sent["job"]["train_path"] == "jobs/s1/data/train.jsonl"
    assert sent["job"]["output_dir"] == "jobs/s1/output"
    assert sent["job"]["mlflow_tracking_uri"] is None  # a local sqlite store
    assert sent["files"]["jobs/s1/data/train.jsonl"] == job.train_path.read_text()
    assert sent["volume_root"] is None
    assert body["policy"] == {"executionTimeout": 86_400_000}


def test_data_over_the_payload_limit_is_refused(tmp_path):
    job = make_job(tmp_path)
    job.train_path.write_text(job.train_path.read_text() * 2000)
    cfg = make_settings(tmp_path, runpod={"max_payload_mb": 0.1}).backends.runpod

    with pytest.raises(InputError, match="above backends.runpod.max_payload_mb 0.1"):
        build_payload(job, cfg, "jobs/s1")


def test_cancel_reaches_the_endpoint(tmp_path, runpod_env):
    with serve(FakeRunPod(canned_output=_canned_output(tmp_path))) as fake:
        backend = _backend(tmp_path, fake.url)
        handle = backend.submit(make_job(tmp_path))
        assert backend.status(handle).state == "queued"
        backend.cancel(handle)
        status = backend.status(handle)
        with pytest.raises(InputError, match="is cancelled: no artifacts"):
            backend.fetch_artifacts(handle, tmp_path / "fetched")

    assert status.state == "cancelled"
    assert ("POST", "/v2/ep-test/cancel/job-1") in {
        (r["method"], r["path"]) for r in fake.requests
    }


def test_a_failing_call_never_shows_the_key(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "broken")
    with serve(FakeRunPod()) as fake:
        backend = _backend(tmp_path, fake.url)
        with pytest.raises(BackendError) as err:
            backend.submit(make_job(tmp_path))

    # The server echoed our headers back in its error body; we scrubbed them.
    assert "HTTP 500" in str(err.value) and "***" in str(err.value)
    assert KEY not in str(err.value) and KEY not in caplog.text


def test_a_rejected_key_names_the_variable_not_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "denied")
    with serve(FakeRunPod()) as fake:
        backend = _backend(tmp_path, fake.url)
        with pytest.raises(ConfigError, match="RUNPOD_API_KEY") as err:
            backend.submit(make_job(tmp_path))

    assert KEY not in str(err.value)


def test_an_unreachable_api_is_a_backend_error(tmp_path, runpod_env):
    backend = _backend(tmp_path, "http://127.0.0.1:9/v2", request_timeout_s=2)

    with pytest.raises(BackendError, match="RunPod POST run"):
        backend.submit(make_job(tmp_path))


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("RUNPOD_API_KEY", "RUNPOD_API_KEY"),
        ("RUNPOD_ENDPOINT_ID", "RUNPOD_ENDPOINT_ID"),
    ],
)
def test_missing_credentials_stop_before_any_request(
    tmp_path, runpod_env, monkeypatch, unset, named
):
    monkeypatch.delenv(unset)
    with serve(FakeRunPod()) as fake:
        backend = _backend(tmp_path, fake.url)
        with pytest.raises(ConfigError, match=named):
            backend.submit(make_job(tmp_path))

    assert fake.requests == []
    assert not (tmp_path / "backends").exists()


def test_key_from_a_secret_block(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "ep-test")
    blocks = {"runpod-key": KEY}
    with serve(FakeRunPod(canned_output=_canned_output(tmp_path))) as fake:
        settings = make_settings(
            tmp_path, runpod={"api_base": fake.url, "api_key_block": "runpod-key"}
        )
        backend = build_backend(RunPodBackend, settings, secret_resolver=blocks.get)
        backend.submit(make_job(tmp_path))

    assert fake.requests[0]["authorization"] == f"Bearer {KEY}"


def test_cost_cap_refuses_before_any_request(tmp_path, runpod_env):
    with serve(FakeRunPod()) as fake:
        backend = _backend(tmp_path, fake.url)
        backend.cfg = backend.cfg.model_copy(update={"max_cost_usd": 1e-9})
        with pytest.raises(GateFailed, match="runpod"):
            backend.submit(make_job(tmp_path))

    assert fake.requests == []


@pytest.mark.parametrize(
    ("body", "state"),
    [
        ({"status": "IN_QUEUE"}, "queued"),
        ({"status": "IN_PROGRESS"}, "running"),
        ({"status": "COMPLETED", "output": {}}, "succeeded"),
        ({"status": "FAILED", "error": "CUDA OOM"}, "failed"),
        ({"status": "TIMED_OUT"}, "failed"),
        ({"status": "CANCELLED"}, "cancelled"),
    ],
)
def test_status_mapping(body, state):
    status = map_status(body)

    assert status.state == state
    assert status.message.startswith(body["status"])


def test_handler_rejects_a_bad_event_naming_the_field():
    out = handle_event({"id": "e1", "input": {"job": {"run_name": "x"}}})

    assert set(out) == {"error"}
    assert "job.config" in out["error"] and "job.train_path" in out["error"]
    assert handle_event({"id": "e2"}) == {"error": "event has no 'input' object"}


def test_handler_refuses_paths_outside_its_root(tmp_path):
    staged = stage_job(make_job(tmp_path), "jobs/s1").job
    bad = staged.model_copy(update={"train_path": Path("/etc/passwd")})

    out = handle_event({"input": {"job": bad.model_dump(mode="json")}})

    assert "must be a path relative" in out["error"]


@pytest.mark.slow
def test_handler_trains_over_the_api_and_the_adapter_comes_back(
    tmp_path, repo_root, runpod_env, one_thread
):
    handler = _load_handler(repo_root)
    with serve(FakeRunPod(handler=handler)) as fake:
        backend = _backend(tmp_path, fake.url)
        handle = backend.submit(make_job(tmp_path, name="rp"))
        status = backend.wait(handle, timeout_s=300)
        result = backend.fetch_artifacts(handle, tmp_path / "fetched")

    assert status.state == "succeeded", status.message
    assert result.steps == STEPS and result.final_loss > 0
    assert adapter_files(result.adapter_dir) == {
        "adapter_config.json", "adapter_model.safetensors", "card.json",
        "tokenizer.json",
    }  # fmt: skip
    card = json.loads(result.card_path.read_text())
    assert card["dataset_hash"] == "md5-backends-0001" and card["steps"] == STEPS
    # The worker saw only relative paths and sent back relative paths.
    output = json.loads((handle.work_dir / "output.json").read_text())
    adapter = output["result"]["adapter_dir"]
    assert adapter == f"jobs/{handle.work_dir.name}/output/adapter"
    assert not Path(adapter).is_absolute()
    # The submitting machine's output folder was never written: it ran remotely.
    assert not (tmp_path / "out" / "rp").exists()


def test_adapter_archives_round_trip_and_refuse_escapes(tmp_path):
    src = tmp_path / "a"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "w.bin").write_bytes(b"abc")

    out = unpack_to(unb64(b64(pack_dir(src))), tmp_path / "b")

    assert (out / "sub" / "w.bin").read_bytes() == b"abc"
    with pytest.raises(InputError, match="not valid base64"):
        unb64("%%%")
