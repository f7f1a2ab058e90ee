"""Per-project keys: made once, owner-only, never in params.yaml or the logs.

The caller pseudonyms and the audit chain's HMAC each need a secret that the files
they protect do not hold. By default each is a random key in
``<state_dir>/secrets/``, made on first use; a deployment that keeps secrets in a
manager passes the key through an environment variable instead, so an attacker
with the state folder alone cannot forge the audit chain.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ragtune.errors import InputError


def project_key(state_dir: Path, name: str, env_var: str | None = None) -> bytes:
    """The key ``name``: ``env_var``'s value when set (hex, or any text of at
    least 16 characters), else ``<state_dir>/secrets/<name>.key``, made on first
    use. Deleting the file retires the key (what it signed no longer verifies).

    Raises:
        InputError: ``env_var`` is set but too short to be a key.
    """
    if env_var and (value := os.environ.get(env_var)):
        if len(value) < 16:
            raise InputError(f"{env_var} is set but shorter than 16 characters")
        try:
            return bytes.fromhex(value)
        except ValueError:
            return value.encode("utf-8")
    path = state_dir / "secrets" / f"{name}.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
            fh.flush()
            os.fsync(fh.fileno())
    return path.read_bytes()
