"""Strict request models and caller identification: what a client gets told when
a request is malformed or unauthenticated."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ragtune.errors import ConfigError
from ragtune.tasks.serving.api_errors import ApiError
from ragtune.tasks.serving.auth import Authenticator, key_id
from ragtune.tasks.serving.schemas import (
    ChatCompletionRequest,
    EmbeddingRequest,
    FeedbackRequest,
    describe_errors,
)

GOOD = {"model": "ragtune", "messages": [{"role": "user", "content": "What is APR?"}]}


def _problem(model, body: dict) -> tuple[str, str | None]:  # noqa: ANN001
    with pytest.raises(ValidationError) as info:
        model.model_validate_json(json.dumps(body))
    return describe_errors(info.value)


@pytest.mark.parametrize(
    ("body", "expected", "param"),
    [
        ({"model": "m"}, "messages: required field is missing", "messages"),
        (GOOD | {"messages": "hi"}, "messages: Input should be a valid array", None),
        (GOOD | {"temperature": "0.2"}, "temperature: Input should be a valid", None),
        (GOOD | {"temperature": 3}, "less than or equal to 2", "temperature"),
        (GOOD | {"top_k": 5}, "top_k: unknown field", "top_k"),
        (GOOD | {"n": 2}, "n: Input should be less than or equal to 1", "n"),
        (GOOD | {"stream": "yes"}, "stream: Input should be a valid boolean", None),
        (GOOD | {"messages": []}, "messages: List should have at least 1 item", None),
        (GOOD | {"as_of": "1 August"}, "as_of: Input should be a valid date", None),
        (
            GOOD | {"messages": [{"role": "user", "content": "   "}]},
            "a user message with non-empty content",
            None,
        ),
        (
            GOOD | {"messages": [{"role": "robot", "content": "hi"}]},
            "messages.0.role: Input should be",
            "messages.0.role",
        ),
    ],
)
def test_malformed_chat_requests_name_the_field(body, expected, param) -> None:  # noqa: ANN001
    message, first = _problem(ChatCompletionRequest, body)
    assert expected in message
    if param is not None:
        assert first == param


def test_not_json_at_all_is_named() -> None:
    with pytest.raises(ValidationError) as info:
        ChatCompletionRequest.model_validate_json(b"{not json")
    assert "Invalid JSON" in describe_errors(info.value)[0]


def test_question_is_the_last_user_turn_and_text_parts_join() -> None:
    body = GOOD | {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "answer"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is "},
                    {"type": "text", "text": "LTV?"},
                ],
            },
        ],
        "stop": ["\n\n"],
    }
    request = ChatCompletionRequest.model_validate_json(json.dumps(body))
    assert request.question() == "What is LTV?"
    assert request.stop_sequences() == ("\n\n",)


def test_image_parts_are_refused() -> None:
    part = {"type": "image_url", "image_url": {"url": "http://x/y.png"}}
    message, _ = _problem(
        ChatCompletionRequest,
        GOOD | {"messages": [{"role": "user", "content": [part]}]},
    )
    assert "type" in message


def test_embedding_and_feedback_validation() -> None:
    assert EmbeddingRequest(model="m", input="a").texts() == ["a"]
    assert "empty text" in _problem(EmbeddingRequest, {"model": "m", "input": [""]})[0]
    assert (
        "valid string"
        in _problem(EmbeddingRequest, {"model": "m", "input": [[1, 2]]})[0]
    )
    rid = "chatcmpl-" + "0" * 32
    assert FeedbackRequest(request_id=rid, score=5).satisfaction() == 1.0
    assert FeedbackRequest(request_id=rid, thumbs="down").satisfaction() == 0.0
    both = _problem(FeedbackRequest, {"request_id": rid, "score": 3, "thumbs": "up"})
    assert "exactly one of thumbs" in both[0]
    assert "score" in _problem(FeedbackRequest, {"request_id": rid, "score": 6})[0]
    assert "pattern" in _problem(FeedbackRequest, {"request_id": "x", "score": 2})[0]


def test_keys_are_checked_and_logged_by_id_only() -> None:
    auth = Authenticator.from_env("KEYS", {"KEYS": "alpha-secret, beta-secret"})
    caller = auth.identify({"authorization": "Bearer beta-secret"})
    assert caller.api_key_id == key_id("beta-secret") == caller.name
    assert "secret" not in caller.name
    named = auth.identify({"authorization": "Bearer alpha-secret", "x-user": "ana"})
    assert (named.name, named.api_key_id) == ("ana", key_id("alpha-secret"))
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "alpha"}):
        with pytest.raises(ApiError) as info:
            auth.identify(headers)
        assert info.value.status == 401


def test_x_user_is_recorded_as_a_keyed_pseudonym() -> None:
    from ragtune.tasks.serving.auth import pseudonym

    key, other = b"k" * 32, b"o" * 32
    auth = Authenticator.insecure_local(pseudonym_key=key)
    ana = auth.identify({"x-user": "ana@example.com"}).name
    assert ana == pseudonym("ana@example.com", key) and ana.startswith("user-")
    assert auth.identify({"x-user": "ana@example.com"}).name == ana  # stable
    assert auth.identify({"x-user": "bo@example.com"}).name != ana
    assert pseudonym("ana@example.com", other) != ana  # a new key unlinks them
    assert auth.identify({}).name == "anonymous"


def test_the_pseudonym_key_is_made_once_owner_only(tmp_path) -> None:  # noqa: ANN001
    from ragtune.app.serving import pseudonym_key

    key = pseudonym_key(tmp_path)
    path = tmp_path / "secrets" / "user-pseudonym.key"
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert pseudonym_key(tmp_path) == key


def test_keys_are_required_unless_insecure_local() -> None:
    local = Authenticator.insecure_local()
    assert local.identify({}).name == "anonymous"
    assert local.identify_admin({}).name == "anonymous"  # loopback: admin open too
    with pytest.raises(ConfigError, match="RAGTUNE_KEYS.*--insecure-local"):
        Authenticator.from_env("RAGTUNE_KEYS", {"RAGTUNE_KEYS": " , "})
    with pytest.raises(ConfigError, match="api_keys_env is null"):
        Authenticator.from_env(None, {})
    with pytest.raises(ApiError, match="X-User"):
        local.identify({"x-user": "a\nb"})


def test_admin_endpoints_need_an_admin_key() -> None:
    env = {"KEYS": "user-secret", "ADMIN": "admin-secret"}
    auth = Authenticator.from_env("KEYS", env, admin_env="ADMIN")
    admin = auth.identify_admin({"authorization": "Bearer admin-secret"})
    assert admin.api_key_id == key_id("admin-secret")
    assert auth.identify(
        {"authorization": "Bearer admin-secret"}
    ).api_key_id  # a user too
    with pytest.raises(ApiError) as refused:
        auth.identify_admin({"authorization": "Bearer user-secret"})
    assert refused.value.status == 403 and refused.value.code == "not_admin"
    with pytest.raises(ApiError) as missing:
        auth.identify_admin({})
    assert missing.value.status == 401
    no_admins = Authenticator.from_env("KEYS", env, admin_env="UNSET")
    with pytest.raises(ApiError) as off:
        no_admins.identify_admin({"authorization": "Bearer user-secret"})
    assert off.value.status == 403 and off.value.code == "admin_disabled"


def test_each_key_has_its_own_rate_limit() -> None:
    from ragtune.tasks.serving.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    for _ in range(3):
        limiter.take("key-a")
    with pytest.raises(ApiError) as limited:
        limiter.take("key-a")
    error = limited.value
    assert error.status == 429 and error.code == "rate_limit_exceeded"
    assert error.headers == {"Retry-After": "20"}  # one request per 20 s refills
    limiter.take("key-b")  # another key is not slowed by key-a's burst
    now[0] = 19.0
    with pytest.raises(ApiError):
        limiter.take("key-a")
    now[0] = 20.5
    limiter.take("key-a")  # refilled
    unlimited = RateLimiter(0)
    for _ in range(1000):
        unlimited.take(None)


def test_as_of_is_a_day_and_the_recent_changes_are_named() -> None:
    from datetime import date

    from ragtune.tasks.index.retrieval import RetrievedChunk
    from ragtune.tasks.serving.retrieval import recent_changes

    dated = json.dumps(GOOD | {"as_of": "2026-08-01"})  # as a client sends it
    assert ChatCompletionRequest.model_validate_json(dated).as_of == date(2026, 8, 1)

    def chunk(doc: str, started: date | None, marks: tuple[str, ...] = ()):  # noqa: ANN202
        return RetrievedChunk(
            f"{doc}#1", doc, doc.title(), f"{doc}.md", "", "text", 0.1, 0.5,
            effective_date=started, amended_by=marks,
        )  # fmt: skip

    sources = [
        chunk("amendment", date(2026, 9, 1)),
        chunk("amendment", date(2026, 9, 1)),  # one entry per document
        chunk("policy", date(2024, 7, 1), ("erratum@2026-09-20#2.3",)),
        chunk("old-rule", date(2025, 1, 1)),
    ]
    assert recent_changes(sources, date(2026, 9, 25), 30) == [
        {"doc_id": "amendment", "title": "Amendment", "in_force_from": "2026-09-01"},
        {"doc_id": "erratum", "amends": "policy", "in_force_from": "2026-09-20"},
    ]
    assert recent_changes(sources, date(2026, 12, 6), 30) == []
