"""Prefect test helpers shared by capability test folders: a poller for events,
which Prefect stores asynchronously (the harness is ``tests/conftest.py``'s)."""

from __future__ import annotations


def read_events(
    name: str, expect: int, resource: str | None = None, timeout_s: float = 60.0
) -> list:
    """Events named ``name`` (about ``resource``, if given) as the harness's API
    stored them; emitting is asynchronous (a websocket), so poll until
    ``expect`` have arrived."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventResourceFilter,
    )

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while True:
            wanted = EventFilter(
                event=EventNameFilter(name=[name]),
                resource=EventResourceFilter(id=[resource]) if resource else None,
            )
            page = client.read_events(filter=wanted, limit=50)
            if len(page.events) >= expect or time.monotonic() > deadline:
                return page.events
            time.sleep(0.5)
