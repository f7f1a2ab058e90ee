"""Fixtures for the serving tests: a published index built in-process from a few
documents with the real MiniLM embedder, ``ragtune serve`` started as a real
process on a free loopback port, and an OpenAI-compatible upstream that echoes
the question (so a served answer can carry PII through the real filter path).

pytest runs with ``--import-mode=importlib``: helpers reach test modules through
fixtures, not imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ragtune.app.index import open_store
from ragtune.app.settings import load_settings
from ragtune.tasks.index.chunking import chunk_document
from ragtune.tasks.index.publish import publish, standard_checks
from ragtune.tasks.ingest.models import Document
from tests._server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPTS = REPO_ROOT / "data" / "prompts"
START_TIMEOUT_S = 240  # two cores shared by many processes: imports are slow

DOCUMENTS = {
    "complaints-deadline": (
        "regulatory",
        "Complaint handling rules",
        "A firm must acknowledge a complaint within three business days. A final "
        "response to a complaint must be sent within 35 business days of receipt, "
        "and it must give the address of the ombudsman.",
    ),
    "motor-premiums": (
        "product-pricing",
        "Motor insurance premiums",
        "The base premium for a compact car is EUR 420 a year. Drivers with five "
        "claim-free years get a 25 percent discount on the premium.",
    ),
    "apr-vs-aer": (
        "domain-concept",
        "APR and AER explained",
        "APR is the annual percentage rate a borrower pays, fees included. AER is "
        "the annual equivalent rate a saver earns once interest is compounded.",
    ),
    "founding": (
        "historical",
        "Our history",
        "Northwind Mutual was founded in 1898 by dock workers who pooled their "
        "wages, and became a public mutual in 1954.",
    ),
}


def write_params(root: Path, name: str, generation: dict, serving: dict) -> Path:
    """A params file of its own: state, audit log and index (so one server's
    publish never changes what another server's test expects)."""
    params = {
        "project": {
            "name": name,
            "state_dir": f"state-{name}",
            "audit_log": f"state-{name}/audit.jsonl",
        },
        "index": {"uri": f"index-{name}", "smoke_sample": 3},
        "generation": {
            "prompt_template": str(PROMPTS / "answer_with_context.j2"),
            "prompt_template_no_context": str(PROMPTS / "answer_without_context.j2"),
            **generation,
        },
        "serving": {"poll_interval_s": 0, **serving},
    }
    path = root / f"params-{name}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def publish_documents(params: Path, embedder) -> str:  # noqa: ANN001
    """Index ``DOCUMENTS`` and publish them; returns the live tag."""
    settings = load_settings(params)
    chunks, hashes = [], {}
    for doc_id, (category, title, text) in DOCUMENTS.items():
        raw = text.encode()
        doc = Document(
            doc_id=doc_id,
            source_path=f"{category}/{doc_id}.md",
            format="markdown",
            title=title,
            text=text,
            content_hash=hashlib.sha256(raw).hexdigest(),
            size_bytes=len(raw),
            category=category,
        )
        chunks += chunk_document(doc, category, settings.chunking, "kb-test")
        hashes[doc_id] = doc.content_hash
    store = open_store(settings, embedder)
    store.refresh(chunks, hashes)
    checks = standard_checks(
        store.candidate(), embedder, len(chunks), settings.index, seed=13
    )
    return publish(store, checks, {"chunks": len(chunks)}, "kb-test").tag


@dataclass
class Server:
    """A ``ragtune serve`` process and what its logs hold."""

    params: Path
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    insecure_local: bool = True  # no keys, loopback: what most tests need

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self):  # noqa: ANN201 - Settings
        return load_settings(self.params)

    def pseudonym(self, name: str) -> str:
        """What this server's logs record for an ``X-User`` of ``name``."""
        from ragtune.tasks.serving.auth import pseudonym

        state = self.settings.path(self.settings.project.state_dir)
        key = (state / "secrets" / "user-pseudonym.key").read_bytes()
        return pseudonym(name, key)

    def start(self) -> Server:
        exe = Path(sys.executable).with_name("ragtune")
        args = [str(exe), "serve", "--params", str(self.params)]
        args += ["--port", str(self.port), "--log-level", "warning"]
        args += ["--insecure-local"] if self.insecure_local else []
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                args,
                cwd=self.params.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | self.env,
            )
        self.wait("/healthz")
        return self

    def wait(self, path: str, timeout: float = START_TIMEOUT_S) -> httpx.Response:
        """Poll ``path`` until it answers 200; fail with the server log if not."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"ragtune serve exited:\n{self.log_tail()}")
            try:
                last = httpx.get(self.url + path, timeout=10)
                if last.status_code == 200:
                    return last
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.5)
        pytest.fail(f"{path} not 200 after {timeout} s ({last}):\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def audit(self) -> list[dict]:
        from ragtune.audit import AuditLog

        settings = self.settings
        return AuditLog(settings.path(settings.project.audit_log)).records()

    def jsonl(self, name: str) -> list[dict]:
        settings = self.settings
        path = settings.path(settings.project.state_dir) / name
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.strip()]


class _EchoHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible upstream model that answers "You asked: <question>",
    streaming in 3-character pieces so PII arrives split across chunks."""

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        # the repo's templates put the bare question on the prompt's last line
        question = prompt.strip().splitlines()[-1]
        text = f"You asked: {question}"
        if body.get("stream"):
            self._stream(text)
            return
        payload = {
            "id": "echo-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(text)},
        }
        self._send(200, "application/json", json.dumps(payload).encode())

    def _stream(self, text: str) -> None:
        events = [
            {"choices": [{"index": 0, "delta": {"content": text[i : i + 3]}}]}
            for i in range(0, len(text), 3)
        ]
        lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
        self._send(200, "text/event-stream", "".join(lines).encode())

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:  # quiet test output
        return


@pytest.fixture(scope="session")
def echo_upstream() -> Iterator[str]:
    """Base URL (with /v1) of the echoing upstream model."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def serve_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


QUESTION = "How long do we have to send a final response to a complaint?"
CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"
ECHO_KEYS = "test-key-one,test-key-two"
ECHO_ADMIN_KEY = "test-admin-key"


def chat_body(question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": question}]
    return {"model": "ragtune", "messages": messages, "temperature": 0, **extra}


def wait_model_loaded(server: Server, timeout: float = START_TIMEOUT_S) -> dict:
    """``/readyz`` once the model is loaded (the index may still be missing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(server.url + "/readyz", timeout=10).json()
        if body["model"] is not None:
            return body
        time.sleep(0.5)
    pytest.fail(f"model not loaded after {timeout} s:\n{server.log_tail()}")


@dataclass
class TinyRun:
    """The tiny-model server and what it answered before the index was published."""

    server: Server
    before_readyz: httpx.Response
    before_chat: httpx.Response
    reload: dict
    tag: str


@pytest.fixture(scope="session")
def tiny(serve_root: Path, embedder) -> Iterator[TinyRun]:  # noqa: ANN001
    """``ragtune serve`` with the config-built tiny model, started on an empty
    index, then published to and reloaded (no restart)."""
    generation = {"provider": "tiny", "max_new_tokens": 24}
    params = write_params(serve_root, "tiny", generation, {})
    server = Server(params, free_port(), serve_root / "tiny.log")
    try:
        server.start()
        wait_model_loaded(server)
        before_readyz = httpx.get(server.url + "/readyz", timeout=10)
        before_chat = httpx.post(
            server.url + "/v1/chat/completions", json=chat_body(), timeout=60
        )
        tag = publish_documents(params, embedder)
        reload = httpx.post(server.url + "/admin/reload", timeout=60).json()
        server.wait("/readyz")
        yield TinyRun(server, before_readyz, before_chat, reload, tag)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def echo(serve_root: Path, embedder, echo_upstream: str) -> Iterator[Server]:  # noqa: ANN001
    """``ragtune serve`` over the echoing upstream (provider ``openai``), with a
    deny term and the shipped key settings: API keys in RAGTUNE_API_KEYS, an
    admin key in RAGTUNE_ADMIN_KEYS."""
    generation = {
        "provider": "openai",
        "model": "echo",
        "endpoint": echo_upstream,
        "api_key_env": None,
    }
    serving = {"deny_terms": ["Project Falcon"], "stream_holdback_chars": 40}
    params = write_params(serve_root, "echo", generation, serving)
    publish_documents(params, embedder)
    env = {"RAGTUNE_API_KEYS": ECHO_KEYS, "RAGTUNE_ADMIN_KEYS": ECHO_ADMIN_KEY}
    server = Server(
        params, free_port(), serve_root / "echo.log", env=env, insecure_local=False
    )
    try:
        server.start()
        server.wait("/readyz")
        yield server
    finally:
        server.stop()


def lora_adapter(folder: Path, seed: int = 5) -> Path:
    """A saved LoRA adapter for the config-built tiny model, with non-zero B
    matrices drawn from ``seed``: each seed answers differently."""
    from ragtune.tasks.training.config import QLoRAConfig
    from tests.generation.conftest import save_perturbed_adapter

    training = QLoRAConfig(load_in_4bit=False, lora_r=4, lora_alpha=8, seed=13)
    return save_perturbed_adapter(training, folder, seed)


@pytest.fixture(scope="session")
def serving_kit():  # noqa: ANN201
    """Constants and helpers for test modules."""
    from types import SimpleNamespace

    return SimpleNamespace(
        QUESTION=QUESTION,
        CARD=CARD,
        EMAIL=EMAIL,
        KEYS=ECHO_KEYS.split(","),
        ADMIN_KEY=ECHO_ADMIN_KEY,
        DOCUMENTS=DOCUMENTS,
        Server=Server,
        chat_body=chat_body,
        write_params=write_params,
        publish_documents=publish_documents,
        free_port=free_port,
        wait_model_loaded=wait_model_loaded,
        lora_adapter=lora_adapter,
    )
