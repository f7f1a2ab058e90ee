"""The output filter and bearer keys on a real server: an upstream model that
echoes the question makes the answer carry a card number, an e-mail address and a
deny term, which must never reach the client, whole or streamed in pieces."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHAT = "/v1/chat/completions"


def _question(kit) -> str:  # noqa: ANN001
    return (
        f"My card {kit.CARD} was charged twice, write to {kit.EMAIL} about "
        "Project Falcon"
    )


def _auth(kit, user: str | None = None) -> dict[str, str]:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {kit.KEYS[1]}"}
    return headers | ({"X-User": user} if user else {})


def test_pii_and_deny_terms_are_removed_from_the_answer(echo, serving_kit) -> None:  # noqa: ANN001
    kit = serving_kit
    response = httpx.post(
        echo.url + CHAT,
        json=kit.chat_body(_question(kit)),
        headers=_auth(kit, "agent-3"),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    answer, _, cited = body["choices"][0]["message"]["content"].partition(
        "\n\nSources:\n"
    )
    assert answer == (
        "You asked: My card [card] was charged twice, write to [email] about [removed]"
    )
    assert cited.startswith("[1] ")
    (record,) = [
        r for r in echo.audit() if r["details"].get("request_id") == body["id"]
    ]
    assert record["actor"] == echo.pseudonym("agent-3") != "agent-3"
    assert record["details"]["filtered"] == {"card": 1, "email": 1, "deny_term": 1}
    assert record["details"]["model"] == "openai:echo"
    # Neither the audit log nor the query log keeps the raw personal data.
    (logged,) = [
        q for q in echo.jsonl("query_log.jsonl") if q["request_id"] == body["id"]
    ]
    for raw in (kit.CARD, kit.EMAIL):
        assert raw not in json.dumps(record) and raw not in logged["query"]
    assert logged["query"].startswith("My card [card] was charged twice")


def test_query_log_redacts_every_kind_while_answers_keep_names(
    echo,  # noqa: ANN001
    serving_kit,  # noqa: ANN001
) -> None:
    kit = serving_kit
    question = (
        "I am Helena Marsh, born 14/03/1985, of 221B Baker Street, London NW1 6XE; "
        "sort code 12-34-56, account number 12345678, NI number AB 12 34 56 C. "
        "Why was my standing order refused?"
    )
    response = httpx.post(
        echo.url + CHAT, json=kit.chat_body(question), headers=_auth(kit), timeout=60
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # The answer keeps serving.pii_kinds (no names, dates of birth, addresses or
    # bank accounts by default: documents name officers and branches).
    answer = body["choices"][0]["message"]["content"].split("\n\nSources:\n")[0]
    assert answer == "You asked: " + question.replace("AB 12 34 56 C", "[national_id]")
    (logged,) = [
        q for q in echo.jsonl("query_log.jsonl") if q["request_id"] == body["id"]
    ]
    assert logged["query"] == (
        "I am [name], born [date_of_birth], of [address]; sort code [bank_account], "
        "account number [bank_account], NI number [national_id]. Why was my "
        "standing order refused?"
    )


def test_pii_split_across_stream_chunks_is_still_caught(echo, serving_kit) -> None:  # noqa: ANN001
    kit = serving_kit
    whole = httpx.post(
        echo.url + CHAT,
        json=kit.chat_body(_question(kit)),
        headers=_auth(kit),
        timeout=60,
    ).json()["choices"][0]["message"]["content"]
    with httpx.stream(
        "POST",
        echo.url + CHAT,
        json=kit.chat_body(_question(kit), stream=True),
        headers=_auth(kit),
        timeout=60,
    ) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert len([p for p in pieces if p]) > 1  # really streamed in several pieces
    assert "".join(pieces) == whole
    for piece in pieces:
        assert "4111" not in piece and "@example" not in piece
    (record,) = [
        r for r in echo.audit() if r["details"].get("request_id") == chunks[0]["id"]
    ]
    assert record["details"]["filtered"] == {"card": 1, "email": 1, "deny_term": 1}
    assert record["details"]["completed"] is True


def test_bearer_key_required_and_logged_by_id_only(echo, serving_kit) -> None:  # noqa: ANN001
    kit = serving_kit
    for headers in ({}, {"Authorization": "Bearer not-a-key"}):
        refused = httpx.post(
            echo.url + CHAT, json=kit.chat_body(), headers=headers, timeout=30
        )
        assert refused.status_code == 401
        error = refused.json()["error"]
        assert error["type"] == "authentication_error"
        rid = refused.headers["x-request-id"]
        (record,) = [r for r in echo.audit() if r["details"].get("request_id") == rid]
        assert record["action"] == "answer.rejected" and record["actor"] == "anonymous"
    admin = echo.url + "/admin/reload"
    assert httpx.post(admin, timeout=30).status_code == 401
    assert httpx.post(echo.url + "/v1/retrieve", json={"query": "x"}).status_code == 401
    as_user = httpx.post(admin, headers=_auth(kit), timeout=30)
    assert as_user.status_code == 403 and as_user.json()["error"]["code"] == "not_admin"
    as_admin = httpx.post(
        admin, headers={"Authorization": f"Bearer {kit.ADMIN_KEY}"}, timeout=60
    )
    assert as_admin.status_code == 200, as_admin.text
    (reloaded,) = [r for r in echo.audit() if r["action"] == "serving.reloaded"]
    assert reloaded["actor"].startswith("key-")
    ok = httpx.post(
        echo.url + CHAT, json=kit.chat_body(), headers=_auth(kit), timeout=60
    )
    assert ok.status_code == 200
    (record,) = [
        r for r in echo.audit() if r["details"].get("request_id") == ok.json()["id"]
    ]
    assert record["actor"] == record["details"]["api_key_id"]
    assert record["actor"].startswith("key-")
    audit_text = echo.log_path.parent.joinpath("state-echo", "audit.jsonl").read_text()
    assert all(key not in audit_text for key in kit.KEYS)
    # the shipped key settings, not a test's own
    assert echo.settings.serving.api_keys_env == "RAGTUNE_API_KEYS"
    assert echo.settings.serving.admin_keys_env == "RAGTUNE_ADMIN_KEYS"
