"""``ragtune serve`` as a real process, called over HTTP: readiness, answers with
sources, streaming, malformed requests, feedback, embeddings and the audit trail.

The answering model is the config-built tiny model (random weights, so its text is
noise, but deterministic at temperature 0: exactly what equality checks need).
"""

from __future__ import annotations

import json
from datetime import date

import httpx
import numpy as np
import pytest

from tests._audit import project_audit

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHAT = "/v1/chat/completions"


def _served(records: list[dict], request_id: str) -> list[dict]:
    return [r for r in records if r["details"].get("request_id") == request_id]


def _sse_events(text: str) -> list[dict | str]:
    events: list[dict | str] = []
    for line in text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_not_ready_before_publish_then_reload_without_restart(tiny) -> None:  # noqa: ANN001
    assert tiny.before_readyz.status_code == 503
    body = tiny.before_readyz.json()
    assert body["ready"] is False and body["model"] is not None
    assert body["reasons"] == ["no published index (run `ragtune refresh`)"]

    refused = tiny.before_chat
    assert refused.status_code == 503
    assert "no published index" in refused.json()["error"]["message"]
    rid = refused.headers["x-request-id"]
    assert [r["action"] for r in _served(tiny.server.audit(), rid)] == [
        "answer.rejected"
    ]

    assert tiny.reload["index_changed"] is True and tiny.reload["index_tag"] == tiny.tag
    ready = httpx.get(tiny.server.url + "/readyz", timeout=10).json()
    assert ready["ready"] is True and ready["index_tag"] == tiny.tag
    assert httpx.get(tiny.server.url + "/healthz", timeout=10).json() == {
        "status": "ok"
    }


def test_answer_carries_sources_and_is_audited_and_logged(tiny, serving_kit) -> None:  # noqa: ANN001
    server = tiny.server
    response = httpx.post(
        server.url + CHAT,
        json=serving_kit.chat_body(),
        headers={"X-User": "agent-7"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    rid = body["id"]
    assert response.headers["x-request-id"] == rid and rid.startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(body["choices"][0]["message"]["content"], str)
    assert body["usage"]["prompt_tokens"] > 0
    sources = body["sources"]
    assert sources[0]["doc_id"] == "complaints-deadline"
    assert sources[0]["title"] == "Complaint handling rules"
    assert sources[0]["source_path"] == "regulatory/complaints-deadline.md"
    assert len(sources) == len({s["chunk_id"] for s in sources}) == 4
    # numbered, and cited in the text where every client shows them
    assert [s["n"] for s in sources] == [1, 2, 3, 4]
    _, cited = body["choices"][0]["message"]["content"].split("\n\nSources:\n")
    assert cited.splitlines()[0] == (
        "[1] Complaint handling rules (complaints-deadline)"
    )
    assert len(cited.splitlines()) == 4
    # answered from what is in force today; none of these documents changed lately
    assert body["validity"] == {
        "as_of": date.today().isoformat(),
        "recent_changes": [],
    }
    assert {"effective_date", "valid_until"} <= set(sources[0])

    (record,) = _served(server.audit(), rid)
    details = record["details"]
    assert record["action"] == "answer.served"
    # a person's name never reaches the append-only log: its keyed pseudonym does
    assert record["actor"] == server.pseudonym("agent-7") != "agent-7"
    assert "agent-7" not in json.dumps(server.audit())
    assert details["sources"] == [s["doc_id"] for s in sources]
    assert details["model"] == body["model"] and details["adapter_version"] is None
    assert details["index_tag"] == tiny.tag and details["index_version"] >= 1
    assert serving_kit.QUESTION not in json.dumps(record)  # only its hash
    assert len(details["question_sha256"]) == 64

    (logged,) = [q for q in server.jsonl("query_log.jsonl") if q["request_id"] == rid]
    assert logged["query"] == serving_kit.QUESTION
    assert logged["top_scores"] == [s["similarity"] for s in sources]
    assert logged["relevant"] is True and max(logged["top_scores"]) > 0.35
    assert logged["latency_ms"] > 0


def test_stream_joins_to_the_non_streaming_answer(tiny, serving_kit) -> None:  # noqa: ANN001
    url = tiny.server.url + CHAT
    whole = httpx.post(url, json=serving_kit.chat_body(), timeout=120).json()
    with httpx.stream(
        "POST", url, json=serving_kit.chat_body(stream=True), timeout=120
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response.read().decode())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [s["doc_id"] for s in chunks[0]["sources"]] == [
        s["doc_id"] for s in whole["sources"]
    ]
    # the same reason as the whole answer ("length" for the tiny model that never
    # stops by itself), not a constant "stop"
    finish = whole["choices"][0]["finish_reason"]
    assert chunks[-1]["choices"][0]["finish_reason"] == finish
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == whole["choices"][0]["message"]["content"]
    assert len({c["id"] for c in chunks}) == 1

    records = _served(tiny.server.audit(), chunks[0]["id"])
    assert [(r["action"], r["details"]["stream"]) for r in records] == [
        ("answer.served", True)
    ]


def test_a_stream_ends_with_usage_when_asked(tiny, serving_kit) -> None:  # noqa: ANN001
    url = tiny.server.url + CHAT
    whole = httpx.post(url, json=serving_kit.chat_body(), timeout=120).json()
    body = serving_kit.chat_body(stream=True) | {
        "stream_options": {"include_usage": True}
    }
    with httpx.stream("POST", url, json=body, timeout=120) as response:
        events = _sse_events(response.read().decode())
    *chunks, last, done = events
    assert done == "[DONE]" and last["choices"] == []
    assert last["usage"] == whole["usage"]  # greedy: the same tokens in and out
    assert chunks[-1]["choices"][0]["finish_reason"] is not None
    (logged,) = [
        q for q in tiny.server.jsonl("query_log.jsonl") if q["request_id"] == last["id"]
    ]
    assert logged["tokens_out"] == whole["usage"]["completion_tokens"]


def test_retrieval_alone_is_served_filtered_and_audited(tiny, serving_kit) -> None:  # noqa: ANN001
    url = tiny.server.url + "/v1/retrieve"
    response = httpx.post(url, json={"query": serving_kit.QUESTION, "k": 2}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [h["n"] for h in body["data"]] == [1, 2]
    top = body["data"][0]
    assert top["doc_id"] == "complaints-deadline" and "35 business days" in top["text"]
    assert body["index_tag"] == tiny.tag
    assert body["validity"]["as_of"] == date.today().isoformat()
    (record,) = _served(tiny.server.audit(), body["id"])
    assert record["action"] == "retrieval.served"
    assert record["details"]["sources"] == [h["doc_id"] for h in body["data"]]
    assert serving_kit.QUESTION not in json.dumps(record)
    bad = httpx.post(url, json={"query": "", "k": 99}, timeout=30)
    assert bad.status_code == 400
    assert "query" in bad.json()["error"]["message"]
    assert "k" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"model": "ragtune"}, "messages: required field is missing"),
        (
            {"model": "ragtune", "messages": "hello"},
            "messages: Input should be a valid array",
        ),
        (
            {"model": "ragtune", "messages": [{"role": "user", "content": 42}]},
            "messages.0.content",
        ),
        (
            {
                "model": "ragtune",
                "messages": [{"role": "user", "content": "hi"}],
                "temperature": "hot",
            },
            "temperature: Input should be a valid number",
        ),
        (b"{this is not json", "Invalid JSON"),
    ],
)
def test_malformed_request_is_400_and_audited_as_rejected(
    tiny,  # noqa: ANN001
    payload,  # noqa: ANN001
    fragment: str,
) -> None:
    server = tiny.server
    kwargs = {"content": payload} if isinstance(payload, bytes) else {"json": payload}
    response = httpx.post(server.url + CHAT, timeout=30, **kwargs)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and fragment in error["message"]
    rid = response.headers["x-request-id"]
    records = _served(server.audit(), rid)
    assert [r["action"] for r in records] == ["answer.rejected"]
    assert records[0]["details"]["status"] == 400
    assert rid not in {q["request_id"] for q in server.jsonl("query_log.jsonl")}


def test_an_oversized_request_is_413_and_health_still_answers(tiny) -> None:  # noqa: ANN001
    server = tiny.server
    prompt = "x" * 300_000  # over the shipped serving.max_request_bytes (256 KiB)
    body = {"model": "ragtune", "messages": [{"role": "user", "content": prompt}]}
    response = httpx.post(server.url + CHAT, json=body, timeout=30)
    assert response.status_code == 413
    assert (
        "over serving.max_request_bytes (262144)" in response.json()["error"]["message"]
    )
    rid = response.headers["x-request-id"]
    assert [r["details"]["status"] for r in _served(server.audit(), rid)] == [413]
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


def test_only_the_served_model_is_answered(tiny, serving_kit) -> None:  # noqa: ANN001
    server = tiny.server
    listed = httpx.get(server.url + "/v1/models", timeout=10).json()["data"]
    names = [m["id"] for m in listed]
    assert names[0] == "ragtune" and len(names) == 2  # the alias and the model
    for model in ("../../etc/passwd", "gpt-4o"):
        body = serving_kit.chat_body() | {"model": model}
        refused = httpx.post(server.url + CHAT, json=body, timeout=30)
        assert refused.status_code == 404
        error = refused.json()["error"]
        assert error["code"] == "model_not_found" and error["param"] == "model"
        assert f"model {model!r} is not served here" in error["message"]
    body = serving_kit.chat_body() | {"model": names[1]}
    assert httpx.post(server.url + CHAT, json=body, timeout=120).status_code == 200


def test_feedback_is_validated_and_stored(tiny, serving_kit) -> None:  # noqa: ANN001
    server = tiny.server
    answer = httpx.post(server.url + CHAT, json=serving_kit.chat_body(), timeout=120)
    rid = answer.json()["id"]
    ok = httpx.post(
        server.url + "/v1/feedback",
        json={"request_id": rid, "score": 4, "comment": "useful"},
        headers={"X-User": "agent-7"},
        timeout=30,
    )
    assert ok.status_code == 201 and ok.json()["request_id"] == rid
    thumbs = httpx.post(
        server.url + "/v1/feedback",
        json={"request_id": rid, "thumbs": "down"},
        timeout=30,
    )
    assert thumbs.status_code == 201
    stored = [f for f in server.jsonl("feedback.jsonl") if f["request_id"] == rid]
    assert [(f["score"], f["thumbs"], f["satisfaction"]) for f in stored] == [
        (4, None, 0.75),
        (None, "down", 0.0),
    ]
    assert stored[0]["caller"] == server.pseudonym("agent-7")
    assert stored[0]["comment"] == "useful"

    bad = [
        ({"request_id": rid, "score": 9}, 400, "score"),
        ({"request_id": rid}, 400, "exactly one of thumbs"),
        ({"request_id": rid, "thumbs": "sideways"}, 400, "thumbs"),
        ({"request_id": "chatcmpl-" + "0" * 32, "score": 3}, 404, "no answer"),
    ]
    for payload, status, fragment in bad:
        response = httpx.post(server.url + "/v1/feedback", json=payload, timeout=30)
        assert response.status_code == status, payload
        assert fragment in response.json()["error"]["message"]
    after = [f for f in server.jsonl("feedback.jsonl") if f["request_id"] == rid]
    assert after == stored  # rejected feedback wrote nothing


def test_embeddings_come_from_the_configured_embedder(tiny, embedder) -> None:  # noqa: ANN001
    texts = ["What is APR?", "final response to a complaint"]
    response = httpx.post(
        tiny.server.url + "/v1/embeddings",
        json={"model": "any", "input": texts},
        timeout=60,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == embedder.name
    served = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    np.testing.assert_allclose(served, embedder.embed(texts), atol=1e-4)
    empty = httpx.post(
        tiny.server.url + "/v1/embeddings",
        json={"model": "any", "input": []},
        timeout=30,
    )
    assert empty.status_code == 400


def test_audit_log_chain_verifies(tiny) -> None:  # noqa: ANN001

    settings = tiny.server.settings
    log = project_audit(settings)
    result = log.verify()
    assert result.ok, result.reason
    actions = {r["action"] for r in log.records()}
    assert {"answer.served", "answer.rejected", "serving.reloaded"} <= actions
