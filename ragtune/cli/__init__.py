"""The ``ragtune`` command line: one module per command group, registered here."""

from ragtune.cli import audit_cmds, data_cmds, demo_cmd, index_cmds  # noqa: F401
from ragtune.cli.app import app, main

__all__ = ["app", "main"]
