"""The ``ragtune`` command line: one module per command group, registered here."""

from ragtune.cli import (  # noqa: F401  (each module registers its commands)
    audit_cmds,
    data_cmds,
    demo_cmd,
    estimate_cmds,
    index_cmds,
)
from ragtune.cli.app import app, main

__all__ = ["app", "main"]
