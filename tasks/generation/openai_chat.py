"""An OpenAI-compatible ``/chat/completions`` client (vLLM, TGI, Ollama, hosted APIs).

The key is handed in already resolved (from an environment variable or a Prefect
Secret block, see ``factory.py``); it lives only in the request header and is never
logged or shown in ``repr``. Token counts come from the server's ``usage``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Iterator
from typing import Any

import httpx

from ragtune.errors import ConfigError
from ragtune.tasks.generation.base import (
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    StreamEnd,
)
from ragtune.tasks.generation.stops import cut_at_stop, stream_until_stop

log = logging.getLogger(__name__)

_SSE_DATA = "data:"
_SSE_DONE = "[DONE]"


class OpenAIChatGenerator:
    """Answers through an OpenAI-compatible chat endpoint.

    Args:
        endpoint: Base URL including the API version, e.g. ``http://host:8000/v1``.
        model: The model name the endpoint serves.
        api_key: Bearer key, or None for endpoints without authentication.
        timeout_s: Per-request timeout (connect and read).
    """

    def __init__(
        self,
        endpoint: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"generation.endpoint {endpoint!r} is not an http(s) URL")
        self.endpoint = endpoint.rstrip("/")
        self.name = f"openai:{model}"
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=self.endpoint, headers=headers, timeout=timeout_s
        )

    def __repr__(self) -> str:
        return f"OpenAIChatGenerator(endpoint={self.endpoint!r}, model={self._model!r})"

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def generate(self, messages: list[Message], params: GenerationParams) -> Generation:
        """One completion; tokens from ``usage`` (0 when the server omits it)."""
        start = time.perf_counter()
        response = self._post(self._body(messages, params, stream=False))
        latency = time.perf_counter() - start
        try:
            reply = response.json()
            choice = reply["choices"][0]
            raw = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise GenerationError(
                f"{self.name}: reply is not a chat completion: {response.text[:200]!r}"
            ) from None
        text, stopped = cut_at_stop(raw, params.stop)
        usage = reply.get("usage") or {}
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(
            text=text,
            model=self.name,
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
            latency_s=latency,
            finish_reason="stop" if stopped else finish,
            meta={"endpoint": self.endpoint, "served_model": str(reply.get("model"))},
        )

    def stream(
        self, messages: list[Message], params: GenerationParams
    ) -> Generator[str, None, StreamEnd]:
        """Content deltas from the server-sent events, cut at any stop string."""
        body = self._body(messages, params, stream=True)
        try:
            with self._client.stream("POST", "/chat/completions", json=body) as resp:
                _check_status(resp, self.name, streamed=True)
                end: dict[str, Any] = {}
                pieces = _deltas(resp, self.name, end)
                stopped = yield from stream_until_stop(pieces, params.stop)
        except httpx.HTTPError as exc:
            raise GenerationError(f"{self.name}: {self.endpoint}: {exc}") from None
        usage = end.get("usage") or {}
        return StreamEnd(
            "stop" if stopped or end.get("finish_reason") != "length" else "length",
            _count(usage.get("prompt_tokens")),
            _count(usage.get("completion_tokens")),
        )

    def _body(
        self, messages: list[Message], params: GenerationParams, stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stream": stream,
        }
        if stream:  # token counts in a last chunk (OpenAI, vLLM; others ignore it)
            body["stream_options"] = {"include_usage": True}
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self._client.post("/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise GenerationError(f"{self.name}: {self.endpoint}: {exc}") from None
        _check_status(response, self.name, streamed=False)
        return response


def _check_status(response: httpx.Response, name: str, streamed: bool) -> None:
    if response.status_code == 200:
        return
    body = response.read().decode("utf-8", "replace") if streamed else response.text
    hint = " (check the API key)" if response.status_code in (401, 403) else ""
    raise GenerationError(
        f"{name}: endpoint answered {response.status_code}{hint}: {body[:200]}"
    )


def _deltas(response: httpx.Response, name: str, end: dict[str, Any]) -> Iterator[str]:
    """The ``choices[0].delta.content`` of each SSE ``data:`` event until [DONE];
    the upstream's ``finish_reason`` and ``usage``, when it sends them, land in
    ``end``."""
    for line in response.iter_lines():
        if not line.startswith(_SSE_DATA):
            continue  # blank separators, comments (": ping"), event names
        data = line[len(_SSE_DATA) :].strip()
        if data == _SSE_DONE:
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            raise GenerationError(
                f"{name}: malformed stream event {data[:200]!r}"
            ) from None
        if "error" in event:
            raise GenerationError(f"{name}: stream error: {event['error']}")
        if isinstance(event.get("usage"), dict):
            end["usage"] = event["usage"]
        for choice in event.get("choices") or []:
            if choice.get("index", 0) == 0:
                if choice.get("finish_reason"):
                    end["finish_reason"] = choice["finish_reason"]
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    yield piece


def _count(value: object) -> int | None:
    """A token count from an upstream's ``usage``, None when it sent none."""
    return int(value) if isinstance(value, int | float) and value >= 0 else None
