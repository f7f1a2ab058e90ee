"""Training backends built from params.yaml's ``backends`` and ``estimate``
sections, relative paths resolved against the params folder."""

from __future__ import annotations

from typing import TypeVar

from ragtune.app.settings import Settings
from ragtune.tasks.backends.base import Backend, BaseBackend, SecretResolver
from ragtune.tasks.backends.base import get_backend as backend_named

B = TypeVar("B", bound=BaseBackend)


def get_backend(
    name: str | None,
    settings: Settings,
    *,
    secret_resolver: SecretResolver | None = None,
) -> Backend:
    """The backend called ``name`` (``backends.default`` when None)."""
    return backend_named(
        name,
        settings.backends,
        settings.estimate,
        settings.root,
        secret_resolver=secret_resolver,
    )


def build_backend(
    cls: type[B], settings: Settings, *, secret_resolver: SecretResolver | None = None
) -> B:
    """One backend class configured from ``settings``."""
    backend = cls.from_config(
        settings.backends,
        settings.estimate,
        settings.root,
        secret_resolver=secret_resolver,
    )
    assert isinstance(backend, cls)
    return backend
