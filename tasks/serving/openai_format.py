"""Response bodies in OpenAI's chat-completion and embedding formats.

ragtune adds one field, ``sources`` (the retrieved documents an answer drew on,
numbered ``n``), which OpenAI clients keep as an extra attribute; since most
clients show only the message text, the answer text also ends with the same
numbered sources (``serving.citations: text``). ``system_fingerprint`` names the
model, adapter and index version that produced the answer.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ragtune.tasks.generation.base import Generation


def fingerprint(model: str, adapter: str | None, index_tag: str | None) -> str:
    return f"{model}|adapter:{adapter or 'none'}|index:{index_tag or 'untagged'}"


def completion(
    request_id: str,
    created: int,
    model: str,
    text: str,
    generation: Generation,
    sources: list[dict[str, Any]],
    system_fingerprint: str,
    validity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice (``sources`` and ``validity``
    are ragtune's additions: what the answer rests on and the day it holds for)."""
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": system_fingerprint,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": generation.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage(generation.tokens_in, generation.tokens_out),
        "sources": sources,
        **({"validity": validity} if validity is not None else {}),
    }


def numbered(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sources with their citation number ``n`` (1-based, rank order)."""
    return [{"n": n, **source} for n, source in enumerate(sources, start=1)]


def citations(sources: list[dict[str, Any]]) -> str:
    """The block the answer text ends with: ``[n] title (doc id, clause)`` per
    source, "" when there is none."""
    if not sources:
        return ""
    lines = []
    for source in sources:
        where = str(source["doc_id"])
        if source.get("clause"):
            where += f", clause {source['clause']}"
        lines.append(
            f"[{source['n']}] {source.get('title') or source['doc_id']} ({where})"
        )
    return "\n\nSources:\n" + "\n".join(lines)


def usage(tokens_in: int | None, tokens_out: int | None) -> dict[str, int]:
    """OpenAI's ``usage`` object; a count the backend could not tell is 0."""
    prompt, completion = tokens_in or 0, tokens_out or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def chunk(
    request_id: str,
    created: int,
    model: str,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a stream; ``delta`` None makes the
    choice-less last chunk that carries ``usage`` (``include_usage``)."""
    choices = [
        {
            "index": 0,
            "delta": delta,
            "finish_reason": finish_reason,
            "logprobs": None,
        }
    ]
    return {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [] if delta is None else choices,
        **extra,
    }


def sse(payload: dict[str, Any] | str) -> str:
    """One server-sent event: ``data: <json>`` and a blank line."""
    data = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    return f"data: {data}\n\n"


SSE_DONE = sse("[DONE]")


def embeddings(
    vectors: np.ndarray, model: str, encoding: str, tokens: int
) -> dict[str, Any]:
    """An embedding list; ``base64`` is little-endian float32, as OpenAI sends it."""
    data = []
    for index, vector in enumerate(vectors):
        values: Any
        if encoding == "base64":
            raw = np.asarray(vector, dtype="<f4").tobytes()
            values = base64.b64encode(raw).decode("ascii")
        else:
            values = [float(x) for x in vector]
        data.append({"object": "embedding", "index": index, "embedding": values})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
