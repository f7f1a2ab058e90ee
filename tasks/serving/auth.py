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
from ragtune.tasks.serving.api_errors import AUTHENTICATION, PERMISSION, ApiError

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
    """Checks ``Authorization: Bearer <key>`` and pseudonymises ``X-User``.

    Keys are required unless the server was started ``--insecure-local`` (then
    bound to loopback, where only this machine's users reach it). Admin keys
    (``/admin/*``) are a set of their own; they also work as API keys.
    """

    def __init__(
        self,
        keys: list[str],
        pseudonym_key: bytes | None = None,
        admin_keys: list[str] | None = None,
    ) -> None:
        self._digests = {hashlib.sha256(k.encode()).digest(): key_id(k) for k in keys}
        self._admin = {
            hashlib.sha256(k.encode()).digest(): key_id(k) for k in admin_keys or []
        }
        self._digests |= self._admin
        self._pseudonym_key = pseudonym_key

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    @classmethod
    def insecure_local(cls, pseudonym_key: bytes | None = None) -> Authenticator:
        """No keys at all: for ``ragtune serve --insecure-local`` on loopback."""
        return cls([], pseudonym_key)

    @classmethod
    def from_env(
        cls,
        env_name: str | None,
        environ: Mapping[str, str],
        pseudonym_key: bytes | None = None,
        admin_env: str | None = None,
    ) -> Authenticator:
        """Keys from the variable ``env_name`` names (admin keys from
        ``admin_env``'s, optional).

        Raises:
            ConfigError: no variable named, or the variable is unset or empty: a
                server never starts open by omission.
        """
        if env_name is None:
            raise ConfigError(
                "serving.api_keys_env is null: the server needs bearer keys. Name "
                "an environment variable holding comma-separated keys, or run "
                "`ragtune serve --insecure-local` (loopback only, no keys)"
            )
        keys = _keys(environ, env_name)
        if not keys:
            raise ConfigError(
                f"serving.api_keys_env names {env_name}, but that environment "
                "variable is unset or empty: set it to comma-separated keys, or run "
                "`ragtune serve --insecure-local` (loopback only, no keys)"
            )
        return cls(keys, pseudonym_key, _keys(environ, admin_env) if admin_env else [])

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
            found = self._check_key(headers.get("authorization", ""), self._digests)
        if user and self._pseudonym_key is not None:
            user = pseudonym(user, self._pseudonym_key)
        return Caller(name=user or found or "anonymous", api_key_id=found)

    def identify_admin(self, headers: Mapping[str, str]) -> Caller:
        """The caller of an ``/admin`` request: an admin key is required (none
        with ``--insecure-local``).

        Raises:
            ApiError: 401 for a missing or unknown key, 403 when the key is not an
                admin key or no admin keys are configured.
        """
        caller = self.identify(headers)
        if not self.enabled:
            return caller
        if not self._admin:
            raise ApiError(
                403,
                "admin endpoints are off: no admin keys are configured "
                "(serving.admin_keys_env)",
                PERMISSION,
                code="admin_disabled",
            )
        if caller.api_key_id not in self._admin.values():
            raise ApiError(
                403,
                "this key may not use admin endpoints",
                PERMISSION,
                code="not_admin",
            )
        return caller

    @staticmethod
    def _check_key(header: str, known_keys: Mapping[bytes, str]) -> str:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(
                401,
                "missing bearer key: send Authorization: Bearer <key>",
                AUTHENTICATION,
                code="invalid_api_key",
            )
        digest = hashlib.sha256(key.strip().encode()).digest()
        for known, ident in known_keys.items():
            if hmac.compare_digest(known, digest):
                return ident
        raise ApiError(401, "unknown API key", AUTHENTICATION, code="invalid_api_key")


def _keys(environ: Mapping[str, str], name: str) -> list[str]:
    return [k.strip() for k in environ.get(name, "").split(",") if k.strip()]
