"""The Prefect backend on a test server: a real GPU work pool from the template in
infra/, a real deployment of flows/train_worker.py, flow runs created through
``run_deployment`` and, for one test, executed in-process as a worker would.

Every test that needs the server is marked slow: starting it takes seconds.
"""

from __future__ import annotations

import json
import re

import pytest

from ragtune.app.backends import build_backend
from ragtune.errors import ConfigError
from ragtune.flows.prefect_backend import (
    STATE_MAP,
    PrefectBackend,
    map_state,
    run_parameters,
)

from .conftest import STEPS, adapter_files, make_job, make_settings

POOL = "gpu-pool"
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def _template(repo_root) -> dict:
    return json.loads(
        (repo_root / "infra" / "prefect" / "gpu-work-pool.json").read_text()
    )


@pytest.fixture(scope="module")
def deployment(prefect_harness, repo_root):
    """The GPU pool made from infra/'s template and the train-worker deployment."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    from ragtune.flows.train_worker import train_worker

    with get_client(sync_client=True) as client:
        client.create_work_pool(
            WorkPoolCreate(
                name=POOL, type="process", base_job_template=_template(repo_root)
            ),
            overwrite=True,
        )
    train_worker.to_deployment(name="gpu", work_pool_name=POOL).apply()
    return "ragtune-train-worker/gpu"


def _backend(tmp_path, **prefect) -> PrefectBackend:
    return build_backend(PrefectBackend, make_settings(tmp_path, prefect=prefect))


def _flow_run(job_id):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(job_id)


def test_template_declares_every_placeholder_it_uses(repo_root):
    template = _template(repo_root)

    used = set(PLACEHOLDER.findall(json.dumps(template["job_configuration"])))
    declared = set(template["variables"]["properties"])

    assert used <= declared, used - declared
    assert {"cuda_visible_devices", "gpu_worker_id"} <= used


@pytest.mark.slow  # the Prefect test server takes seconds to start
def test_template_renders_gpu_settings_into_the_environment(prefect_harness, repo_root):
    import asyncio

    from prefect.workers.process import ProcessJobConfiguration

    values = {
        "cuda_visible_devices": "1",
        "gpu_worker_id": "gpu-a",
        "env": {"HF_HOME": "/cache/hf"},
    }
    cfg = asyncio.run(
        ProcessJobConfiguration.from_template_and_values(_template(repo_root), values)
    )

    assert cfg.env["CUDA_VISIBLE_DEVICES"] == "1"
    assert cfg.env["RAGTUNE_GPU_WORKER"] == "gpu-a"
    assert cfg.env["HF_HOME"] == "/cache/hf"  # the deployment's env is merged in
    assert cfg.env["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"


@pytest.mark.slow  # the Prefect test server takes seconds to start
def test_submit_creates_a_scheduled_run_of_the_job(deployment, tmp_path):
    backend = _backend(tmp_path)
    job = make_job(tmp_path, name="pf-queued")

    handle = backend.submit(job)
    run = _flow_run(handle.job_id)

    assert backend.status(handle).state == "queued"  # no worker polls the pool
    plan = handle.plan  # the job goes out priced at the plan it was accepted under
    price = (
        None
        if plan.price_per_gpu_hour is None
        else plan.price_per_gpu_hour * plan.count
    )
    priced = job.model_copy(update={"price_per_hour_usd": price})
    assert run.parameters == run_parameters(priced)
    assert run.parameters["job"]["train_path"] == str(job.train_path)
    assert run.work_pool_name == POOL and run.name == "pf-queued"
    assert {"ragtune", "training"} <= set(run.tags)
    assert handle.remote["deployment"] == deployment
    # Submitting the same job again (a retried task) reuses the flow run.
    assert backend.submit(job).job_id == handle.job_id


@pytest.mark.slow  # the Prefect test server takes seconds to start
def test_cancelling_a_queued_run(deployment, tmp_path):
    backend = _backend(tmp_path)
    handle = backend.submit(make_job(tmp_path, name="pf-cancel"))

    backend.cancel(handle)

    # Nothing had started, so Prefect goes straight from Cancelling to Cancelled.
    assert backend.status(handle).state == "cancelled"
    assert _flow_run(handle.job_id).state.type.value == "CANCELLED"


@pytest.mark.slow
def test_a_worker_runs_it_and_the_adapter_comes_back(
    deployment, tmp_path, monkeypatch, one_thread
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.flow_engine import run_flow
    from prefect.logging.handlers import APILogHandler

    from ragtune.flows.train_worker import train_worker

    monkeypatch.setenv("RAGTUNE_GPU_WORKER", "test-gpu")
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name="gpu:test-gpu", limit=1)
        )
    backend = _backend(tmp_path)
    job = make_job(tmp_path, name="pf-run")
    handle = backend.submit(job)

    # What a process worker does once it picks the run up from the pool.
    run_flow(train_worker, flow_run=_flow_run(handle.job_id), parameters={"job": job})
    APILogHandler().flush()  # logs reach the API in batches; send the last one now
    status = backend.status(handle)
    result = backend.fetch_artifacts(handle, tmp_path / "fetched")
    logs = backend.logs(handle)

    assert status.state == "succeeded", logs
    assert result.steps == STEPS
    assert adapter_files(result.adapter_dir) == {
        "adapter_config.json", "adapter_model.safetensors", "card.json",
        "tokenizer.json",
    }  # fmt: skip
    assert "waiting for gpu:test-gpu" in logs and f"trained pf-run: {STEPS}" in logs
    assert "do not exist" not in logs  # the GPU slot was really taken


@pytest.mark.slow  # the Prefect test server takes seconds to start
def test_failed_and_completed_runs_map_to_ragtune_states(prefect_harness):
    from prefect import flow

    @flow
    def boom() -> None:
        raise RuntimeError("CUDA error: out of memory")

    @flow
    def fine() -> int:
        return 1

    failed = boom(return_state=True)
    done = fine(return_state=True)

    bad = map_state(failed.type.value, failed.name, failed.message)
    assert bad.state == "failed" and "out of memory" in bad.message
    assert map_state(done.type.value, done.name, done.message).state == "succeeded"


def test_every_prefect_state_type_is_mapped():
    from prefect.client.schemas.objects import StateType

    assert {t.value for t in StateType} == set(STATE_MAP)
    assert map_state("CRASHED", "Crashed", "worker lost").state == "failed"
    assert map_state("CANCELLING", "Cancelling", None).state == "running"


@pytest.mark.slow  # the Prefect test server takes seconds to start
def test_an_undeployed_flow_is_a_config_error(deployment, tmp_path):
    backend = _backend(tmp_path, deployment="ragtune-train-worker/missing")

    with pytest.raises(ConfigError, match="is not deployed"):
        backend.submit(make_job(tmp_path))


@pytest.mark.slow  # the Prefect test server takes seconds to start
def test_a_deployment_on_another_pool_is_refused(deployment, tmp_path):
    backend = _backend(tmp_path, work_pool="cpu-pool")

    with pytest.raises(ConfigError, match="runs on work pool 'gpu-pool'"):
        backend.submit(make_job(tmp_path))
    assert not (tmp_path / "backends").exists()


def test_gpu_slot_names_the_worker(monkeypatch):
    from ragtune.flows.train_worker import gpu_slot

    monkeypatch.setenv("RAGTUNE_GPU_WORKER", "box-7")
    assert gpu_slot("explicit") == "gpu:explicit"
    assert gpu_slot() == "gpu:box-7"
    monkeypatch.delenv("RAGTUNE_GPU_WORKER")
    assert gpu_slot().startswith("gpu:") and len(gpu_slot()) > 4
