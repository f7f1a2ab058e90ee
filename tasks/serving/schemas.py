"""Request models of the OpenAI-compatible API, strict on purpose.

Unknown fields and wrong types are rejected (400, OpenAI's error shape) instead
of being ignored or coerced: a client that thinks it set ``top_k`` or sent
``"temperature": "0.2"`` learns so at once rather than getting an answer made
with settings it did not ask for. Only text content is accepted.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REQUEST_ID_PATTERN = r"^chatcmpl-[0-9a-f]{32}$"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class TextPart(_Strict):
    """A content part; images and audio are not served here."""

    type: Literal["text"]
    text: str


class ChatMessage(_Strict):
    """One turn; ``developer`` is the newer OpenAI name for ``system``."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class StreamOptions(_Strict):
    include_usage: bool | None = None


class ChatCompletionRequest(_Strict):
    """``POST /v1/chat/completions``: the fields ragtune honours, nothing else."""

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: str | list[str] | None = None
    n: int | None = Field(None, ge=1, le=1, description="Only one choice is served.")
    seed: int | None = None
    user: str | None = None
    # ragtune's extension: answer with the rules in force on this day (default
    # today); superseded text is never a source.
    as_of: date | None = None

    @model_validator(mode="after")
    def _has_question(self) -> ChatCompletionRequest:
        if not self.question().strip():
            raise ValueError("messages need a user message with non-empty content")
        if isinstance(self.stop, list) and len(self.stop) > 4:
            raise ValueError("stop takes at most 4 sequences")
        return self

    def question(self) -> str:
        """The last user turn: what is retrieved for and logged."""
        users = [m for m in self.messages if m.role == "user"]
        return users[-1].text() if users else ""

    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class EmbeddingRequest(_Strict):
    """``POST /v1/embeddings``: text input only (token-id arrays are refused)."""

    model: str = Field(min_length=1)
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    @model_validator(mode="after")
    def _texts_present(self) -> EmbeddingRequest:
        texts = self.texts()
        if not texts or len(texts) > 256:
            raise ValueError("input takes 1 to 256 texts")
        if any(not t.strip() for t in texts):
            raise ValueError("input holds an empty text")
        return self

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class RetrieveRequest(_Strict):
    """``POST /v1/retrieve``: the chunks an answer would rest on, without the
    model (for clients that bring their own), in force on ``as_of``."""

    query: str = Field(min_length=1, max_length=8000)
    k: int | None = Field(None, ge=1, le=50)
    as_of: date | None = None


class FeedbackRequest(_Strict):
    """``POST /v1/feedback``: thumbs or a 1-5 score on one served answer."""

    request_id: str = Field(pattern=REQUEST_ID_PATTERN)
    thumbs: Literal["up", "down"] | None = None
    score: int | None = Field(None, ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _one_rating(self) -> FeedbackRequest:
        if (self.thumbs is None) == (self.score is None):
            raise ValueError("give exactly one of thumbs ('up'/'down') or score (1-5)")
        return self

    def satisfaction(self) -> float:
        """Rating on one 0-1 scale, so thumbs and scores can be averaged together."""
        if self.thumbs is not None:
            return 1.0 if self.thumbs == "up" else 0.0
        return (self.score - 1) / 4


def describe_errors(exc: ValidationError | list[dict]) -> tuple[str, str | None]:
    """A one-line message naming each bad field, and the first field's name.

    Accepts pydantic's error list too (FastAPI hands over ``exc.errors()``).
    """
    errors = exc.errors() if isinstance(exc, ValidationError) else exc
    by_place: dict[str, list[str]] = {}
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if not _type_tag(p))
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        else:
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        by_place.setdefault(where, []).append(msg)
    parts = [
        f"{where}: {' or '.join(dict.fromkeys(msgs))}" if where else "; ".join(msgs)
        for where, msgs in by_place.items()
    ]
    return "; ".join(parts), next((w for w in by_place if w), None)


def _type_tag(part: object) -> bool:
    """Loc parts that name a union branch (``str``, ``list[TextPart]``) or the
    request body, not a field a client wrote."""
    text = str(part)
    return text in ("body", "str", "int", "float", "bool") or "[" in text
