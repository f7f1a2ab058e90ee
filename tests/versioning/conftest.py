"""Real git + DVC repositories in tmp_path, with a local-folder DVC remote."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def run_git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its stdout; fail the test on error."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"git {args} failed: {proc.stderr}"
    return proc.stdout.strip()


def run_dvc(repo: Path, *args: str) -> str:
    """Run the real ``dvc`` CLI in ``repo`` (an independent witness of our API)."""
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"dvc {args} failed: {proc.stdout}{proc.stderr}"
    return proc.stdout


def configure_git(repo: Path) -> None:
    """Identity and signing settings so commits work on any machine."""
    run_git(repo, "config", "user.name", "ragtune tests")
    run_git(repo, "config", "user.email", "tests@ragtune.invalid")
    run_git(repo, "config", "commit.gpgsign", "false")


def commit_all(repo: Path, message: str) -> str:
    """Stage everything, commit, and return the new commit id."""
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "--quiet", "--no-verify", "-m", message)
    return run_git(repo, "rev-parse", "HEAD")


def write_tree(root: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: text}`` below ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


KB_V1 = {
    "kb/compliance/kyc-policy.md": "# KYC\nCustomers are verified every 12 months.\n",
    "kb/products/pricing.md": "# Pricing\nGold plan: 10 EUR per month.\n",
    "kb/guides/onboarding.txt": "Open the portal, then sign in with SSO.\n",
}


class RepoTools:
    """The helpers above, handed to tests through the ``tools`` fixture
    (tests cannot import conftest under ``--import-mode=importlib``)."""

    git = staticmethod(run_git)
    dvc = staticmethod(run_dvc)
    commit_all = staticmethod(commit_all)
    write_tree = staticmethod(write_tree)
    kb_v1 = KB_V1


@pytest.fixture(scope="session")
def tools() -> type[RepoTools]:
    return RepoTools


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository with an identity configured."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "--quiet")
    configure_git(repo)
    return repo


@pytest.fixture
def dvc_repo(git_repo: Path, tmp_path: Path) -> Path:
    """A git + DVC repository with a default local remote at ``tmp_path/remote``."""
    run_dvc(git_repo, "init", "--quiet")
    run_dvc(git_repo, "remote", "add", "--default", "storage", str(tmp_path / "remote"))
    commit_all(git_repo, "dvc init")
    return git_repo


@pytest.fixture
def remote_dir(tmp_path: Path) -> Path:
    return tmp_path / "remote"


@pytest.fixture
def objects_in() -> Callable[[Path], set[str]]:
    """DVC 3 object ids stored in a cache or remote folder (``files/md5/xx/yyyy``)."""

    def _objects(store: Path) -> set[str]:
        base = store / "files" / "md5"
        if not base.is_dir():
            return set()
        return {p.parent.name + p.name for p in base.glob("*/*") if p.is_file()}

    return _objects


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Silence one deprecation inside DVC's own trie code (not ours to fix)."""
    here = Path(__file__).parent
    quiet = pytest.mark.filterwarnings(
        "ignore:_NoneStep.value will soon raise:DeprecationWarning"
    )
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(quiet)
