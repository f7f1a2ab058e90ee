"""resolve_data: the knowledge base as it was at a revision, git- or DVC-tracked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.versioning import data_hash, recorded_hash, resolve_data

PRICING = "kb/products/pricing.md"
NEW_PRICE = "# Pricing\nGold plan: 12 EUR per month.\n"


def _read(kb: Path, rel: str) -> str:
    return (kb / Path(rel).relative_to("kb")).read_text(encoding="utf-8")


def test_git_tracked_kb_at_previous_commit(git_repo: Path, tmp_path: Path, tools):
    tools.write_tree(git_repo, tools.kb_v1)
    first = tools.commit_all(git_repo, "kb v1")
    v1_hash = data_hash(git_repo / "kb")
    tools.write_tree(git_repo, {PRICING: NEW_PRICE})
    tools.commit_all(git_repo, "price change")

    old = resolve_data(git_repo, Path("kb"), "HEAD~1", tmp_path / "work")

    assert old.tracked_by == "git"
    assert old.git_commit == first
    assert old.rev == "HEAD~1"
    assert _read(old.kb_path, PRICING) == tools.kb_v1[PRICING]
    assert sorted(p.name for p in old.kb_path.rglob("*.*")) == [
        "kyc-policy.md",
        "onboarding.txt",
        "pricing.md",
    ]
    assert old.data_hash == v1_hash
    assert old.data_hash != data_hash(git_repo / "kb")
    # The working tree is untouched by resolving an older revision.
    assert _read(git_repo / "kb", PRICING) == NEW_PRICE


def test_working_tree_revision(git_repo: Path, tmp_path: Path, tools):
    tools.write_tree(git_repo, tools.kb_v1)
    head = tools.commit_all(git_repo, "kb v1")
    tools.write_tree(git_repo, {PRICING: NEW_PRICE})  # uncommitted edit

    now = resolve_data(git_repo, Path("kb"), None, tmp_path / "work")

    assert now.rev is None
    assert now.kb_path == git_repo / "kb"
    assert now.git_commit == head
    assert now.tracked_by == "git"
    assert now.data_hash == data_hash(git_repo / "kb")
    assert not (tmp_path / "work").exists()


def test_untracked_working_tree(tmp_path: Path, tools):
    tools.write_tree(tmp_path / "plain", tools.kb_v1)
    now = resolve_data(tmp_path / "plain", Path("kb"), None, tmp_path / "work")
    assert (now.tracked_by, now.git_commit) == ("untracked", None)


def test_dvc_tracked_kb_at_previous_commit(
    dvc_repo: Path, remote_dir: Path, tmp_path: Path, tools, objects_in
):
    tools.write_tree(dvc_repo, tools.kb_v1)
    tools.dvc(dvc_repo, "add", "kb")
    tools.dvc(dvc_repo, "push")
    first = tools.commit_all(dvc_repo, "kb v1 in dvc")
    v1_hash = recorded_hash(dvc_repo / "kb.dvc")
    tools.write_tree(dvc_repo, {PRICING: NEW_PRICE})
    tools.dvc(dvc_repo, "add", "kb")
    tools.commit_all(dvc_repo, "price change")
    assert tools.git(dvc_repo, "ls-files", "kb") == ""  # DVC owns it, not git

    old = resolve_data(dvc_repo, Path("kb"), "HEAD~1", tmp_path / "work")
    now = resolve_data(dvc_repo, Path("kb"), None, tmp_path / "work")

    assert (old.tracked_by, old.git_commit, old.data_hash) == ("dvc", first, v1_hash)
    assert _read(old.kb_path, PRICING) == tools.kb_v1[PRICING]
    assert now.tracked_by == "dvc"
    assert now.data_hash == recorded_hash(dvc_repo / "kb.dvc") != v1_hash


def test_dvc_data_comes_from_the_remote_when_the_cache_is_gone(
    dvc_repo: Path, tmp_path: Path, tools
):
    tools.write_tree(dvc_repo, tools.kb_v1)
    tools.dvc(dvc_repo, "add", "kb")
    tools.dvc(dvc_repo, "push")
    tools.commit_all(dvc_repo, "kb v1 in dvc")
    v1_hash = recorded_hash(dvc_repo / "kb.dvc")
    shutil.rmtree(dvc_repo / ".dvc" / "cache")

    old = resolve_data(dvc_repo, Path("kb"), "HEAD", tmp_path / "work")

    assert old.data_hash == v1_hash
    assert _read(old.kb_path, PRICING) == tools.kb_v1[PRICING]


def test_resolving_twice_reuses_the_copy(git_repo: Path, tmp_path: Path, tools):
    tools.write_tree(git_repo, tools.kb_v1)
    tools.commit_all(git_repo, "kb v1")
    first = resolve_data(git_repo, Path("kb"), "HEAD", tmp_path / "work")
    again = resolve_data(git_repo, Path("kb"), "HEAD", tmp_path / "work")
    assert first == again
    assert [p.name for p in first.kb_path.parent.iterdir()] == ["kb"]


def test_a_changed_copy_is_never_overwritten(git_repo: Path, tmp_path: Path, tools):
    tools.write_tree(git_repo, tools.kb_v1)
    tools.commit_all(git_repo, "kb v1")
    first = resolve_data(git_repo, Path("kb"), "HEAD", tmp_path / "work")
    (first.kb_path / "notes.md").write_text("my local notes\n", encoding="utf-8")

    with pytest.raises(InputError, match="exists with other content"):
        resolve_data(git_repo, Path("kb"), "HEAD", tmp_path / "work")
    assert (first.kb_path / "notes.md").read_text() == "my local notes\n"


def test_unknown_revision_is_named(git_repo: Path, tmp_path: Path, tools):
    tools.write_tree(git_repo, tools.kb_v1)
    tools.commit_all(git_repo, "kb v1")
    with pytest.raises(InputError, match="unknown git revision 'v9.9'"):
        resolve_data(git_repo, Path("kb"), "v9.9", tmp_path / "work")


def test_path_absent_at_revision_is_named(git_repo: Path, tmp_path: Path, tools):
    tools.write_tree(git_repo, {"README.md": "hello\n"})
    tools.commit_all(git_repo, "no kb yet")
    tools.write_tree(git_repo, tools.kb_v1)
    tools.commit_all(git_repo, "kb v1")
    with pytest.raises(InputError, match=r"kb does not exist at revision 'HEAD~1'"):
        resolve_data(git_repo, Path("kb"), "HEAD~1", tmp_path / "work")
    with pytest.raises(InputError, match="eval does not exist in the working tree"):
        resolve_data(git_repo, Path("eval"), None, tmp_path / "work")


@pytest.mark.parametrize("bad", ["/etc", "../kb", "."])
def test_kb_path_must_stay_inside_the_repo(git_repo: Path, tmp_path: Path, bad: str):
    with pytest.raises(InputError, match="must be relative to the repo"):
        resolve_data(git_repo, Path(bad), None, tmp_path / "work")


def test_rev_outside_git_is_an_input_error(tmp_path: Path, tools):
    tools.write_tree(tmp_path / "plain", tools.kb_v1)
    with pytest.raises(InputError, match="not a git repo"):
        resolve_data(tmp_path / "plain", Path("kb"), "HEAD", tmp_path / "work")


def test_stage_dependency_in_git_resolves_as_git(dvc_repo: Path, tmp_path: Path, tools):
    """The project's own layout: data/kb in git, declared as a dvc.yaml dependency."""
    tools.write_tree(dvc_repo, {f"data/{k}": v for k, v in tools.kb_v1.items()})
    stage = "stages:\n  v:\n    cmd: 'true'\n    deps: [data/kb]\n"
    tools.write_tree(dvc_repo, {"dvc.yaml": stage})
    tools.commit_all(dvc_repo, "kb as a stage dependency")

    now = resolve_data(dvc_repo, Path("data/kb"), None, tmp_path / "work")
    then = resolve_data(dvc_repo, Path("data/kb"), "HEAD", tmp_path / "work")

    assert now.tracked_by == then.tracked_by == "git"
    assert now.data_hash == then.data_hash
    assert then.kb_path == tmp_path / "work" / then.git_commit[:12] / "data" / "kb"
