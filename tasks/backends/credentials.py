"""Cloud credentials: from the environment or a Prefect Secret block, nowhere else.

Values are wrapped in :class:`pydantic.SecretStr` so a stray ``repr`` or log line
shows ``**********``; :func:`redact` scrubs them from any text (an HTTP error
body, an SDK exception) before it reaches a log or an exception message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from pydantic import SecretStr

from ragtune.errors import ConfigError

SecretResolver = Callable[[str], str]
MASK = "***"


def resolve_secret(
    what: str,
    env_var: str,
    block: str | None = None,
    resolver: SecretResolver | None = None,
    env: Mapping[str, str] | None = None,
) -> SecretStr:
    """A credential from its Secret block when one is named, else from ``env_var``.

    Args:
        what: What the value is, for messages ("RunPod API key").
        env_var: The environment variable that holds it.
        block: A Prefect Secret block name, or None.
        resolver: Reads a Secret block by name (flows pass Secret.load().get()).
        env: The environment to read (os.environ when None).

    Raises:
        ConfigError: naming the variable (or block) that is missing; never the value.
    """
    if block:
        if resolver is None:
            raise ConfigError(
                f"{what}: Secret block {block!r} is configured but nothing can read "
                f"Prefect Secret blocks here; set {env_var} instead"
            )
        try:
            value = resolver(block)
        except Exception as exc:  # noqa: BLE001 - any block failure, reported once
            raise ConfigError(
                f"{what}: cannot read Secret block {block!r} ({type(exc).__name__})"
            ) from None
    else:
        value = (os.environ if env is None else env).get(env_var, "")
    if not value or not value.strip():
        source = f"Secret block {block!r}" if block else "environment variable"
        raise ConfigError(
            f"{what} is missing: set the {source} {block or env_var} "
            "(credentials are read only from the environment or Secret blocks)"
        )
    return SecretStr(value.strip())


def redact(text: str, secrets: Iterable[SecretStr | str | None]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if raw:
            text = text.replace(raw, MASK)
    return text
