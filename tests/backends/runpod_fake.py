"""A local stand-in for RunPod's serverless API: ``/run``, ``/status``, ``/cancel``.

It answers like https://api.runpod.ai/v2/{endpoint}/... does (IN_QUEUE ->
IN_PROGRESS -> COMPLETED, or CANCELLED), records every request with its
Authorization header, and either replays a canned output or runs the real
handler from infra/runpod/handler.py on the submitted input in a thread, as a
RunPod worker would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class FakeJob:
    input: dict[str, Any]
    polls: int = 0
    cancelled: bool = False
    output: dict[str, Any] | None = None
    thread: threading.Thread | None = None


@dataclass
class FakeRunPod:
    """State shared with the request handler; see module docstring."""

    canned_output: dict[str, Any] | None = None
    handler: Handler | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    url: str = ""

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        job_id = f"job-{len(self.jobs) + 1}"
        job = FakeJob(input=body["input"])
        self.jobs[job_id] = job
        if self.handler is not None:
            event = {"id": job_id, "input": body["input"]}

            def work() -> None:
                try:
                    job.output = self.handler(event)
                except Exception as exc:  # RunPod reports a raising handler as FAILED
                    job.output = {"error": f"{type(exc).__name__}: {exc}"}

            job.thread = threading.Thread(target=work, daemon=True)
            job.thread.start()
        return {"id": job_id, "status": "IN_QUEUE"}

    def status(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        job.polls += 1
        if job.cancelled:
            return {"id": job_id, "status": "CANCELLED"}
        if job.polls == 1:
            return {"id": job_id, "status": "IN_QUEUE", "delayTime": 5}
        if self.handler is not None:
            if job.thread is not None and job.thread.is_alive():
                return {"id": job_id, "status": "IN_PROGRESS", "workerId": "w1"}
            output = job.output or {}
        elif job.polls == 2:
            return {"id": job_id, "status": "IN_PROGRESS", "workerId": "w1"}
        else:
            output = self.canned_output or {}
        if "error" in output:
            return {"id": job_id, "status": "FAILED", "error": output["error"]}
        return {
            "id": job_id,
            "status": "COMPLETED",
            "executionTime": 1234,
            "output": output,
        }

    def cancel(self, job_id: str) -> dict[str, Any]:
        self.jobs[job_id].cancelled = True
        return {"id": job_id, "status": "CANCELLED"}


def _route(fake: FakeRunPod, method: str, path: str, body: Any) -> tuple[int, Any]:
    parts = path.strip("/").split("/")  # v2/<endpoint>/<action>[/<id>]
    if len(parts) < 3 or parts[0] != "v2":
        return 404, {"error": "not found"}
    endpoint, action = parts[1], parts[2]
    if endpoint == "denied":
        return 401, {"error": "unauthorized"}
    if endpoint == "broken":
        return 500, None  # the body echoes the request headers, see below
    if method == "POST" and action == "run":
        return 200, fake.run(body)
    if method == "GET" and action == "status" and parts[3] in fake.jobs:
        return 200, fake.status(parts[3])
    if method == "POST" and action == "cancel" and parts[3] in fake.jobs:
        return 200, fake.cancel(parts[3])
    return 404, {"error": f"no route {method} {path}"}


def make_request_handler(fake: FakeRunPod) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.requests.append(
                {
                    "method": method,
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "body": body,
                }
            )
            code, reply = _route(fake, method, self.path, body)
            if reply is None:  # a careless server that echoes what it was sent
                data = f"internal error; request headers: {dict(self.headers)}"
                payload = data.encode()
            else:
                payload = json.dumps(reply).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, *args: object) -> None:
            pass

    return RequestHandler


class serve:  # noqa: N801 - used as a context manager
    """Run a FakeRunPod on 127.0.0.1 for the duration of a ``with`` block."""

    def __init__(self, fake: FakeRunPod) -> None:
        self.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_request_handler(fake))

    def __enter__(self) -> FakeRunPod:
        host, port = self.server.server_address[:2]
        self.fake.url = f"http://{host}:{port}/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
