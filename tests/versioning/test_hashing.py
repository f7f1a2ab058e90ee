"""data_hash must equal what the real ``dvc add`` records, ignore rules included."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.versioning import data_hash, recorded_hash


def test_folder_hash_equals_dvc_add(dvc_repo: Path, tools) -> None:
    tools.write_tree(dvc_repo, tools.kb_v1)
    ours = data_hash(dvc_repo / "kb")

    tools.dvc(dvc_repo, "add", "kb")

    assert ours.endswith(".dir")
    assert ours == recorded_hash(dvc_repo / "kb.dvc")


def test_file_hash_equals_dvc_add(dvc_repo: Path, tools) -> None:
    tools.write_tree(dvc_repo, {"rates.csv": "plan,eur\ngold,10\n"})
    ours = data_hash(dvc_repo / "rates.csv")

    tools.dvc(dvc_repo, "add", "rates.csv")

    assert not ours.endswith(".dir")
    assert ours == recorded_hash(dvc_repo / "rates.csv.dvc")


def test_dvcignore_rules_apply_as_for_dvc_add(dvc_repo: Path, tools) -> None:
    tools.write_tree(dvc_repo, tools.kb_v1)
    before = data_hash(dvc_repo / "kb")
    (dvc_repo / ".dvcignore").write_text("*.swp\n", encoding="utf-8")
    tools.write_tree(dvc_repo, {"kb/products/.pricing.md.swp": "editor junk"})

    ours = data_hash(dvc_repo / "kb")
    tools.dvc(dvc_repo, "add", "kb")

    # The ignored swap file changes neither our hash nor DVC's.
    assert ours == before == recorded_hash(dvc_repo / "kb.dvc")


def test_hash_is_content_addressed(tmp_path: Path, tools) -> None:
    tools.write_tree(tmp_path / "a", tools.kb_v1)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert data_hash(tmp_path / "a" / "kb") == data_hash(tmp_path / "b" / "kb")

    (tmp_path / "b" / "kb" / "products" / "pricing.md").write_text("Gold: 12 EUR\n")
    assert data_hash(tmp_path / "a" / "kb") != data_hash(tmp_path / "b" / "kb")


def test_renaming_a_file_changes_the_hash(tmp_path: Path, tools) -> None:
    tools.write_tree(tmp_path, tools.kb_v1)
    before = data_hash(tmp_path / "kb")
    guides = tmp_path / "kb" / "guides"
    (guides / "onboarding.txt").rename(guides / "welcome.txt")
    assert data_hash(tmp_path / "kb") != before


def test_hundred_files_rehash_quickly(tmp_path: Path, tools) -> None:
    files = {f"kb/d{i % 4}/doc{i:03}.md": f"# Doc {i}\n" + "x" * i for i in range(100)}
    tools.write_tree(tmp_path, files)
    first = data_hash(tmp_path / "kb")

    start = time.perf_counter()
    second = data_hash(tmp_path / "kb")
    elapsed = time.perf_counter() - start

    assert first == second
    # Unchanged files are looked up by (inode, mtime, size), not re-read; the
    # bound is loose because the test machine is shared.
    assert elapsed < 3.0


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        data_hash(tmp_path / "nope")


def test_recorded_hash_reads_dvc_files(tmp_path: Path) -> None:
    assert recorded_hash(tmp_path / "absent.dvc") is None
    good = tmp_path / "kb.dvc"
    good.write_text("outs:\n- md5: abc.dir\n  path: kb\n", encoding="utf-8")
    assert recorded_hash(good) == "abc.dir"
    bad = tmp_path / "bad.dvc"
    bad.write_text("outs: []\n", encoding="utf-8")
    with pytest.raises(InputError, match="exactly one entry"):
        recorded_hash(bad)
