"""``ragtune refresh`` against a real Prefect server: the run, its name, its
artifacts and its events are on the server, where the UI shows them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import make_small_project, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_refresh_runs_on_the_server(
    prefect_server: str, tmp_path: Path, repo_root: Path
):
    make_small_project(tmp_path, repo_root)
    before = {r["id"] for r in httpx.post(f"{prefect_server}/flow_runs/filter").json()}
    result = run_cli(
        "refresh", "--json", cwd=tmp_path, env={"PREFECT_API_URL": prefect_server}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["published"] and summary["added"] == 7

    runs = httpx.post(f"{prefect_server}/flow_runs/filter", json={}).json()
    runs = [r for r in runs if r["id"] not in before]  # the server is shared
    refresh_runs = [r for r in runs if r["name"].startswith("refresh-")]
    assert len(refresh_runs) == 1 and refresh_runs[0]["state_type"] == "COMPLETED"
    artifacts = httpx.post(
        f"{prefect_server}/artifacts/filter",
        json={
            "artifacts": {
                "key": {"any_": ["refresh-summary", "freshness-report"]},
                "flow_run_id": {"any_": [refresh_runs[0]["id"]]},
            }
        },
    ).json()
    by_key = {a["key"]: a for a in artifacts}
    assert set(by_key) == {"refresh-summary", "freshness-report"}
    assert summary["tag"] in by_key["refresh-summary"]["data"]
    assert by_key["refresh-summary"]["flow_run_id"] == refresh_runs[0]["id"]
    assert summary["tag"] in _published_tags(prefect_server, summary["tag"])


def _published_tags(server: str, wanted: str, timeout_s: float = 30.0) -> list[str]:
    """Tags of the server's index.published events, newest first, waiting for
    ``wanted``: the server stores events asynchronously, and under load a
    refresh's event lands a few seconds after the CLI has exited."""
    deadline = time.monotonic() + timeout_s
    while True:
        events = httpx.post(
            f"{server}/events/filter",
            json={
                "filter": {
                    "event": {"name": ["ragtune.index.published"]},
                    "order": "DESC",
                },
                "limit": 50,
            },
        ).json()["events"]
        tags = [e["payload"]["tag"] for e in events]
        if wanted in tags or time.monotonic() > deadline:
            return tags
        time.sleep(0.5)
