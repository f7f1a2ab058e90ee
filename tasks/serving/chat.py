"""Answering one chat request: retrieve, prompt, generate, filter, record.

``prepare`` does everything that can still fail with a clean HTTP error
(readiness, retrieval, prompt); ``complete`` and ``stream`` then generate. The
model and index version are taken once per request, so a reload in the middle
of a stream cannot mix two models or two index versions in one answer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.generation.base import (
    GenerationError,
    GenerationParams,
    Message,
    StreamEnd,
)
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.generation.prompts import ContextSource, PromptTemplate
from ragtune.tasks.index.retrieval import RetrievedChunk
from ragtune.tasks.serving import openai_format as fmt
from ragtune.tasks.serving.api_errors import NOT_FOUND, SERVER, UNAVAILABLE, ApiError
from ragtune.tasks.serving.auth import Caller
from ragtune.tasks.serving.config import ServingConfig
from ragtune.tasks.serving.output_filter import OutputFilter
from ragtune.tasks.serving.records import Recorder, Served
from ragtune.tasks.serving.resolver import LoadedModel, ModelResolver
from ragtune.tasks.serving.retrieval import LiveIndex, LiveState, recent_changes
from ragtune.tasks.serving.schemas import ChatCompletionRequest, RetrieveRequest

log = logging.getLogger(__name__)
# The name every client may ask for: whatever champion is being served now.
SERVED_ALIAS = "ragtune"


@dataclass(frozen=True)
class RequestContext:
    """Identity and clock of one request."""

    request_id: str
    caller: Caller
    started: float
    created: int

    @classmethod
    def new(cls, caller: Caller) -> RequestContext:
        return cls(
            f"chatcmpl-{uuid.uuid4().hex}", caller, time.monotonic(), int(time.time())
        )


@dataclass(frozen=True)
class Prepared:
    """A request ready to generate: the model, index version, sources and prompt."""

    ctx: RequestContext
    request: ChatCompletionRequest
    model: LoadedModel
    index: LiveState
    sources: list[RetrievedChunk]
    messages: list[Message]
    params: GenerationParams
    as_of: date
    recent_change_days: int = 30

    def validity(self) -> dict[str, Any]:
        """The day the sources are in force on and the rule changes near it."""
        return {
            "as_of": self.as_of.isoformat(),
            "recent_changes": recent_changes(
                self.sources, self.as_of, self.recent_change_days
            ),
        }

    def public_sources(self) -> list[dict[str, Any]]:
        """The sources as clients see them, numbered as the answer cites them."""
        return fmt.numbered([s.public() for s in self.sources])

    @property
    def fingerprint(self) -> str:
        name = self.model.generator.name
        return fmt.fingerprint(name, self.model.adapter_version, self.index.tag)


class ChatService:
    """Turns validated chat requests into filtered, recorded answers."""

    def __init__(
        self,
        cfg: ServingConfig,
        generation: GenerationConfig,
        template: PromptTemplate,
        index: LiveIndex,
        resolver: ModelResolver,
        recorder: Recorder,
        output_filter: OutputFilter,
    ) -> None:
        self.cfg, self.generation, self.template = cfg, generation, template
        self.index, self.resolver, self.recorder = index, resolver, recorder
        self.output_filter = output_filter

    def prepare(self, ctx: RequestContext, request: ChatCompletionRequest) -> Prepared:
        """Pin model and index, retrieve sources and build the prompt.

        Raises:
            ApiError: 503 while no model is loaded or no index is published, 400
                for a question search refuses, 500 for a server-side mismatch.
        """
        model, state = self.resolver.current, self.index.current
        if model is None:
            reason = self.resolver.last_error or "the model is still loading"
            raise ApiError(503, f"not ready: {reason}", UNAVAILABLE)
        if state is None:
            raise ApiError(
                503,
                "not ready: no published index (run `ragtune refresh`)",
                UNAVAILABLE,
            )
        served = (SERVED_ALIAS, model.generator.name)
        if request.model not in served:
            raise ApiError(
                404,
                f"model {request.model!r} is not served here; ask for "
                f"{served[0]!r} or {served[1]!r} (GET /v1/models)",
                NOT_FOUND,
                param="model",
                code="model_not_found",
            )
        question = request.question()
        try:
            day = request.as_of or date.today()
            sources = self.index.retrieve(state, question, self.cfg.k, day)
        except InputError as exc:
            raise ApiError(400, str(exc), param="messages") from None
        except ConfigError as exc:
            raise ApiError(500, str(exc), SERVER) from None
        messages = self._messages(request, question, sources)
        return Prepared(
            ctx, request, model, state, sources, messages, self._params(request),
            day, self.cfg.recent_change_days,
        )  # fmt: skip

    def retrieve(self, ctx: RequestContext, request: RetrieveRequest) -> dict[str, Any]:
        """The chunks in force on the request's day, best first, with their text
        (through the output filter), numbered like an answer's sources; audited.

        Raises:
            ApiError: 503 without a published index, 400 for a query search
                refuses, 500 for a server-side mismatch.
        """
        state = self.index.current
        if state is None:
            raise ApiError(
                503,
                "not ready: no published index (run `ragtune refresh`)",
                UNAVAILABLE,
            )
        day = request.as_of or date.today()
        try:
            sources = self.index.retrieve(
                state, request.query, request.k or self.cfg.k, day
            )
        except InputError as exc:
            raise ApiError(400, str(exc), param="query") from None
        except ConfigError as exc:
            raise ApiError(500, str(exc), SERVER) from None
        self.recorder.retrieved(
            ctx.request_id, ctx.caller, request.query, sources, state.tag, state.version
        )
        shown = [
            s.public() | {"text": self.output_filter.apply(s.text).text}
            for s in sources
        ]
        return {
            "object": "list",
            "id": ctx.request_id,
            "index_tag": state.tag,
            "index_version": state.version,
            "validity": {
                "as_of": day.isoformat(),
                "recent_changes": recent_changes(
                    sources, day, self.cfg.recent_change_days
                ),
            },
            "data": fmt.numbered(shown),
        }

    def complete(self, p: Prepared) -> dict[str, Any]:
        """Generate the whole answer, filter it, record it, return the body."""
        try:
            generation = p.model.generator.generate(p.messages, p.params)
        except Exception as exc:
            raise self._generation_failed(p, exc) from None
        filtered = self.output_filter.apply(generation.text)
        self.recorder.served(
            self._served(
                p, filtered.removed, generation.tokens_in, generation.tokens_out
            )
        )
        name, sources = p.model.generator.name, p.public_sources()
        return fmt.completion(
            p.ctx.request_id,
            p.ctx.created,
            name,
            filtered.text + self._citations(sources),
            generation,
            sources,
            p.fingerprint,
            validity=p.validity(),
        )

    def _citations(self, sources: list[dict[str, Any]]) -> str:
        return fmt.citations(sources) if self.cfg.citations == "text" else ""

    def stream(self, p: Prepared) -> Iterator[str]:
        """SSE lines: a role chunk carrying ``sources``, filtered text chunks, the
        citations, a finish chunk, the ``usage`` chunk when the request asked for
        it (``stream_options.include_usage``) and ``[DONE]``. Recorded when the
        stream ends, also when the client leaves early (``completed: false``)."""
        name, rid, created = p.model.generator.name, p.ctx.request_id, p.ctx.created
        rolling = self.output_filter.stream(self.cfg.stream_holdback_chars)
        completed, failed, end = False, False, StreamEnd()
        sources = p.public_sources()
        try:
            yield fmt.sse(
                fmt.chunk(
                    rid,
                    created,
                    name,
                    {"role": "assistant", "content": ""},
                    sources=sources,
                    validity=p.validity(),
                    system_fingerprint=p.fingerprint,
                )
            )
            pieces = p.model.generator.stream(p.messages, p.params)
            while True:
                try:
                    piece = next(pieces)
                except StopIteration as stop:  # its value: how the answer ended
                    end = stop.value or StreamEnd()
                    break
                text = rolling.feed(piece)
                if text:
                    yield fmt.sse(fmt.chunk(rid, created, name, {"content": text}))
            tail = rolling.finish() + self._citations(sources)
            if tail:
                yield fmt.sse(fmt.chunk(rid, created, name, {"content": tail}))
            yield fmt.sse(fmt.chunk(rid, created, name, {}, end.finish_reason))
            if p.request.stream_options and p.request.stream_options.include_usage:
                usage = fmt.usage(end.tokens_in, end.tokens_out)
                yield fmt.sse(fmt.chunk(rid, created, name, None, usage=usage))
            completed = True
        except Exception as exc:  # noqa: BLE001 - reported to the client in-band
            failed = True
            yield fmt.sse(self._generation_failed(p, exc).body())
            return
        finally:
            if not failed:
                self.recorder.served(
                    self._served(
                        p,
                        dict(rolling.removed),
                        end.tokens_in,
                        end.tokens_out,
                        completed,
                    )
                )
        yield fmt.SSE_DONE

    def _messages(
        self,
        request: ChatCompletionRequest,
        question: str,
        sources: list[RetrievedChunk],
    ) -> list[Message]:
        """Template turns around the conversation: the template's system text plus
        the client's system turns first, earlier turns next, the templated
        question (with sources) last."""
        context = [ContextSource(s.doc_id, s.text, s.title) for s in sources]
        rendered = self.template.render(
            question, context, self.generation.max_context_chars
        )
        system = [m.content for m in rendered if m.role == "system"]
        system += [
            m.text() for m in request.messages if m.role in ("system", "developer")
        ]
        last_user = max(i for i, m in enumerate(request.messages) if m.role == "user")
        history = [
            Message(m.role, m.text())
            for m in request.messages[:last_user]
            if m.role in ("user", "assistant")
        ]
        head = [Message("system", "\n\n".join(system))] if system else []
        return head + history + [m for m in rendered if m.role == "user"]

    def _params(self, request: ChatCompletionRequest) -> GenerationParams:
        g = self.generation
        return GenerationParams(
            max_new_tokens=request.max_completion_tokens
            or request.max_tokens
            or g.max_new_tokens,
            temperature=g.temperature
            if request.temperature is None
            else request.temperature,
            top_p=g.top_p if request.top_p is None else request.top_p,
            # the configured stops (e.g. a small model inventing the next
            # "Question:") plus the caller's own
            stop=tuple(dict.fromkeys([*g.stop, *request.stop_sequences()])),
            seed=g.seed if request.seed is None else request.seed,
        )

    def _served(
        self,
        p: Prepared,
        removed: dict[str, int],
        tokens_in: int | None,
        tokens_out: int | None,
        completed: bool = True,
    ) -> Served:
        return Served(
            request_id=p.ctx.request_id,
            caller=p.ctx.caller.name,
            api_key_id=p.ctx.caller.api_key_id,
            question=p.request.question(),
            sources=p.sources,
            model=p.model.generator.name,
            adapter_version=p.model.adapter_version,
            index_tag=p.index.tag,
            index_version=p.index.version,
            filtered=removed,
            stream=p.request.stream,
            latency_s=time.monotonic() - p.ctx.started,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            completed=completed,
        )

    def _generation_failed(self, p: Prepared, exc: Exception) -> ApiError:
        """Log and audit a model failure; the error the client gets."""
        upstream = isinstance(exc, GenerationError)
        status = 502 if upstream else 500
        message = (
            f"the model failed to answer: {exc}"
            if upstream
            else ("the model failed to answer (see the server log)")
        )
        log.error("request %s: generation failed", p.ctx.request_id, exc_info=exc)
        self.recorder.rejected(
            p.ctx.request_id,
            p.ctx.caller.name,
            status,
            f"generation failed: {type(exc).__name__}: {exc}",
            api_key_id=p.ctx.caller.api_key_id,
            question=p.request.question(),
        )
        return ApiError(status, message, SERVER)
