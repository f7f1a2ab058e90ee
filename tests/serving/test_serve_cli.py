"""``ragtune serve`` refuses to start on bad configuration, with exit 2 and a
message that names the problem (nothing is loaded before these checks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # each run imports the CLI (seconds on a busy machine)


def _serve(root: Path, *args: str, env: dict[str, str] | None = None):  # noqa: ANN202
    exe = Path(sys.executable).with_name("ragtune")
    return subprocess.run(
        [str(exe), "serve", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ | {"COLUMNS": "200"} | (env or {}),
    )


def test_required_keys_missing_from_the_environment(tmp_path: Path) -> None:
    params = {"serving": {"api_keys_env": "RAGTUNE_TEST_NO_SUCH_KEYS"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = _serve(tmp_path)
    assert result.returncode == 2
    assert "RAGTUNE_TEST_NO_SUCH_KEYS" in result.stderr
    assert "unset or empty" in result.stderr


def test_no_server_without_keys_unless_insecure_local_on_loopback(
    tmp_path: Path,
) -> None:
    (tmp_path / "params.yaml").write_text("{}\n")  # the shipped key settings
    unset = {"RAGTUNE_API_KEYS": ""}
    result = _serve(tmp_path, env=unset)
    assert result.returncode == 2
    assert "RAGTUNE_API_KEYS" in result.stderr and "--insecure-local" in result.stderr
    result = _serve(tmp_path, "--insecure-local", "--host", "0.0.0.0", env=unset)
    assert result.returncode == 2
    assert "--insecure-local serves without API keys, so only on loopback" in (
        result.stderr
    )


def test_bad_serving_values_and_flags(tmp_path: Path) -> None:
    params = {"serving": {"port": "eighty", "deny_terms": ["ok", " "]}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = _serve(tmp_path)
    assert result.returncode == 2
    assert "serving.port" in result.stderr and "serving.deny_terms" in result.stderr
    (tmp_path / "params.yaml").write_text("{}\n")
    result = _serve(tmp_path, "--port", "0")
    assert result.returncode == 2 and "--port" in result.stderr
