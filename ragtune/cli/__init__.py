"""The ``ragtune`` command line: one module per command group, registered here."""

from ragtune.cli import (  # noqa: F401  (each module registers its commands)
    audit_cmds,
    data_cmds,
    dataset_cmds,
    decide_cmds,
    demo_cmd,
    deploy_cmds,
    drift_cmds,
    estimate_cmds,
    eval_cmds,
    index_cmds,
    model_cmds,
    retrain_cmds,
    serve_cmds,
    server_cmds,
    watch_cmds,
)
from ragtune.cli.app import app, main

__all__ = ["app", "main"]
