"""A move of the live index that a killed run left out of the audit log is found
by the next writer of the index, for a rollback as for a publish; a ledger row
whose move never happened, and a record older than the row, change nothing."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from ragtune.app.catalog import Catalog
from ragtune.app.index import unrecorded_move
from ragtune.app.settings import load_settings
from ragtune.tasks.index import ledger as lg
from ragtune.tasks.index.publish import list_tags, rollback
from ragtune.tasks.index.tables import connect


def _catalog(project: SimpleNamespace) -> Catalog:
    root = project.state.parent
    params = {
        "project": {"state_dir": "state", "audit_log": "state/audit.jsonl"},
        "index": {"uri": "state/index", "table": project.table},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return Catalog.from_settings(load_settings(root / "params.yaml"))


def test_an_unrecorded_rollback_is_found_and_a_recorded_one_is_not(project) -> None:  # noqa: ANN001
    catalog = _catalog(project)
    audit = catalog.audit()
    first, second = project.tags
    live = unrecorded_move(catalog)  # the template's publishes were never audited
    assert live is not None and (live.action, live.tag) == ("publish", second)
    audit.append("index.published", tag=second)
    assert unrecorded_move(catalog) is None

    rollback(project.index_uri, project.table, first)  # killed before its record
    missed = unrecorded_move(catalog)
    assert missed is not None and (missed.action, missed.tag) == ("rollback", first)
    audit.append("index.rolled-back", tag=first)
    assert unrecorded_move(catalog) is None

    # back to the second, then to the first again: the earlier record of the
    # first tag does not cover the later rollback to it
    rollback(project.index_uri, project.table, second)
    audit.append("index.rolled-back", tag=second)
    rollback(project.index_uri, project.table, first)
    again = unrecorded_move(catalog)
    assert again is not None and again.tag == first


def test_a_ledger_row_without_its_move_is_not_reported(project) -> None:  # noqa: ANN001
    catalog = _catalog(project)
    _, second = project.tags
    catalog.audit().append("index.published", tag=second)
    db = connect(project.index_uri)
    (entry,) = [e for e in lg.read_entries(db, project.table) if e.tag == second]
    # a publish whose run died after writing its row, before moving live
    lg.append_entry(db, project.table, entry.__class__(
        **{**entry.__dict__, "tag": "live-never", "version": entry.version + 99}
    ))  # fmt: skip
    assert [t.tag for t in list_tags(project.index_uri, project.table) if t.live] == [
        second
    ]
    assert unrecorded_move(catalog) is None
