"""init_knowledge_base and track_and_push against real git, DVC and a local remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.app.settings import load_settings
from ragtune.errors import ConfigError, InputError
from ragtune.tasks.versioning import (
    data_hash,
    init_knowledge_base,
    recorded_hash,
    track_and_push,
)

SHARED = ("kb.dvc", "params.yaml", ".dvc/config", ".gitignore", ".dvcignore")


def _snapshot(root: Path) -> dict[str, str]:
    return {name: (root / name).read_text(encoding="utf-8") for name in SHARED}


def test_init_from_scratch(tmp_path: Path, objects_in, tools):
    root = tmp_path / "northwind"

    result = init_knowledge_base(root, ".ragtune/dvc-remote")

    for dept in ("compliance", "products", "reports", "guides"):
        assert (root / "kb" / dept / ".gitkeep").is_file()
    assert (root / "eval" / "qrels" / "test.tsv").read_text().startswith("query-id")
    assert (root / ".git").is_dir() and (root / ".dvc").is_dir()
    assert result.kb_hash == recorded_hash(root / "kb.dvc") == data_hash(root / "kb")
    assert result.changed and result.pushed == 2  # one empty .gitkeep + the .dir
    remote = root / ".ragtune" / "dvc-remote"
    assert result.remote_url == str(remote)
    assert objects_in(remote) == objects_in(root / ".dvc" / "cache")
    assert result.kb_hash in objects_in(remote)
    config = (root / ".dvc" / "config").read_text()
    assert "url = ../.ragtune/dvc-remote" in config  # relative: the repo can move
    assert "remote = storage" in config
    settings = load_settings(root / "params.yaml", env={})
    assert settings.path(settings.data.kb_path) == root / "kb"
    assert settings.uri(settings.dvc.remote_url) == str(remote)
    assert "kb.dvc" in result.to_commit and "params.yaml" in result.to_commit
    # The remote and state folder stay out of git.
    assert tools.git(root, "status", "--porcelain", "--ignored", ".ragtune").startswith(
        "!!"
    )


def test_second_init_changes_nothing(tmp_path: Path, tools):
    root = tmp_path / "kb-repo"
    init_knowledge_base(root, str(tmp_path / "remote"))
    before = _snapshot(root)

    again = init_knowledge_base(root, str(tmp_path / "remote"))

    assert (again.actions, again.pushed, again.changed) == ((), 0, False)
    assert "nothing changed" in again.summary()
    assert _snapshot(root) == before


def test_init_adopts_existing_documents_and_params(tmp_path: Path, tools, objects_in):
    root = tmp_path / "existing"
    tools.write_tree(root, tools.kb_v1)
    params = root / "params.yaml"
    params.write_text("# our settings\nproject:\n  name: acme\n", encoding="utf-8")

    result = init_knowledge_base(root, str(tmp_path / "remote"))

    text = params.read_text(encoding="utf-8")
    assert text.startswith("# our settings\nproject:\n  name: acme\n")
    assert load_settings(params, env={}).project.name == "acme"
    assert load_settings(params, env={}).data.kb_path == Path("kb")
    # 3 documents + 1 shared empty .gitkeep + the tree object.
    assert result.pushed == 5 == len(objects_in(tmp_path / "remote"))


def test_conflicting_params_refuse_before_any_change(tmp_path: Path):
    root = tmp_path / "conflict"
    root.mkdir()
    (root / "params.yaml").write_text("data:\n  kb_path: docs\n", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"data\.kb_path: is 'docs', init sets 'kb'"):
        init_knowledge_base(root, str(tmp_path / "remote"))
    assert sorted(p.name for p in root.iterdir()) == ["params.yaml"]


def test_remote_pointing_elsewhere_is_refused(tmp_path: Path):
    root = tmp_path / "kb-repo"
    init_knowledge_base(root, str(tmp_path / "remote-a"))
    (root / "params.yaml").unlink()
    with pytest.raises(ConfigError, match="already points to"):
        init_knowledge_base(root, str(tmp_path / "remote-b"))


@pytest.mark.parametrize(
    ("url", "name", "reason"),
    [
        ("ftp://host/x", "storage", "use a local folder or one of s3://"),
        ("http://example.com/dvc", "storage", "use a local folder"),
        ("  ", "storage", "remote URL is empty"),
        ("remote", "my remote", "remote_name: String should match pattern"),
    ],
)
def test_unusable_remotes_are_refused_before_any_change(
    tmp_path: Path, url: str, name: str, reason: str
):
    with pytest.raises(InputError, match=reason):
        init_knowledge_base(tmp_path / "kb-repo", url, name)
    assert not (tmp_path / "kb-repo").exists()


def test_cloud_remote_is_configured_without_secrets(tmp_path: Path):
    root = tmp_path / "cloud"
    result = init_knowledge_base(root, "s3://acme-kb/dvc", push_data=False)
    config = (root / ".dvc" / "config").read_text()
    assert "url = s3://acme-kb/dvc" in config
    assert "secret" not in config and "key" not in config
    assert result.pushed == 0
    assert (
        load_settings(root / "params.yaml", env={}).dvc.remote_url == "s3://acme-kb/dvc"
    )


def test_track_and_push_after_a_change(tmp_path: Path, tools, objects_in):
    root = tmp_path / "kb-repo"
    remote = tmp_path / "remote"
    first = init_knowledge_base(root, str(remote))
    tools.write_tree(root, {"kb/products/pricing.md": "Gold plan: 12 EUR.\n"})

    new_hash = track_and_push(root, Path("kb"), "storage")

    assert new_hash != first.kb_hash
    assert new_hash == recorded_hash(root / "kb.dvc") == data_hash(root / "kb")
    stored = objects_in(remote)
    assert new_hash in stored and first.kb_hash in stored  # both versions kept
    kb_dvc = (root / "kb.dvc").read_text()
    assert track_and_push(root, Path("kb"), "storage") == new_hash
    assert (root / "kb.dvc").read_text() == kb_dvc and objects_in(remote) == stored


def test_track_and_push_errors(tmp_path: Path):
    root = tmp_path / "kb-repo"
    init_knowledge_base(root, str(tmp_path / "remote"))
    with pytest.raises(ConfigError, match="remote 'backup' is not configured"):
        track_and_push(root, Path("kb"), "backup")
    with pytest.raises(InputError, match="does not exist"):
        track_and_push(root, Path("docs"), "storage")


def test_library_calls_keep_stdout_clean(tmp_path: Path, tools, capfd):
    """``ragtune ... --json`` owns stdout; DVC's hints must not reach it."""
    root = tmp_path / "kb-repo"
    init_knowledge_base(root, str(tmp_path / "remote"))
    tools.write_tree(root, {"kb/guides/new.md": "A new guide.\n"})
    track_and_push(root, Path("kb"), "storage")

    assert capfd.readouterr().out == ""


def test_init_inside_an_existing_git_repo_uses_a_dvc_subdir(
    git_repo: Path, tmp_path: Path
):
    root = git_repo / "knowledge"
    result = init_knowledge_base(root, str(tmp_path / "remote"))

    assert "dvc init --subdir" in result.actions and "git init" not in result.actions
    assert not (root / ".git").exists()
    assert "kb.dvc" in result.to_commit and ".dvc/config" in result.to_commit
    assert result.pushed == 2
