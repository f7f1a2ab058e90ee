"""Regulatory sources for watcher tests: a real policy from the sample knowledge
base with a real amendment and a typo fix, a local HTTP server with ETags, real
git repositories, and one Prefect test harness per module."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._prefect import read_events  # noqa: F401

POLICY = "compliance/aml-customer-due-diligence-policy.md"


def amend(text: str) -> str:
    """Amendment 2026-01: the CDD threshold lowered and the review cycle
    shortened, effective from 1 July 2026 (what the sample KB's amendment says)."""
    out = text.replace("effective_date: 2025-01-01", "effective_date: 2026-07-01")
    out = out.replace(
        "occasional transaction of EUR 10,000 or more",
        "occasional transaction of EUR 7,500 or more (threshold lowered by "
        "Amendment 2026-01, effective from 1 July 2026)",
    )
    out = out.replace(
        "medium-risk\ncustomers every 3 years", "medium-risk\ncustomers every 2 years"
    )
    assert out.count("7,500") == 1 and "every 2 years" in out, "policy text moved"
    return out


def typo_fix(text: str) -> str:
    out = text.replace("criminal\noffence.", "criminal\noffense.")
    assert out != text, "policy text moved"
    return out


@pytest.fixture(scope="session")
def policy_text(repo_root: Path) -> str:
    return (repo_root / "data" / "kb" / POLICY).read_text(encoding="utf-8")


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Regulator",
        "GIT_AUTHOR_EMAIL": "rules@example.org",
        "GIT_COMMITTER_NAME": "Regulator",
        "GIT_COMMITTER_EMAIL": "rules@example.org",
    }
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


class Page:
    """What the test server serves: a body, its ETag, and a log of requests."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[tuple[int, str | None]] = []  # (status, If-None-Match)
        self.status = 200

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@pytest.fixture()
def http_page() -> Iterator[tuple[Page, str]]:
    """A local HTTP server answering 304 when If-None-Match holds the ETag."""
    page = Page(b"")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            asked = self.headers.get("If-None-Match")
            if page.status != 200:
                status, body = page.status, b"unavailable"
            elif asked == page.etag:
                status, body = 304, b""
            else:
                status, body = 200, page.body
            page.requests.append((status, asked))
            self.send_response(status)
            if status in (200, 304):
                self.send_header("ETag", page.etag)
                self.send_header(
                    "Last-Modified",
                    time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
                )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield page, f"http://127.0.0.1:{server.server_address[1]}/rules/aml.md"
    finally:
        server.shutdown()
        server.server_close()
