"""ragtune running itself on a real Prefect server: deploy, watch, automations,
refresh, retrain with a person's approval, promotion, audit, a failure
notification, and the runs seen in the Prefect UI (headless Chromium).

Database: SQLite unless ``RAGTUNE_E2E_PREFECT_DB`` names another one (``.ci/run``
starts Debian's Postgres and sets it); the test prints which one it used.
Screenshots go to ``tmp_path``, and also to ``RAGTUNE_SCREENSHOT_DIR`` when set
(that is how ``docs/images/`` is made).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from tests._tiny import use_tiny_model
from tests.cli.conftest import make_small_project, run_cli
from tests.flows._project import LENIENT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AMENDMENT = """# Capital requirements amendment

Section 4.2 is amended. Firms must hold a buffer of 12% (previously 10%).
This amendment shall apply from 1 March 2026 and is effective on that date.
Section 4.3 is deleted. Firms must not count deferred tax assets.
"""
APPROVAL = {"approve": True, "reason": "amendment reviewed", "approver": "dana"}


def _project(tmp_path: Path, repo_root: Path, webhook: str) -> tuple[Path, Path]:
    """The small project, watching ``regulator/``, with a tiny, fast retrain."""
    params = make_small_project(tmp_path, repo_root)
    source = tmp_path / "regulator"
    source.mkdir()
    raw = yaml.safe_load(params.read_text())
    raw["watch"]["sources"] = [
        {"name": "regulator", "kind": "folder", "path": "regulator"}
    ]
    raw["retrain"].update(cooldown_hours=0)
    raw["dataset"].update(
        curated_dir=str(repo_root / "data/sft/curated"), out_dir="sft"
    )
    shutil.copytree(repo_root / "data/prompts", tmp_path / "data/prompts")
    use_tiny_model(raw)  # the tiny model, not the shipped SmolLM2: a fast retrain
    raw["training"].update(
        max_steps=2, batch_size=2, gradient_accumulation_steps=1, max_seq_len=512
    )
    raw["generation"].update(max_new_tokens=8)
    # a person approves in the UI form (here: the same API call the form makes)
    raw["promotion"].update(
        eval_limit=4, auto_approve=False, approval_timeout_s=600, **LENIENT
    )
    raw["operations"]["notify"] = {"kind": "webhook", "url": webhook}
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


_EARLIER: set[str] = set()  # runs other tests left on the shared server


def _runs(api: str) -> list[dict]:
    runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
    return [r for r in runs if r["id"] not in _EARLIER]


def _wait_for(api: str, prefix: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in _runs(api) if r["name"].startswith(prefix)]
        done = [
            r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED")
        ]
        if done:
            return done[0]
        time.sleep(2)
    raise AssertionError(
        f"no finished run named {prefix}* in {timeout}s: {_names(api)}"
    )


def _names(api: str) -> list[tuple[str, str]]:
    return [(r["name"], r["state_type"]) for r in _runs(api)]


def _approve_when_paused(api: str, stop: threading.Event, approved: list) -> None:
    """Resume the first paused run with the approval form's answer."""
    paused = {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}}
    while not stop.is_set() and not approved:
        for run in httpx.post(f"{api}/flow_runs/filter", json=paused).json():
            reply = httpx.post(
                f"{api}/flow_runs/{run['id']}/resume", json={"run_input": APPROVAL}
            ).json()
            if reply.get("status") == "ACCEPT":  # REJECT: form not saved yet
                approved.append(run["name"])
        stop.wait(1)


@pytest.fixture()
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP endpoint that records the JSON bodies posted to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"] or 0))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.fixture()
def worker(prefect_server: str, tmp_path: Path) -> Iterator[subprocess.Popen]:
    env = os.environ | {
        "PREFECT_API_URL": prefect_server,
        "PREFECT_HOME": str(tmp_path / ".prefect"),
        "PREFECT_WORKER_QUERY_SECONDS": "2",  # picks up each chained run sooner
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


def test_regulatory_change_to_approved_model(
    prefect_server: str, tmp_path: Path, repo_root: Path, worker, webhook, capsys
) -> None:  # noqa: ANN001
    db = os.environ.get("RAGTUNE_E2E_PREFECT_DB", "sqlite")
    with capsys.disabled():
        print(f"\n[e2e] prefect server database: {db.split('?')[0]}")  # noqa: T201
    url, notifications = webhook
    _EARLIER.update(r["id"] for r in _runs(prefect_server))
    params, source = _project(tmp_path, repo_root, url)
    env = {"PREFECT_API_URL": prefect_server}
    deployed = run_cli("deploy", "--json", cwd=tmp_path, env=env)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    applied = json.loads(deployed.stdout)
    assert "trigger-router/trigger-router" in applied["deployments"]
    assert "knowledge-refresh/refresh-regulatory" in applied["deployments"]
    assert "ragtune: ragtune.regulatory.updated" in applied["automations"]
    assert "ragtune: flow run failed" in applied["automations"]

    stop, approved = threading.Event(), []
    approver = threading.Thread(
        target=_approve_when_paused, args=(prefect_server, stop, approved)
    )
    approver.start()
    try:
        (source / "capital-amendment.md").write_text(AMENDMENT)
        watched = run_cli("watch", "--once", "--json", cwd=tmp_path, env=env)
        assert watched.returncode == 0, watched.stderr[-3000:]
        router = _wait_for(prefect_server, "trigger-regulatory-updated", 180)
        assert router["state_type"] == "COMPLETED"
        refresh = _wait_for(prefect_server, "refresh-regulatory-", 300)
        assert refresh["state_type"] == "COMPLETED", _names(prefect_server)
        retrain = _wait_for(prefect_server, "retrain-regulatory-update", 420)
    finally:
        stop.set()
        approver.join(10)
    assert retrain["state_type"] == "COMPLETED", _names(prefect_server)
    assert approved == [retrain["name"]]
    # the source.changed of the same change routed no second refresh
    refreshes = [r for r in _runs(prefect_server) if r["name"].startswith("refresh-")]
    assert len(refreshes) == 1, _names(prefect_server)
    # the retrain started after the refresh, so it was evaluated on the new index
    assert retrain["start_time"] > refresh["end_time"]
    deadline = [  # scheduled runs get their name when they start
        r
        for r in _runs(prefect_server)
        if r["parameters"].get("event_name") == "ragtune.retrain.deadline"
    ]
    assert deadline and deadline[0]["state_type"] == "SCHEDULED"

    models = run_cli("model", "list", "--json", cwd=tmp_path, env=env)
    listing = json.loads(models.stdout)
    [champion] = [v for v in listing["versions"] if "champion" in v["aliases"]]
    assert champion["approver"] == "dana"
    published = _audit(tmp_path, "index.published")[-1]["details"]["tag"]
    assert champion["index_tag"] == published

    verified = run_cli("audit", "verify", cwd=tmp_path, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    decided = _audit(tmp_path, "trigger.decided")
    assert {r["details"]["trigger_event"]["name"] for r in decided} == {
        "ragtune.source.changed",
        "ragtune.regulatory.updated",
    }
    _failure_is_notified(prefect_server, notifications)
    _screenshots(prefect_server, refresh, retrain, tmp_path)


def _audit(project: Path, action: str) -> list[dict]:
    lines = (project / "state/audit.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["action"] == action]


def _failure_is_notified(api: str, notifications: list[dict]) -> None:
    """A rollback to a version that does not exist fails; the webhook hears of it."""
    [deployment] = httpx.post(
        f"{api}/deployments/filter",
        json={"deployments": {"name": {"any_": ["rollback"]}}},
    ).json()
    run = httpx.post(
        f"{api}/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": {"version": 99, "reason": "e2e: must fail"}},
    ).json()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not any(
        run["id"] in n.get("body", "") for n in notifications
    ):
        time.sleep(2)
    final = httpx.get(f"{api}/flow_runs/{run['id']}").json()
    assert final["state_type"] == "FAILED"
    [note] = [n for n in notifications if run["id"] in n.get("body", "")]
    # the run renamed itself: the message names what failed, why, and links to it
    assert note["subject"] == f"ragtune: flow run {final['name']} failed"
    assert "rollback-to-v99" in note["body"] and "never promoted" in note["body"]
    assert f"{api.removesuffix('/api')}/runs/flow-run/{run['id']}" in note["body"]


def _screenshots(api: str, refresh: dict, retrain: dict, tmp_path: Path) -> None:
    """The run page and its artifact's page, as an operator opens them."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    ui = api.removesuffix("/api")
    keep = os.environ.get("RAGTUNE_SCREENSHOT_DIR")
    tag = _audit(tmp_path, "index.published")[-1]["details"]["tag"]
    pages = [  # (name, run, artifact key, text the artifact must show)
        ("refresh", refresh, "refresh-summary", tag),
        ("retrain", retrain, "promotion-report", tag),
        # the configuration the run used, resolved, named by its sha256
        ("retrain", retrain, "resolved-config", _digest(tmp_path)[:16]),
    ]
    shot_runs: set[str] = set()
    for name, run, key, shows in pages:
        [artifact] = httpx.post(
            f"{api}/artifacts/filter",
            json={
                "artifacts": {
                    "key": {"any_": [key]},
                    "flow_run_id": {"any_": [run["id"]]},
                }
            },
        ).json()
        urls = {f"operations-{name}-{key}": f"{ui}/artifacts/artifact/{artifact['id']}"}
        if run["id"] not in shot_runs:  # each run page once
            urls[f"operations-{name}-run"] = f"{ui}/runs/flow-run/{run['id']}"
            shot_runs.add(run["id"])
        doms = {}
        for shot, url in urls.items():
            png = tmp_path / f"{shot}.png"
            doms[shot] = _chromium(chromium, url, png, tmp_path / "chrome-profile")
            assert png.stat().st_size > 10_000
            if keep:
                shutil.copy2(png, Path(keep) / png.name)
        artifact_page, *run_page = doms.values()
        for page in run_page:
            assert run["name"] in page and "Completed" in page, page[-2000:]
        # the artifact page renders the markdown the flow wrote, run name beside it
        assert key in artifact_page and run["name"] in artifact_page
        assert shows in artifact_page, artifact_page[-2000:]


def _digest(project: Path) -> str:
    """The configuration digest the worker's runs resolve (same file, same env)."""
    from ragtune.app.settings import load_settings
    from ragtune.flows._wiring import config_digest

    return config_digest(load_settings(project / "params.yaml"))


def _chromium(exe: str, url: str, png: Path, profile: Path) -> str:
    """Screenshot ``url`` into ``png``; return the rendered DOM."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1600,1000",
        "--virtual-time-budget=15000",
    ]
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run([exe, *flags, f"--screenshot={png}", url], **run)
    return subprocess.run([exe, *flags, "--dump-dom", url], text=True, **run).stdout
