"""The audit log in Postgres: the same chain, key and anchor as the file log, in a
table that refuses UPDATE, DELETE and TRUNCATE. Runs against the Postgres that
CI starts (``scripts/ci-services.sh`` sets RAGTUNE_TEST_AUDIT_DSN)."""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path

import pytest

from ragtune.audit import AuditLog

DSN = os.environ.get("RAGTUNE_TEST_AUDIT_DSN")
pytestmark = pytest.mark.skipif(
    not DSN, reason="no Postgres: RAGTUNE_TEST_AUDIT_DSN is unset (CI sets it)"
)
KEY = b"p" * 32


def _log(tmp_path: Path, name: str | None = None):  # noqa: ANN202
    from ragtune.audit_postgres import PostgresAuditLog

    name = name or f"audit-{uuid.uuid4().hex[:12]}.jsonl"
    return PostgresAuditLog(DSN, name, KEY, tmp_path / "anchors" / f"{name}.anchor")


def _as_owner(sql: str, *params: object) -> None:
    """What the table's owner (or a superuser) can still do to the rows."""
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("ALTER TABLE ragtune_audit DISABLE TRIGGER USER")
        try:
            conn.execute(sql, params)
        finally:
            conn.execute("ALTER TABLE ragtune_audit ENABLE TRIGGER USER")


def test_records_chain_verify_and_anchor_as_in_a_file(tmp_path: Path) -> None:
    log = _log(tmp_path)
    written = [log.append("index.published", tag=f"live-{i}", rows=i) for i in range(3)]
    assert log.records() == written
    result = log.verify()
    assert result.ok and result.records == 3 and result.anchored == 3
    # the stored text is the file's line: a file log with the same records verifies
    copy = AuditLog(tmp_path / "copy.jsonl", KEY)
    copy.path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in written))
    assert copy.verify().ok and log.repair() == []


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    log = _log(tmp_path)
    threads = [
        threading.Thread(target=lambda i=i: [log.append("t", n=i) for _ in range(5)])
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = log.verify()
    assert result.ok and result.records == 20 and result.anchored == 20


def test_the_table_refuses_changes(tmp_path: Path) -> None:
    import psycopg

    log = _log(tmp_path)
    log.append("index.published", tag="live-0")
    for sql in (
        "UPDATE ragtune_audit SET action = 'x' WHERE log = %s",
        "DELETE FROM ragtune_audit WHERE log = %s",
    ):
        with (
            psycopg.connect(DSN) as conn,
            pytest.raises(psycopg.Error, match="append-only"),
        ):
            conn.execute(sql, (log.name,))
    with (
        psycopg.connect(DSN) as conn,
        pytest.raises(psycopg.Error, match="append-only"),
    ):
        conn.execute("TRUNCATE ragtune_audit")
    assert log.verify().ok


def test_an_owner_cutting_or_rewriting_rows_is_caught(tmp_path: Path) -> None:
    log = _log(tmp_path)
    for i in range(4):
        log.append("index.published", tag=f"live-{i}")
    second = log.records()[1]
    edited = {**second, "details": {"tag": "live-99"}}
    _as_owner(
        "UPDATE ragtune_audit SET record = %s WHERE log = %s AND record = %s",
        json.dumps(edited, sort_keys=True),
        log.name,
        json.dumps(second, sort_keys=True),
    )
    result = log.verify()
    assert not result.ok and result.bad_line == 2 and "edited" in result.reason
    _as_owner(
        "UPDATE ragtune_audit SET record = %s WHERE log = %s AND record = %s",
        json.dumps(second, sort_keys=True),
        log.name,
        json.dumps(edited, sort_keys=True),
    )
    assert log.verify().ok
    _as_owner(
        "DELETE FROM ragtune_audit WHERE id IN (SELECT id FROM ragtune_audit "
        "WHERE log = %s ORDER BY id DESC LIMIT 2)",
        log.name,
    )
    result = log.verify()
    assert not result.ok and "the last 2 record(s) were removed" in result.reason


def test_a_project_on_postgres_through_the_cli(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from ragtune.app.catalog import Catalog
    from ragtune.app.settings import load_settings
    from ragtune.cli import app
    from ragtune.errors import ConfigError

    params = tmp_path / "params.yaml"
    name = f"audit-{uuid.uuid4().hex[:12]}.jsonl"
    params.write_text(
        "project:\n  state_dir: state\n  audit_backend: postgres\n"
        f"  audit_log: state/{name}\n  audit_dsn_env: RAGTUNE_TEST_AUDIT_DSN\n"
    )
    log = Catalog.from_settings(load_settings(params)).audit()
    log.append("index.published", tag="live-0")
    verified = CliRunner().invoke(
        app, ["audit", "verify", "--json", "--params", str(params)]
    )
    assert verified.exit_code == 0, verified.output
    payload = json.loads(verified.stdout)
    assert (
        payload["ok"] and payload["records"] == 1 and payload["anchored_records"] == 1
    )
    assert payload["path"] == f"postgres:ragtune_audit/{name}"
    monkeypatch.delenv("RAGTUNE_TEST_AUDIT_DSN")
    missing = CliRunner().invoke(app, ["audit", "verify", "--params", str(params)])
    assert isinstance(missing.exception, ConfigError)  # exit 2 from the CLI
    assert "RAGTUNE_TEST_AUDIT_DSN (project.audit_dsn_env) is unset" in str(
        missing.exception
    )
