"""infra/docker-compose.yml cannot run here: check its structure instead."""

from __future__ import annotations

from pathlib import Path

import yaml

from ragtune.app.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_prefect_on_postgres_a_worker_and_mlflow() -> None:
    compose = yaml.safe_load((ROOT / "infra/docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "worker", "mlflow"}
    server_env = services["prefect-server"]["environment"]
    db = server_env["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert db.startswith("postgresql+asyncpg://") and "@postgres:5432/" in db
    assert "PREFECT_UI_API_URL" in server_env
    assert services["prefect-server"]["depends_on"]["postgres"] == {
        "condition": "service_healthy"
    }
    worker = services["worker"]
    pool = load_settings(ROOT / "params.yaml", env={}).operations.process_pool
    assert worker["command"].split()[-4:] == ["--pool", pool, "--type", "process"]
    assert worker["environment"]["PREFECT_API_URL"].startswith("http://prefect-server")
    assert worker["environment"]["RAGTUNE_REGISTRY__TRACKING_URI"].endswith(":5000")
    # every named volume a service mounts is declared
    mounted = {
        v.split(":")[0]
        for s in services.values()
        for v in s.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert mounted <= set(compose["volumes"])


def test_gpu_pool_template_is_a_valid_base_job_template() -> None:
    import json

    template = json.loads((ROOT / "infra/prefect/gpu-work-pool.json").read_text())
    assert {"job_configuration", "variables"} <= set(template)
    assert "CUDA_VISIBLE_DEVICES" in template["job_configuration"]["env"]
