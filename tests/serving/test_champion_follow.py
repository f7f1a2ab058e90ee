"""``ragtune serve`` follows the registry's champion without a restart.

A real server process polls the MLflow registry every second. The test promotes
a version, promotes another, then rolls back to the first, each time through the
registry API the flows use, and checks after each move that the same process now
answers with that version's adapter: ``/readyz`` names it, the chat answer's
``system_fingerprint`` and audit record carry it, and the answer text is the
adapter's own (the rolled-back champion answers exactly as it did before).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from ragtune.app.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

POLL_S = 1.0
# one poll, then loading the base model and the adapter on a busy 2-core box
PICKUP_TIMEOUT_S = 60.0


def _register(registry, root: Path, adapter: Path, index_tag: str) -> int:  # noqa: ANN001
    """Register a real adapter as a candidate evaluated with ``index_tag``."""
    from ragtune.tasks.registry.models import Lineage
    from tests._registry import make_candidate

    result, card = make_candidate(root, adapter.name, adapter=adapter)
    lineage = Lineage(
        dataset_version="test", dataset_hash=card.dataset_hash, index_tag=index_tag
    )
    return registry.register_candidate(result, card, lineage).version


def _wait_for_adapter(server, version: str | None) -> float:  # noqa: ANN001
    """Seconds until ``/readyz`` reports ``version`` as the serving adapter."""
    start = time.monotonic()
    while True:
        if server.proc.poll() is not None:
            pytest.fail(f"ragtune serve exited:\n{server.log_tail()}")
        body = httpx.get(server.url + "/readyz", timeout=10).json()
        waited = time.monotonic() - start
        if body["model"] is not None and body["adapter_version"] == version:
            return waited
        if waited > PICKUP_TIMEOUT_S:
            pytest.fail(
                f"adapter {version} not served after {waited:.0f} s (readyz: "
                f"{body}):\n{server.log_tail()}"
            )
        time.sleep(0.2)


def _ask(server, kit) -> dict:  # noqa: ANN001
    response = httpx.post(
        server.url + "/v1/chat/completions", json=kit.chat_body(), timeout=120
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_promotion_and_rollback_are_served_without_restart(
    serve_root: Path,
    tmp_path: Path,
    embedder,  # noqa: ANN001
    serving_kit,  # noqa: ANN001
) -> None:
    from ragtune.app.catalog import Catalog

    kit = serving_kit
    generation = {"provider": "tiny", "max_new_tokens": 16}
    params = kit.write_params(
        serve_root, "champion", generation, {"poll_interval_s": POLL_S}
    )
    tag = kit.publish_documents(params, embedder)
    registry = Catalog.from_settings(load_settings(params)).registry()
    for seed, name in ((5, "answerer-a"), (6, "answerer-b")):  # versions 1 and 2
        adapter = kit.lora_adapter(tmp_path / "adapters" / name, seed=seed)
        _register(registry, tmp_path / "runs", adapter, tag)
    assert registry.champion() is None  # registered, not promoted: base serves

    log = serve_root / "champion.log"
    server = kit.Server(params, kit.free_port(), log, env={"OMP_NUM_THREADS": "1"})
    try:
        server.start()
        server.wait("/readyz")
        pid = server.proc.pid
        _wait_for_adapter(server, None)
        answers = {"base": _ask(server, kit)}
        moves = [
            ("v1", "1", lambda: registry.promote(1, None, "dana", "first champion")),
            ("v2", "2", lambda: registry.promote(2, None, "dana", "better answers")),
            ("back", "1", lambda: registry.rollback(1, "erin", "bad answers")),
        ]
        for key, version, move in moves:
            assert move().changed
            _wait_for_adapter(server, version)
            answers[key] = _ask(server, kit)
        assert server.proc.poll() is None and server.proc.pid == pid  # no restart
    finally:
        server.stop()

    fingerprints = {k: a["system_fingerprint"] for k, a in answers.items()}
    assert fingerprints["base"].endswith(f"|adapter:none|index:{tag}")
    assert "|adapter:1|" in fingerprints["v1"] and "|adapter:2|" in fingerprints["v2"]
    assert fingerprints["back"] == fingerprints["v1"]
    text = {k: a["choices"][0]["message"]["content"] for k, a in answers.items()}
    assert len({text["base"], text["v1"], text["v2"]}) == 3  # three different models
    assert text["back"] == text["v1"]  # the rolled-back champion, weights and all
    served = {
        r["details"]["request_id"]: r["details"]["adapter_version"]
        for r in server.audit()
        if r["action"] == "answer.served"
    }
    assert [served[a["id"]] for a in answers.values()] == [None, "1", "2", "1"]
