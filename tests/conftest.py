"""Session-wide test setup: telemetry off, offline hub, one shared embedder.

Capability folders (tests/<capability>/) add their own conftest.py for local fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

TELEMETRY_OFF = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    # a busy 2-core CI box can take longer than Prefect's default 20 s to start
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "LANCE_LOG": "error",
    "LANCEDB_LOG": "error",
}
os.environ.update(TELEMETRY_OFF)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Workers share the cores: a model using every core in each of them makes all
    # of them wait on the scheduler (measured 7 vs 94 tokens/s training here).
    # Subprocesses (the CLI under test, training children) inherit the cap.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def embedder():
    """The real MiniLM embedder, loaded once per session (loading costs seconds)."""
    from ragtune.tasks.embedding.config import EmbeddingConfig
    from ragtune.tasks.embedding.embedder import build_embedder

    return build_embedder(EmbeddingConfig())


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for every in-process flow test of the session.

    One, not one per folder: Prefect's log and event workers are process-wide,
    and a second harness after a first one lost events and logs sent to it.
    Tests tell their runs and events apart by name and resource instead.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with heavy tests first, then end-to-end, then slow, the rest last.

    Under pytest-xdist (``-n 2 --dist loadfile``, the README's test command) a
    file goes whole to one worker, so the longest ones must start first or the
    suite ends on one busy worker and one idle one (measured: the 8-minute
    privacy calibration started at minute 5 and the workers ended 93 s apart).
    xdist would reorder files by test count; ``--no-loadscope-reorder`` in
    pyproject's addopts keeps this order. A file's tests stay together and in
    their order, so module fixtures are built once.
    """

    def rank(item: pytest.Item) -> int:
        for position, marker in enumerate(("heavy", "e2e", "slow")):
            if item.get_closest_marker(marker):
                return position
        return 3

    first: dict[str, int] = {}
    for item in items:
        path = str(item.path)
        first[path] = min(first.get(path, 3), rank(item))
    position = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (first[str(item.path)], position[id(item)]))
