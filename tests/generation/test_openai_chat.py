"""The OpenAI-compatible generator against a real HTTP server in a thread, which
answers with canned completions and server-sent events like vLLM or OpenAI do."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ragtune.errors import ConfigError
from ragtune.tasks.generation.base import GenerationError, GenerationParams, Message
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.generation.factory import build_generator
from ragtune.tasks.generation.openai_chat import OpenAIChatGenerator
from ragtune.tasks.training.config import QLoRAConfig

KEY = "sk-test-0123456789abcdef"
ANSWER = "The base premium is 420 EUR a year [pricing/motor.md]. END more"
PIECES = [
    "The base ",
    "premium is 420 EUR",
    " a year [pricing/motor.md].",
    " E",
    "ND more",
]
MESSAGES = [Message("user", "What is the base premium for a compact car?")]


class _Handler(BaseHTTPRequestHandler):
    """Canned chat completions; rejects any key but ``KEY``; records requests."""

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, {"error": {"message": "invalid api key"}})
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": "not found"}})
        if self.server.reply is not None:
            return self._send(200, self.server.reply)
        if body.get("stream"):
            return self._stream()
        return self._send(
            200,
            {
                "id": "cmpl-1",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ANSWER},
                        "finish_reason": "length",
                    }
                ],
                "usage": {
                    "prompt_tokens": 31,
                    "completion_tokens": 17,
                    "total_tokens": 48,
                },
            },
        )

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
        events += [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in PIECES]
        events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}]
        if (self.server.requests[-1]["body"].get("stream_options") or {}).get(
            "include_usage"
        ):
            usage = {"prompt_tokens": 31, "completion_tokens": 17, "total_tokens": 48}
            events += [{"choices": [], "usage": usage}]
        self.wfile.write(b": keep-alive\n\n")
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args) -> None:  # noqa: ANN002 - keep test output quiet
        pass


@pytest.fixture()
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.requests, httpd.reply = [], None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _endpoint(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def _config(httpd: ThreadingHTTPServer, **extra) -> GenerationConfig:  # noqa: ANN003
    fields = {"provider": "openai", "model": "served-7b", "endpoint": _endpoint(httpd)}
    return GenerationConfig(**(fields | extra))


def test_generate_sends_the_request_and_reads_usage(server, monkeypatch):
    monkeypatch.setenv("RAGTUNE_GENERATION_API_KEY", KEY)
    gen = build_generator(_config(server), QLoRAConfig())
    params = GenerationParams(max_new_tokens=40, temperature=0.2, seed=5)

    result = gen.generate(MESSAGES, params)

    assert result.text == ANSWER
    assert (result.tokens_in, result.tokens_out) == (31, 17)
    assert result.finish_reason == "length" and result.model == "openai:served-7b"
    sent = server.requests[-1]
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert sent["body"] == {
        "model": "served-7b",
        "messages": [{"role": "user", "content": MESSAGES[0].content}],
        "max_tokens": 40,
        "temperature": 0.2,
        "top_p": 1.0,
        "seed": 5,
        "stream": False,
    }


def test_stream_reads_server_sent_events(server):
    gen = OpenAIChatGenerator(_endpoint(server), "served-7b", api_key=KEY)

    stream, pieces = gen.stream(MESSAGES, GenerationParams()), []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as stop:
            end = stop.value
            break

    assert pieces == PIECES and server.requests[-1]["body"]["stream"] is True
    assert end.finish_reason == "length"  # the upstream's reason, as generate's
    # token counts asked for and read from the stream's last event
    assert server.requests[-1]["body"]["stream_options"] == {"include_usage": True}
    assert (end.tokens_in, end.tokens_out) == (31, 17)


def test_stop_strings_cut_generate_and_stream_alike(server):
    gen = OpenAIChatGenerator(_endpoint(server), "served-7b", api_key=KEY)
    params = GenerationParams(stop=("END",))

    cut = gen.generate(MESSAGES, params)

    assert cut.text == ANSWER[: ANSWER.index("END")] and cut.finish_reason == "stop"
    # "END" arrives split over two events; nothing of it may leak.
    assert "".join(gen.stream(MESSAGES, params)) == cut.text
    assert server.requests[-1]["body"]["stop"] == ["END"]


def test_refused_key_is_explained_and_never_shown(server, caplog):
    wrong = "sk-wrong-secret-value"
    gen = OpenAIChatGenerator(_endpoint(server), "served-7b", api_key=wrong)

    with caplog.at_level(logging.DEBUG), pytest.raises(GenerationError) as err:
        gen.generate(MESSAGES, GenerationParams())
    with pytest.raises(GenerationError, match="401"):
        list(gen.stream(MESSAGES, GenerationParams()))

    assert "401" in str(err.value) and "API key" in str(err.value)
    assert wrong not in str(err.value) + caplog.text + repr(gen)


def test_reply_that_is_not_a_completion_is_an_error(server):
    server.reply = {"unexpected": True}
    gen = OpenAIChatGenerator(_endpoint(server), "served-7b", api_key=KEY)

    with pytest.raises(GenerationError, match="not a chat completion"):
        gen.generate(MESSAGES, GenerationParams())


def test_unreachable_endpoint_is_a_generation_error(server):
    gen = OpenAIChatGenerator(_endpoint(server).replace("/v1", "/v2"), "m", KEY)
    with pytest.raises(GenerationError, match="404"):
        gen.generate(MESSAGES, GenerationParams())


def test_key_from_a_secret_block_through_the_resolver(server, monkeypatch):
    monkeypatch.delenv("RAGTUNE_GENERATION_API_KEY", raising=False)
    asked = []

    def resolver(name: str) -> str:
        asked.append(name)
        return KEY

    cfg = _config(server, secret_block="llm-key")
    gen = build_generator(cfg, QLoRAConfig(), secret_resolver=resolver)

    assert gen.generate(MESSAGES, GenerationParams()).text == ANSWER
    assert asked == ["llm-key"]
    with pytest.raises(ConfigError, match="secret_block 'llm-key'"):
        build_generator(cfg, QLoRAConfig())


def test_unset_key_variable_is_a_config_error(server, monkeypatch):
    monkeypatch.delenv("RAGTUNE_GENERATION_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="RAGTUNE_GENERATION_API_KEY is not set"):
        build_generator(_config(server), QLoRAConfig())
    # An open endpoint (no key at all) is allowed explicitly.
    open_gen = build_generator(_config(server, api_key_env=None), QLoRAConfig())
    with pytest.raises(GenerationError, match="401"):
        open_gen.generate(MESSAGES, GenerationParams())
    assert "Authorization" not in server.requests[-1]["headers"]
