"""Errors in OpenAI's shape, so OpenAI clients raise their usual exceptions.

Body: ``{"error": {"message", "type", "param", "code"}}``; the official client
maps 400 to ``BadRequestError``, 401 to ``AuthenticationError`` and so on.
"""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
PERMISSION = "permission_error"
RATE_LIMIT = "rate_limit_error"
UNAVAILABLE = "service_unavailable"
SERVER = "server_error"
NOT_FOUND = "not_found_error"


class ApiError(Exception):
    """A request that gets an error response instead of an answer."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.param, self.code = param, code
        self.headers = headers or {}  # e.g. Retry-After on a 429
        self.request_id: str | None = None  # set once a chat request has an id

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }
