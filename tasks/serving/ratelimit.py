"""Requests per minute per API key: a token bucket each.

One key's burst must not take the model from everyone else: a CPU-served model
answers a few requests at a time, so each key may make ``per_minute`` requests
in any minute (all at once, or spread out) and is told, with ``Retry-After``,
when it may try again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from ragtune.tasks.serving.api_errors import RATE_LIMIT, ApiError


class RateLimiter:
    """A bucket of ``per_minute`` tokens per key, refilled continuously."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str | None) -> None:
        """Spend one request of ``key`` (None: the keyless local caller).

        Raises:
            ApiError: 429 with ``Retry-After`` (whole seconds) when the bucket is
                empty.
        """
        if self.per_minute <= 0:
            return
        name = key or "local"
        rate = self.per_minute / 60.0  # tokens per second
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(name, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / rate)
                raise ApiError(
                    429,
                    f"rate limit: {self.per_minute} requests per minute for {name}; "
                    f"retry in {wait} s",
                    RATE_LIMIT,
                    code="rate_limit_exceeded",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[name] = (tokens - 1.0, now)
