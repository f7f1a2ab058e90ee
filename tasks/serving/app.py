"""The FastAPI app of ``ragtune serve``: OpenAI-compatible chat and embeddings,
retrieval alone, health and readiness, feedback and a reload hook (admin key).

Request bodies are parsed here with the strict models of ``schemas.py`` rather
than by FastAPI's body injection, so the order is fixed (identify the caller,
then validate, then answer) and every chat request, malformed ones included,
ends in exactly one audit record: ``answer.served`` or ``answer.rejected``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from ragtune.tasks.serving import openai_format as fmt
from ragtune.tasks.serving.api_errors import NOT_FOUND, ApiError
from ragtune.tasks.serving.auth import Caller
from ragtune.tasks.serving.chat import SERVED_ALIAS, RequestContext
from ragtune.tasks.serving.records import now_iso
from ragtune.tasks.serving.runtime import Poller, Runtime
from ragtune.tasks.serving.schemas import (
    ChatCompletionRequest,
    EmbeddingRequest,
    FeedbackRequest,
    RetrieveRequest,
    describe_errors,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


def build_app(runtime: Runtime, poll_interval_s: float) -> FastAPI:
    """The app answering from ``runtime``; its poller checks the registry and
    the live tag every ``poll_interval_s`` seconds while the app runs."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        poller = Poller(runtime, poll_interval_s)
        poller.start()
        yield
        poller.stop()

    app = FastAPI(title="ragtune", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    app.add_exception_handler(ApiError, _api_error)
    _health_routes(app, runtime)
    _chat_routes(app, runtime)
    _side_routes(app, runtime)
    return app


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    headers = dict(exc.headers)
    if exc.request_id:
        headers["X-Request-Id"] = exc.request_id
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _parse(request: Request, model: type[M], limit: int) -> M:
    """Validate the JSON body; ApiError 413 past ``limit`` bytes, 400 naming
    every bad field."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    raw = await request.body()
    if len(raw) > limit:
        raise _too_large(len(raw), limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        message, param = describe_errors(exc)
        raise ApiError(400, message, param=param) from None


def _limit(rt: Runtime) -> int:
    return rt.chat.cfg.max_request_bytes


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413, f"request body is {size} bytes, over serving.max_request_bytes ({limit})"
    )


def _health_routes(app: FastAPI, rt: Runtime) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response:
        model, index = rt.resolver.current, rt.index.current
        reasons = []
        if model is None:
            reasons.append(rt.resolver.last_error or "model not loaded yet")
        if index is None:
            reasons.append("no published index (run `ragtune refresh`)")
        body = _versions(rt) | {"ready": not reasons, "reasons": reasons}
        return JSONResponse(body, status_code=503 if reasons else 200)

    @app.post("/admin/reload")
    def reload(request: Request) -> dict[str, Any]:
        caller = rt.auth.identify_admin(request.headers)
        model_changed, index_changed = rt.refresh()
        rt.audit.append(
            "serving.reloaded",
            actor=caller.name,
            model_changed=model_changed,
            index_changed=index_changed,
            **_versions(rt),
        )
        return _versions(rt) | {
            "model_changed": model_changed,
            "index_changed": index_changed,
            "model_error": rt.resolver.last_error,
        }


def _versions(rt: Runtime) -> dict[str, Any]:
    model, index = rt.resolver.current, rt.index.current
    return {
        "model": None if model is None else model.generator.name,
        "adapter_version": None if model is None else model.adapter_version,
        "index_tag": None if index is None else index.tag,
        "index_version": None if index is None else index.version,
    }


def _chat_routes(app: FastAPI, rt: Runtime) -> None:
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        ctx = RequestContext.new(Caller("anonymous", None))
        question = None
        try:
            ctx = RequestContext.new(rt.auth.identify(request.headers))
            rt.limiter.take(ctx.caller.api_key_id)
            body = await _parse(
                request, ChatCompletionRequest, rt.chat.cfg.max_request_bytes
            )
            question = body.question()
            prepared = await run_in_threadpool(rt.chat.prepare, ctx, body)
        except ApiError as exc:
            exc.request_id = ctx.request_id
            await run_in_threadpool(_reject, rt, ctx, exc, question)
            raise
        headers = {"X-Request-Id": ctx.request_id}
        if body.stream:
            return StreamingResponse(
                rt.chat.stream(prepared),
                media_type="text/event-stream",
                headers=headers | {"Cache-Control": "no-cache"},
            )
        try:
            payload = await run_in_threadpool(rt.chat.complete, prepared)
        except ApiError as exc:  # already audited as rejected by the service
            exc.request_id = ctx.request_id
            raise
        return JSONResponse(payload, headers=headers)

    @app.get("/v1/models")
    def models(request: Request) -> dict[str, Any]:
        rt.auth.identify(request.headers)
        model = rt.resolver.current
        names = [] if model is None else [SERVED_ALIAS, model.generator.name]
        return {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": 0, "owned_by": "ragtune"}
                for n in names
            ],
        }


def _reject(
    rt: Runtime, ctx: RequestContext, exc: ApiError, question: str | None
) -> None:
    rt.chat.recorder.rejected(
        ctx.request_id,
        ctx.caller.name,
        exc.status,
        exc.message,
        api_key_id=ctx.caller.api_key_id,
        question=question,
    )


def _side_routes(app: FastAPI, rt: Runtime) -> None:
    @app.post("/v1/retrieve")
    async def retrieve(request: Request) -> Response:
        caller = rt.admit(request.headers)
        body = await _parse(request, RetrieveRequest, _limit(rt))
        ctx = RequestContext.new(caller)
        payload = await run_in_threadpool(rt.chat.retrieve, ctx, body)
        return JSONResponse(payload, headers={"X-Request-Id": ctx.request_id})

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> dict[str, Any]:
        rt.admit(request.headers)
        body = await _parse(request, EmbeddingRequest, _limit(rt))
        texts = body.texts()
        vectors = await run_in_threadpool(rt.embedder.embed, texts)
        words = sum(len(t.split()) for t in texts)  # no tokenizer count: words
        return fmt.embeddings(vectors, rt.embedder.name, body.encoding_format, words)

    @app.post("/v1/feedback", status_code=201)
    async def feedback(request: Request) -> dict[str, Any]:
        caller = rt.auth.identify(request.headers)
        body = await _parse(request, FeedbackRequest, _limit(rt))
        known = await run_in_threadpool(_was_served, rt, body.request_id)
        if not known:
            raise ApiError(
                404,
                f"no answer with request_id {body.request_id}",
                NOT_FOUND,
                param="request_id",
            )
        record = body.model_dump() | {
            "ts": now_iso(),
            "caller": caller.name,
            "satisfaction": body.satisfaction(),
        }
        await run_in_threadpool(rt.feedback_log.append, record)
        return {"status": "stored", "request_id": body.request_id}


def _was_served(rt: Runtime, request_id: str) -> bool:
    """Answered by this process, or found in the query log (earlier runs)."""
    if request_id in rt.chat.recorder.recent:
        return True
    return any(r.get("request_id") == request_id for r in rt.query_log)
