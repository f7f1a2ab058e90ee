"""Who is calling: optional bearer keys, and the caller name the logs record.

Keys are compared by SHA-256 digest in constant time and identified in logs by
a short digest prefix (``key-1a2b3c4d5e``), so the audit log can tell callers
apart without holding anything that would let a reader replay a key.

``X-User`` names people (often an e-mail address), and the audit log is
append-only: what it holds cannot be erased. With a pseudonym key the logs hold
``user-<HMAC-SHA256(key, name)[:12]>`` instead: one person keeps one pseudonym,
whoever holds the key can tell whether a given name made a request (a subject
access request), and deleting the key makes every pseudonym in the logs
unlinkable (erasure for all at once).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ragtune.errors import ConfigError
from ragtune.tasks.serving.api_errors import AUTHENTICATION, ApiError

USER_HEADER = "x-user"
_USER_OK = re.compile(r"^[\w.@:+/ -]{1,128}$")


@dataclass(frozen=True)
class Caller:
    """The name logs record (``X-User``, else the key id, else anonymous)."""

    name: str
    api_key_id: str | None


def key_id(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def pseudonym(name: str, key: bytes) -> str:
    """The name the logs record for ``name`` under ``key``."""
    return "user-" + hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:12]


class Authenticator:
    """Checks ``Authorization: Bearer <key>`` when keys are configured, and
    pseudonymises ``X-User`` when given a pseudonym key."""

    def __init__(self, keys: list[str], pseudonym_key: bytes | None = None) -> None:
        self._digests = {hashlib.sha256(k.encode()).digest(): key_id(k) for k in keys}
        self._pseudonym_key = pseudonym_key

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    @classmethod
    def from_env(
        cls,
        env_name: str | None,
        environ: Mapping[str, str],
        pseudonym_key: bytes | None = None,
    ) -> Authenticator:
        """No variable named: open (loopback use). Named but unset or empty: an
        error, so a deployment that meant to require keys never starts open."""
        if env_name is None:
            return cls([], pseudonym_key)
        keys = [k.strip() for k in environ.get(env_name, "").split(",") if k.strip()]
        if not keys:
            raise ConfigError(
                f"serving.api_keys_env names {env_name}, but that environment "
                "variable is unset or empty: set it to comma-separated keys, or set "
                "serving.api_keys_env to null to serve without authentication"
            )
        return cls(keys, pseudonym_key)

    def identify(self, headers: Mapping[str, str]) -> Caller:
        """The caller of a request.

        Raises:
            ApiError: 401 when keys are required and the bearer key is missing or
                unknown, or 400 for an unusable ``X-User`` header.
        """
        user = headers.get(USER_HEADER)
        if user is not None and not _USER_OK.match(user):
            raise ApiError(400, "X-User header: 1-128 letters, digits or .@:+/- only")
        found = None
        if self.enabled:
            found = self._check_key(headers.get("authorization", ""))
        if user and self._pseudonym_key is not None:
            user = pseudonym(user, self._pseudonym_key)
        return Caller(name=user or found or "anonymous", api_key_id=found)

    def _check_key(self, header: str) -> str:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(
                401,
                "missing bearer key: send Authorization: Bearer <key>",
                AUTHENTICATION,
                code="invalid_api_key",
            )
        digest = hashlib.sha256(key.strip().encode()).digest()
        for known, ident in self._digests.items():
            if hmac.compare_digest(known, digest):
                return ident
        raise ApiError(401, "unknown API key", AUTHENTICATION, code="invalid_api_key")
