"""The session's real ``prefect server`` process (``tests/_server.py``), for
end-to-end tests; on ``RAGTUNE_E2E_PREFECT_DB`` when set (SQLite otherwise)."""

from __future__ import annotations

import pytest

from tests._server import shared_api


@pytest.fixture(scope="session")
def prefect_server() -> str:
    """The API URL of the shared server; other tests' runs may be on it too."""
    return shared_api()
