"""A retrain request as params.yaml resolves it, and the checks it gets before any
work: the CLI runs them before Prefect starts, because a flow run costs seconds
before its first step and a retrain builds and gates the dataset before it
reaches the backend (a missing cloud key would otherwise be named minutes in)."""

from __future__ import annotations

from pathlib import Path

from ragtune.app.backends import get_backend
from ragtune.app.settings import Settings
from ragtune.tasks.backends.base import SecretResolver
from ragtune.tasks.retrain.gaps import GapTarget, gap_target


def retrain_target(
    settings: Settings, gap_name: str, gaps_file: str | Path | None = None
) -> GapTarget:
    """The gap a retrain aims at: its slice, metric and training config, from
    ``gaps_file`` (default ``retrain.gaps_file``).

    Raises:
        InputError: no such gap, a gap that cannot be trained for, or overrides
            that are not valid training settings.
    """
    return gap_target(
        settings.path(Path(gaps_file or settings.retrain.gaps_file)),
        gap_name,
        settings.freshness.classes,
        settings.training,
        settings.retrain.gap_training.get(gap_name, {}),
    )


def check_retrain_request(
    settings: Settings,
    backend: str | None,
    gap_name: str | None = None,
    gaps_file: str | Path | None = None,
    *,
    secret_resolver: SecretResolver | None = None,
) -> None:
    """What can be refused without building anything: the backend (its name, its
    pinned GPU, its credentials) and the gap.

    Raises:
        ConfigError: an unknown backend, a GPU not in the catalogue or a missing
            credential (the variable or block is named, never a value).
        InputError: see :func:`retrain_target`.
    """
    get_backend(backend, settings, secret_resolver=secret_resolver).check_credentials()
    if gap_name is not None:
        retrain_target(settings, gap_name, gaps_file)
