"""What a CLI process starts ends with it, even when it is SIGKILLed: Prefect's
temporary API server (kernel parent-death signal) and ragtune's own children
(a watchdog thread), each tested by killing a real parent process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def _gone(pid: int) -> bool:
    """Exited (and reaped by init), or a zombie waiting to be."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _until(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def _children(parent: int) -> dict[int, str]:
    """pid -> command line of ``parent``'s children, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found[int(entry.name)] = cmdline
    return found


def _parent_of_a_sleeper(
    tmp_path: Path, start_child: str
) -> tuple[subprocess.Popen, int]:
    """A parent process that starts a 60-s sleeper the way ``start_child`` says
    and prints its pid; returns (parent, child pid)."""
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, subprocess, sys, time
            from ragtune.lifecycle import PARENT_ENV, die_with_parent
            {start_child}
            print(child.pid, flush=True)
            time.sleep(60)
            """
        )
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def test_a_foreign_child_gets_the_parent_death_signal(tmp_path: Path) -> None:
    parent, child = _parent_of_a_sleeper(
        tmp_path,
        'child = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent)',
    )
    assert not _gone(child)
    parent.kill()
    parent.wait()
    _until(lambda: _gone(child), 10, "the child to die with its parent")


def test_ragtunes_own_child_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    sleeper = (
        "from ragtune.lifecycle import exit_with_parent_from_env; import time; "
        "exit_with_parent_from_env(); time.sleep(60)"
    )
    parent, child = _parent_of_a_sleeper(
        tmp_path,
        f"child = subprocess.Popen([sys.executable, '-c', {sleeper!r}], "
        "start_new_session=True, env=os.environ | {PARENT_ENV: str(os.getpid())})",
    )
    time.sleep(1.0)  # the child's watchdog is running
    assert not _gone(child)
    parent.kill()
    parent.wait()
    _until(lambda: _gone(child), 15, "the child to notice its parent is gone")


@pytest.mark.slow
def test_a_killed_cli_takes_its_temporary_prefect_server_with_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "params.yaml").write_text(
        "project:\n  state_dir: state\n  audit_log: state/audit.jsonl\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / ".prefect")
    exe = Path(sys.executable).with_name("ragtune")
    cli = subprocess.Popen(
        [str(exe), "drift", "check"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        servers = _until(
            lambda: [
                pid
                for pid, cmd in _children(cli.pid).items()
                if "prefect.server.api.server:create_app" in cmd
            ],
            180,
            "the temporary Prefect server to start",
        )
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.wait()
    (server,) = servers  # type: ignore[misc]
    _until(lambda: _gone(server), 20, "the temporary server to stop")
