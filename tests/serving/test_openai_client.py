"""The official ``openai`` Python package pointed at ``ragtune serve``."""

from __future__ import annotations

import numpy as np
import pytest

openai = pytest.importorskip("openai")

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def _client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


def test_chat_completion_and_stream_through_the_openai_client(
    tiny, serving_kit
) -> None:  # noqa: ANN001
    client = _client(tiny.server.url)
    messages = [{"role": "user", "content": serving_kit.QUESTION}]
    completion = client.chat.completions.create(
        model="ragtune", messages=messages, temperature=0, max_tokens=16
    )
    text = completion.choices[0].message.content
    assert isinstance(text, str) and completion.id.startswith("chatcmpl-")
    assert completion.usage is not None and completion.usage.completion_tokens <= 16
    sources = completion.model_extra["sources"]
    assert sources[0]["doc_id"] == "complaints-deadline"
    # what a client that shows only the message reads: the numbered sources
    cited = text.split("\n\nSources:\n")[1].splitlines()
    assert cited == [f"[{s['n']}] {s['title']} ({s['doc_id']})" for s in sources]

    stream = client.chat.completions.create(
        model="ragtune",
        messages=messages,
        temperature=0,
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text
    *_, finish, last = chunks
    assert finish.choices[0].finish_reason == completion.choices[0].finish_reason
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == completion.usage.completion_tokens
    assert last.usage.prompt_tokens == completion.usage.prompt_tokens


def test_embeddings_and_errors_through_the_openai_client(tiny, embedder) -> None:  # noqa: ANN001
    client = _client(tiny.server.url)
    result = client.embeddings.create(model="any", input=["What is AER?"])
    vector = np.asarray(result.data[0].embedding, dtype=np.float32)
    np.testing.assert_allclose(vector, embedder.embed(["What is AER?"])[0], atol=1e-4)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="ragtune", messages=[], temperature=0)
    assert "messages" in str(info.value)


def test_keys_through_the_openai_client(echo, serving_kit) -> None:  # noqa: ANN001
    with pytest.raises(openai.AuthenticationError):
        _client(echo.url, "wrong").chat.completions.create(
            model="ragtune", messages=[{"role": "user", "content": "hi"}]
        )
    reply = _client(echo.url, serving_kit.KEYS[0]).chat.completions.create(
        model="ragtune", messages=[{"role": "user", "content": "What is APR?"}]
    )
    answer, _, cited = reply.choices[0].message.content.partition("\n\nSources:\n")
    assert answer == "You asked: What is APR?" and cited.startswith("[1] ")
