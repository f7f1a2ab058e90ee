"""A model that cannot answer: a clear 502 (or an in-band stream error), audited
as ``answer.rejected`` and never as served. The app runs in-process here
(Starlette's TestClient, lifespan included) with the real OpenAI-compatible
generator pointed at a port where nothing listens."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragtune.app.serving import create_app
from ragtune.app.settings import load_settings
from ragtune.audit import AuditLog

pytestmark = pytest.mark.slow

CHAT = "/v1/chat/completions"


def test_upstream_down_gives_502_and_a_rejected_record(
    serve_root: Path,
    serving_kit,  # noqa: ANN001
    embedder,  # noqa: ANN001
) -> None:
    kit = serving_kit
    dead = f"http://127.0.0.1:{kit.free_port()}/v1"
    generation = {"provider": "openai", "model": "gone", "endpoint": dead}
    params = kit.write_params(
        serve_root, "down", generation | {"api_key_env": None}, {}
    )
    kit.publish_documents(params, embedder)
    settings = load_settings(params)
    with TestClient(
        create_app(settings, embedder=embedder, insecure_local=True)
    ) as client:
        _wait_ready(client)
        response = client.post(CHAT, json=kit.chat_body())
        assert response.status_code == 502
        error = response.json()["error"]
        assert error["type"] == "server_error" and "openai:gone" in error["message"]
        failed_id = response.headers["x-request-id"]

        streamed = client.post(CHAT, json=kit.chat_body(stream=True))
        events = [
            line[len("data: ") :]
            for line in streamed.text.splitlines()
            if line.startswith("data: ")
        ]
        assert "[DONE]" not in events
        last = json.loads(events[-1])
        assert "openai:gone" in last["error"]["message"]
        stream_id = json.loads(events[0])["id"]

    records = AuditLog(settings.path(settings.project.audit_log)).records()
    by_id = {
        r["details"]["request_id"]: r for r in records if "request_id" in r["details"]
    }
    for rid in (failed_id, stream_id):
        assert by_id[rid]["action"] == "answer.rejected"
        assert by_id[rid]["details"]["status"] == 502
    assert not [r for r in records if r["action"] == "answer.served"]


def _wait_ready(client: TestClient, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.2)
