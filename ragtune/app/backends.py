"""Training backends built from params.yaml's ``backends`` and ``estimate``
sections, relative paths resolved against the params folder."""

from __future__ import annotations

from typing import TypeVar

from ragtune.app.settings import Settings
from ragtune.tasks.backends.base import BACKENDS as CAPABILITY_BACKENDS
from ragtune.tasks.backends.base import Backend, BaseBackend, SecretResolver
from ragtune.tasks.backends.base import get_backend as backend_named

B = TypeVar("B", bound=BaseBackend)

# Every backend a retrain can name: the capabilities' own, and the Prefect GPU
# work pool, which lives with the flows because it submits a flow run.
BACKENDS: dict[str, str] = {
    **CAPABILITY_BACKENDS,
    "prefect": "ragtune.flows.prefect_backend:PrefectBackend",
}


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
        known=BACKENDS,
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
