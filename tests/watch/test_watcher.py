"""The watcher on real sources: a local folder, a local git repository (real
git), and a local HTTP server with ETags (304 on no change, a changed body);
what it writes into the knowledge base, what it archives, what it remembers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from ragtune.errors import InputError
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.watch.config import WatchConfig, WatchSource
from ragtune.tasks.watch.state import WatchState, load_state, save_state
from ragtune.tasks.watch.watcher import apply_changes, archived, scan

from .conftest import POLICY, amend, commit, git, typo_fix

NOW = "2026-11-25T12:00:00+00:00"
NAME = Path(POLICY).name


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Pass:
    """Scan, then apply, the way the flow does, carrying the state along."""

    def __init__(self, tmp: Path, source: WatchSource) -> None:
        self.kb, self.archive = tmp / "kb", tmp / "archive"
        self.kb.mkdir(exist_ok=True)
        self.source, self.cfg = source, WatchConfig(sources=[source])
        self.state = WatchState()

    def run(self):  # noqa: ANN201 - (changes, WatchPass)
        found = scan([self.source], self.cfg, self.kb, self.state, self.archive, NOW)
        applied = apply_changes(found.changes, self.kb, self.archive, DataConfig())
        self.state = found.next_state
        return applied, found


def test_folder_source_baseline_change_and_removal(
    tmp_path: Path, policy_text: str
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / NAME).write_text(policy_text)
    (inbox / "notes.docx").write_bytes(b"PK not watched")
    (inbox / ".draft.md").write_text("hidden: not watched")
    watch = Pass(tmp_path, WatchSource(name="inbox", kind="folder", path=inbox))
    kb_file = watch.kb / "compliance" / "inbox" / NAME
    kb_file.parent.mkdir(parents=True)
    kb_file.write_text(policy_text)  # the KB already mirrors the source

    changes, found = watch.run()
    assert changes == () and found.unchanged == ("inbox",)  # a baseline, no event
    assert watch.state.get("inbox").files == {NAME: sha(policy_text.encode())}

    (inbox / NAME).write_text(amend(policy_text))
    [change], _ = watch.run()
    [item] = change.files
    assert (item.status, item.kb_rel) == ("modified", f"compliance/inbox/{NAME}")
    assert item.doc_id == "aml-customer-due-diligence-policy"  # from front matter
    assert change.doc_ids == ("aml-customer-due-diligence-policy",)
    assert item.significance.score > 0.5
    assert str(item.effective_date) == "2026-07-01"
    assert kb_file.read_text() == amend(policy_text)
    # the replaced version is kept, by its hash
    assert archived(watch.archive, sha(policy_text.encode())) == policy_text.encode()

    (inbox / NAME).unlink()
    [change], _ = watch.run()
    assert change.files[0].status == "removed"
    assert kb_file.read_text() == amend(policy_text)  # never deleted by the watcher
    assert watch.run()[0] == ()  # and reported once


def test_new_file_in_a_folder_is_added_under_the_area(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "circulars").mkdir(parents=True)
    text = "# Circular 7\n\nFirms must report by 2026-03-31.\n"
    (inbox / "circulars" / "c7.md").write_text(text)
    source = WatchSource(name="inbox", kind="folder", path=inbox, dest="regulator")
    [change], _ = Pass(tmp_path, source).run()
    [item] = change.files
    assert item.status == "added" and item.old_sha256 is None
    assert item.kb_rel == "compliance/regulator/circulars/c7.md"
    assert item.doc_id == "compliance--regulator--circulars--c7"  # path-based id
    assert (tmp_path / "kb" / item.kb_rel).read_text() == text


def test_git_source_reads_the_committed_branch(
    tmp_path: Path, policy_text: str
) -> None:
    repo = tmp_path / "rulebook"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {f"aml/{NAME}": policy_text, "README.txt": "not below aml/"}, "v4.0")
    source = WatchSource(
        name="rulebook", kind="git", path=repo, branch="main", subdir="aml"
    )
    watch = Pass(tmp_path, source)
    [change], _ = watch.run()
    assert [f.kb_rel for f in change.files] == [f"compliance/rulebook/{NAME}"]
    first_commit = watch.state.get("rulebook").commit

    # an uncommitted edit in the checkout is not a published change
    (repo / "aml" / NAME).write_text(typo_fix(policy_text))
    changes, found = watch.run()
    assert changes == () and found.unchanged == ("rulebook",)
    assert watch.state.get("rulebook").commit == first_commit

    head = commit(repo, {f"aml/{NAME}": amend(policy_text)}, "Amendment 2026-01")
    [change], _ = watch.run()
    assert change.files[0].status == "modified"
    assert change.files[0].diff.lines_added == 3
    assert watch.state.get("rulebook").commit == head


def test_git_source_with_an_unknown_branch_is_an_error_not_a_crash(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "rulebook"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a.md": "# A\n"}, "first")
    source = WatchSource(name="rb", kind="git", path=repo, branch="release")
    _, found = Pass(tmp_path, source).run()
    [error] = found.errors
    assert error.source == "rb" and "no branch 'release'" in error.message
    assert found.next_state.get("rb") is None


def test_http_source_etag_304_and_changed_body(
    tmp_path: Path, http_page, policy_text: str
) -> None:
    page, url = http_page
    page.body = policy_text.encode()
    source = WatchSource(name="apca", kind="http", url=url, dest="apca/aml-cdd.md")
    watch = Pass(tmp_path, source)
    [change], _ = watch.run()
    assert change.files[0].kb_rel == "compliance/apca/aml-cdd.md"
    assert change.files[0].status == "added"
    assert page.requests == [(200, None)]
    assert watch.state.get("apca").etag == page.etag

    changes, _ = watch.run()
    assert changes == () and page.requests[-1] == (304, page.etag)

    page.body = typo_fix(policy_text).encode()
    [change], _ = watch.run()
    assert page.requests[-1][0] == 200
    assert change.files[0].status == "modified"
    assert change.files[0].significance.score < 0.1
    kb_file = tmp_path / "kb" / "compliance" / "apca" / "aml-cdd.md"
    assert kb_file.read_text() == typo_fix(policy_text)


def test_http_server_error_keeps_the_last_state(tmp_path: Path, http_page) -> None:
    page, url = http_page
    page.body = b"# Notice\n\nFirms shall comply.\n"
    source = WatchSource(name="apca", kind="http", url=url, dest="notice.md")
    watch = Pass(tmp_path, source)
    watch.run()
    before = watch.state.get("apca")
    page.status = 503
    _, found = watch.run()
    assert "503" in found.errors[0].message
    assert watch.state.get("apca") == before


def test_state_round_trip_and_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "watch_state.json"
    assert load_state(path) == WatchState()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.md").write_text("# A\n\nFirms must act.\n")
    _, found = Pass(tmp_path, WatchSource(name="x", kind="folder", path=inbox)).run()
    save_state(path, found.next_state)
    assert load_state(path) == found.next_state
    path.write_text("[]")
    with pytest.raises(InputError, match="watch_state.json is not valid"):
        load_state(path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"name": "x", "kind": "folder"}, "needs path"),
        ({"name": "x", "kind": "http", "url": "ftp://a/b"}, r"http\(s\) url"),
        ({"name": "x", "kind": "http", "url": "https://a/b"}, "needs dest"),
        ({"name": "Bad Name", "kind": "folder", "path": "."}, "lowercase"),
        (
            {"name": "x", "kind": "folder", "path": ".", "dest": "../up"},
            "inside the KB",
        ),
    ],
)
def test_bad_sources_are_named(source: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WatchSource(**source)


def test_duplicate_sources_are_refused() -> None:
    twice = [{"name": "a", "kind": "folder", "path": "."}] * 2
    with pytest.raises(ValidationError, match="duplicate name a"):
        WatchConfig(sources=twice)
