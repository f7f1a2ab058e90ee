"""Per-key rate limits through the app (in-process, Starlette's TestClient): a
key past its requests per minute gets 429 with Retry-After, another key does
not, and a refused chat request is audited as rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ragtune.app.serving import create_app
from ragtune.app.settings import load_settings
from tests._audit import project_audit

pytestmark = pytest.mark.slow


def test_a_key_past_its_rate_limit_gets_429(
    serve_root: Path,
    serving_kit,  # noqa: ANN001
    embedder,  # noqa: ANN001
) -> None:
    kit = serving_kit
    dead = f"http://127.0.0.1:{kit.free_port()}/v1"
    generation = {"provider": "openai", "model": "gone", "endpoint": dead}
    params = kit.write_params(
        serve_root,
        "limited",
        generation | {"api_key_env": None},
        {"rate_limit_per_minute": 2},
    )
    settings = load_settings(params)
    environ = {"RAGTUNE_API_KEYS": ",".join(kit.KEYS)}
    app = create_app(settings, embedder=embedder, environ=environ)
    first, second = ({"Authorization": f"Bearer {key}"} for key in kit.KEYS)
    body = {"model": "any", "input": "What is AER?"}
    with TestClient(app) as client:
        for _ in range(2):
            assert client.post("/v1/embeddings", json=body, headers=first).is_success
        limited = client.post("/v1/embeddings", json=body, headers=first)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
        # 2 a minute: one refilled every 30 s, less the time the requests took
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        assert client.post("/v1/embeddings", json=body, headers=second).is_success
        chat = client.post("/v1/chat/completions", json=kit.chat_body(), headers=first)
        assert chat.status_code == 429
    rid = chat.headers["x-request-id"]
    (record,) = [
        r
        for r in project_audit(settings).records()
        if r["details"].get("request_id") == rid
    ]
    assert record["action"] == "answer.rejected" and record["details"]["status"] == 429
