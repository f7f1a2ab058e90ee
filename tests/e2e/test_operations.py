"""ragtune running itself on a real Prefect server: deploy, watch, automations,
refresh, retrain, audit, and the run seen in the Prefect UI (headless Chromium).

Database: the ``prefect_server`` fixture uses SQLite; with
``RAGTUNE_E2E_PREFECT_DB`` set (``.ci/run`` sets it to its Postgres), the server
runs on that instead. The test prints which one it used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.cli.conftest import make_small_project, run_cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    # Issue 8 is open: on 2 cores the requested retrain (SFT build + gates + training)
    # outlasts the wait, and Chromium/Postgres are not installed by .ci/run yet.
    pytest.mark.skip(reason="issue 8 in progress: retrain stage too slow for CI"),
]

AMENDMENT = """# Capital requirements amendment

Section 4.2 is amended. Firms must hold a buffer of 12% (previously 10%).
This amendment shall apply from 1 March 2026 and is effective on that date.
Section 4.3 is deleted. Firms must not count deferred tax assets.
"""


def _project(tmp_path: Path, repo_root: Path) -> tuple[Path, Path]:
    params = make_small_project(tmp_path, repo_root)
    source = tmp_path / "regulator"
    source.mkdir()
    raw = yaml.safe_load(params.read_text())
    raw["watch"]["sources"] = [
        {"name": "regulator", "kind": "folder", "path": "regulator"}
    ]
    raw["retrain"].update(cooldown_hours=0)
    # the SFT set is built from the curated examples that ship with the repo
    raw["dataset"].update(
        curated_dir=str(repo_root / "data/sft/curated"), out_dir="sft"
    )
    shutil.copytree(repo_root / "data/prompts", tmp_path / "data/prompts")
    raw["training"].update(max_steps=2, batch_size=2, gradient_accumulation_steps=1)
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    # the latest decision record sends a gap to fine-tuning: knowledge in the model
    decisions = tmp_path / "state" / "decisions"
    decisions.mkdir(parents=True)
    record = {
        "record_id": "r1",
        "decisions": [{"gap": "capital", "recommendation": "both"}],
    }
    (decisions / "r1.json").write_text(json.dumps(record))
    (decisions / "latest").write_text("r1\n")
    return params, source


def _runs(api: str) -> list[dict]:
    return httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()


def _wait_for(api: str, prefix: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in _runs(api) if r["name"].startswith(prefix)]
        done = [
            r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")
        ]
        if done:
            return done[0]
        time.sleep(3)
    raise AssertionError(
        f"no finished run named {prefix}* in {timeout}s: {_names(api)}"
    )


def _names(api: str) -> list[tuple[str, str]]:
    return [(r["name"], r["state_type"]) for r in _runs(api)]


@pytest.fixture()
def worker(prefect_server: str, tmp_path: Path):  # noqa: ANN201
    env = os.environ | {
        "PREFECT_API_URL": prefect_server,
        "PREFECT_HOME": str(tmp_path / ".prefect"),
    }
    exe = Path(sys.executable).with_name("prefect")
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "worker", "start", "--pool", "ragtune-cpu", "--type", "process"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_regulatory_change_to_retrained_model(
    prefect_server: str, tmp_path: Path, repo_root: Path, worker, capsys
) -> None:  # noqa: ANN001
    db = os.environ.get("RAGTUNE_E2E_PREFECT_DB", "sqlite")
    with capsys.disabled():
        print(f"\n[e2e] prefect server database: {db}")  # noqa: T201
    params, source = _project(tmp_path, repo_root)
    env = {"PREFECT_API_URL": prefect_server}
    deployed = run_cli("deploy", "--json", cwd=tmp_path, env=env)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    applied = json.loads(deployed.stdout)
    assert "trigger-router/trigger-router" in applied["deployments"]
    assert "knowledge-refresh/refresh-regulatory" in applied["deployments"]
    assert "ragtune: ragtune.regulatory.updated" in applied["automations"]

    (source / "capital-amendment.md").write_text(AMENDMENT)
    watched = run_cli("watch", "--once", "--json", cwd=tmp_path, env=env)
    assert watched.returncode == 0, watched.stderr[-3000:]

    router = _wait_for(prefect_server, "trigger-regulatory-updated", 180)
    assert router["state_type"] == "COMPLETED"
    refresh = _wait_for(prefect_server, "refresh-regulatory-", 300)
    assert refresh["state_type"] == "COMPLETED", _names(prefect_server)
    retrain = _wait_for(prefect_server, "retrain-regulatory-update", 300)
    assert retrain["state_type"] == "COMPLETED", _names(prefect_server)
    deadline = [  # scheduled runs get their name when they start
        r
        for r in _runs(prefect_server)
        if r["parameters"].get("event_name") == "ragtune.retrain.deadline"
    ]
    assert deadline and deadline[0]["state_type"] == "SCHEDULED"

    verified = run_cli("audit", "verify", cwd=tmp_path, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    audit = [
        json.loads(x) for x in (tmp_path / "state/audit.jsonl").read_text().splitlines()
    ]
    decided = [r for r in audit if r["action"] == "trigger.decided"]
    assert any(
        r["details"]["trigger_event"]["name"] == "ragtune.regulatory.updated"
        for r in decided
    )
    _screenshot(prefect_server, refresh, tmp_path, repo_root)


def _screenshot(api: str, run: dict, tmp_path: Path, repo_root: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    url = api.removesuffix("/api") + f"/runs/flow-run/{run['id']}?tab=Artifacts"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1600,1000",
        "--virtual-time-budget=15000",
    ]
    png = tmp_path / "refresh-run.png"
    subprocess.run(
        [chromium, *flags, f"--screenshot={png}", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", url],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert run["name"] in dom
    assert "refresh-summary" in dom
    assert png.stat().st_size > 10_000
    shutil.copy2(png, repo_root / "docs/images/operations-refresh-run.png")
