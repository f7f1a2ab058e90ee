"""RunPod serverless worker for ragtune training (``python handler.py``).

``handler(event)`` validates ``event["input"]`` (a staged ``TrainingJob`` plus
its data inline), runs the same ``train(job)`` as every other backend and
returns the result with the adapter as a base64 tarball, or its folder on the
network volume when it is too large to return (see
``ragtune.tasks.backends.runpod_worker`` and docs/gpu-backends.md).
"""

from __future__ import annotations

import logging
from typing import Any

from ragtune.tasks.backends.runpod_worker import handle_event


def handler(event: dict[str, Any]) -> dict[str, Any]:
    """RunPod calls this once per job with ``{"id": ..., "input": {...}}``."""
    return handle_event(event)


if __name__ == "__main__":
    import runpod

    logging.basicConfig(level=logging.INFO)
    runpod.serverless.start({"handler": handler})
