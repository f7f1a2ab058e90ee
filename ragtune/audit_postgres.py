"""The audit log in a Postgres table, for teams that keep audit in their database.

The same chain, key and anchor as the file log (``ragtune.audit.ChainedLog``):
each row holds one record exactly as the file would (its JSON text, so the hash
is recomputed over the very bytes written), and a trigger refuses UPDATE, DELETE
and TRUNCATE, so the table is append-only for every role that does not own it.
Appends to one log take a transaction-scoped advisory lock, so concurrent
writers (flows on several machines) chain one after another. A transaction
cannot leave half a row, so there is nothing to repair; what a superuser can
still do (drop the trigger, rewrite rows) is what the key and the anchor catch.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from ragtune.audit import ChainedLog, VerifyResult, _parse
from ragtune.errors import ConfigError

log = logging.getLogger(__name__)

TABLE = "ragtune_audit"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    log text NOT NULL,
    ts timestamptz NOT NULL,
    action text NOT NULL,
    record text NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_log_id ON {TABLE} (log, id);
CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ragtune audit log is append-only (% refused)', TG_OP;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only();
CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only();
"""
# one creator of the schema at a time (CREATE ... IF NOT EXISTS still races);
# the schema is made once per database, never altered under running writers
_SCHEMA_LOCK = 0x72616774  # "ragt"
_READY: set[str] = set()  # DSNs whose schema this process has seen complete
_READY_LOCK = threading.Lock()


class PostgresAuditLog(ChainedLog):
    """One named log (``log``) in the ``ragtune_audit`` table at ``dsn``."""

    def __init__(
        self,
        dsn: str,
        log_name: str,
        key: bytes | None = None,
        anchor: Path | None = None,
    ) -> None:
        self.dsn, self.name = dsn, log_name
        self.key = key
        self.anchor = None if anchor is None else Path(anchor)
        self.path = f"postgres:{TABLE}/{log_name}"  # where, for messages

    def _connect(self):  # noqa: ANN202 - psycopg.Connection
        import psycopg

        try:
            conn = psycopg.connect(self.dsn, autocommit=False)
        except psycopg.OperationalError as exc:
            raise ConfigError(f"audit database unreachable: {exc}") from None
        with _READY_LOCK:
            if self.dsn not in _READY:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    (exists,) = conn.execute(
                        "SELECT count(*) FROM pg_trigger WHERE tgname = %s",
                        (f"{TABLE}_no_truncate",),
                    ).fetchone()
                    if not exists:
                        conn.execute(_SCHEMA)
                _READY.add(self.dsn)
        return conn

    def append(self, action: str, actor: str = "ragtune", **details: Any) -> dict:
        """Write one record chained to the log's last, in one transaction."""
        with self._connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.name,))
            row = conn.execute(
                f"SELECT record FROM {TABLE} WHERE log = %s ORDER BY id DESC LIMIT 1",
                (self.name,),
            ).fetchone()
            last = None if row is None else _parse(row[0])
            record = self._new_record(last, action, actor, details)
            conn.execute(
                f"INSERT INTO {TABLE} (log, ts, action, record) "
                "VALUES (%s, %s, %s, %s)",
                (
                    self.name,
                    record["ts"],
                    action,
                    json.dumps(record, sort_keys=True, default=str),
                ),
            )
            if self.anchor is not None:  # under the lock: anchors stay in order
                self._write_anchor(record, self._count_after(last, conn))
        return record

    def _count_after(  # type: ignore[override]
        self, last: dict[str, Any] | None, conn: Any = None  # noqa: ANN401
    ) -> int:
        if conn is None:
            return super()._count_after(last)
        (count,) = conn.execute(
            f"SELECT count(*) FROM {TABLE} WHERE log = %s", (self.name,)
        ).fetchone()
        return int(count)

    def _rows(self) -> list[dict[str, Any] | None]:
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT record FROM {TABLE} WHERE log = %s ORDER BY id", (self.name,)
            ).fetchall()
        return [_parse(text) for (text,) in rows]

    def repair(self) -> list[int]:
        """Nothing to move aside: a row is written whole or not at all."""
        return []

    def reanchor(self) -> VerifyResult:
        """Anchor the head of a log that verifies; refuses a broken one."""
        result = self._verify_chain()
        if result.ok and self.anchor is not None and result.records:
            self._write_anchor(self.records()[-1], result.records)
        return result
