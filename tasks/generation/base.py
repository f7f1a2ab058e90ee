"""The generator interface every model backend implements.

Evaluation, serving and the decision framework only see this protocol, so a local
Hugging Face model, an OpenAI-compatible endpoint and the config-built tiny model
are interchangeable.
"""

from __future__ import annotations

from collections.abc import Generator as Generator_
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ragtune.errors import RagtuneError

Role = Literal["system", "user", "assistant"]


class GenerationError(RagtuneError):
    """A model backend could not answer (endpoint down, refused key, bad reply)."""


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings; temperature 0 means greedy (reproducible evaluations)."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 13


@dataclass(frozen=True)
class Generation:
    """A finished answer with what it cost: tokens in and out, wall time."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    finish_reason: Literal["stop", "length"] = "stop"
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamEnd:
    """How a streamed answer ended, and its token counts when the backend knows
    them (None when it does not): what ``usage`` reports at the end of a stream."""

    finish_reason: Literal["stop", "length"] = "stop"
    tokens_in: int | None = None
    tokens_out: int | None = None


@runtime_checkable
class Generator(Protocol):
    """Answers chat messages. ``name`` identifies model and adapter for audit logs."""

    name: str

    def generate(
        self, messages: list[Message], params: GenerationParams
    ) -> Generation: ...

    def stream(
        self, messages: list[Message], params: GenerationParams
    ) -> Generator_[str, None, StreamEnd | None]:
        """Text pieces as they are produced; joined they equal ``generate``'s text.

        A generator: its return value (``StopIteration.value``) is a ``StreamEnd``
        with the finish reason ("stop" or "length", as ``generate`` would report
        it) and the token counts (None when the backend cannot tell).
        """
        ...
