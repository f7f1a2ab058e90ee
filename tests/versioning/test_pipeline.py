"""dvc.yaml stages: reproduce, pin deps in dvc.lock, report status as data."""

from __future__ import annotations

import configparser
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from ragtune.errors import ConfigError
from ragtune.tasks.versioning import data_hash, reproduce, stage_status

COPY = (
    "import pathlib, yaml; "
    "p = yaml.safe_load(open('params.yaml'))['copy']; "
    "pathlib.Path('out').mkdir(exist_ok=True); "
    "pathlib.Path('out/copy.txt').write_text(p['prefix'] + open('src/in.txt').read())"
)


@pytest.fixture
def pipeline_repo(dvc_repo: Path, tools) -> Path:
    """One stage that copies a file from a git-tracked folder (as ``data/kb`` is
    in the project), with a prefix read from params.yaml."""
    stage = {
        "cmd": f"{shlex.quote(sys.executable)} -c {shlex.quote(COPY)}",
        "deps": ["src"],
        "params": ["copy"],
        "outs": ["out/copy.txt"],
    }
    tools.write_tree(
        dvc_repo,
        {
            "src/in.txt": "rates v1\n",
            "params.yaml": "copy:\n  prefix: '> '\n",
            "dvc.yaml": yaml.safe_dump({"stages": {"copy": stage}}),
        },
    )
    tools.commit_all(dvc_repo, "pipeline")
    return dvc_repo


def test_repro_caches_outputs_and_pins_deps(pipeline_repo: Path, objects_in):
    before = stage_status(pipeline_repo)
    assert before["up_to_date"] is False
    assert "copy" in before["stages"]

    assert reproduce(pipeline_repo) == ["copy"]

    out = pipeline_repo / "out" / "copy.txt"
    assert out.read_text() == "> rates v1\n"
    lock = yaml.safe_load((pipeline_repo / "dvc.lock").read_text())["stages"]["copy"]
    src_hash = data_hash(pipeline_repo / "src")
    assert src_hash.endswith(".dir")
    assert lock["deps"] == [
        {"path": "src", "hash": "md5", "md5": src_hash, "size": 9, "nfiles": 1}
    ]
    assert lock["params"] == {"params.yaml": {"copy": {"prefix": "> "}}}
    assert lock["outs"][0]["md5"] == data_hash(out)
    assert data_hash(out) in objects_in(pipeline_repo / ".dvc" / "cache")
    # DVC keeps the output out of git.
    assert "/copy.txt" in (pipeline_repo / "out" / ".gitignore").read_text()
    assert stage_status(pipeline_repo) == {"up_to_date": True, "stages": {}}
    assert reproduce(pipeline_repo, ["copy"]) == []


def test_status_names_the_changed_dependency(pipeline_repo: Path, tools):
    reproduce(pipeline_repo, ["copy"])
    tools.write_tree(pipeline_repo, {"src/in.txt": "rates v2\n"})

    status = stage_status(pipeline_repo)

    assert status["up_to_date"] is False
    assert {"changed deps": {"src": "modified"}} in status["stages"]["copy"]
    assert reproduce(pipeline_repo, ["copy"]) == ["copy"]
    assert (pipeline_repo / "out" / "copy.txt").read_text() == "> rates v2\n"


def test_a_failing_stage_is_a_config_error(dvc_repo: Path, tools):
    stage = {"cmd": f"{shlex.quote(sys.executable)} -c 'raise SystemExit(3)'"}
    dvc_yaml = yaml.safe_dump({"stages": {"boom": stage}})
    tools.write_tree(dvc_repo, {"dvc.yaml": dvc_yaml})
    with pytest.raises(ConfigError, match="dvc repro failed"):
        reproduce(dvc_repo, ["boom"])


def test_project_pipeline_declares_the_validate_stage(repo_root: Path, tools):
    dvc_yaml = yaml.safe_load((repo_root / "dvc.yaml").read_text())
    validate = dvc_yaml["stages"]["validate"]

    assert validate["cmd"] == (
        "ragtune validate --manifest-out data/validated/manifest.json --quiet"
    )
    assert validate["deps"] == ["data/kb", "data/eval"]
    assert validate["params"] == ["validation", "data"]
    assert validate["outs"] == ["data/validated/manifest.json"]
    # The manifest lives in the DVC cache, never in git.
    tools.git(repo_root, "check-ignore", "-q", "data/validated/manifest.json")


def test_project_dvc_config_is_portable(repo_root: Path):
    config = configparser.ConfigParser()
    config.read(repo_root / ".dvc" / "config")
    assert config["core"]["autostage"] == "false"
    assert config["core"]["analytics"] == "false"
    text = (repo_root / ".dvc" / "config").read_text()
    assert "/work/" not in text and "/home/" not in text and "/tmp/" not in text


@pytest.mark.parametrize("dep", ["data/kb", "data/eval"])
def test_project_dvc_lock_pins_the_shipped_data(repo_root: Path, dep: str):
    # dvc.lock must pin the data that ships in git: editing the sample knowledge
    # base or eval set without `dvc repro validate` fails here, not in a user's run.
    lock = yaml.safe_load((repo_root / "dvc.lock").read_text())
    pinned = {d["path"]: d["md5"] for d in lock["stages"]["validate"]["deps"]}
    assert pinned[dep] == data_hash(repo_root / dep), "run `dvc repro validate`"
