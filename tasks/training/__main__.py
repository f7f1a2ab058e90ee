"""Process entrypoint for GPU workers: ``python -m ragtune.tasks.training --job J``.

The job file is a ``TrainingJob`` as JSON; the result is written to
``<output_dir>/result.json`` (and to ``--result`` when given). Exit codes follow
the CLI's: 0 trained, 2 bad input or configuration (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from ragtune.errors import InputError, RagtuneError
from ragtune.interrupt import Interrupted, sigterm_raises
from ragtune.lifecycle import exit_with_parent_from_env

log = logging.getLogger("ragtune.tasks.training")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ragtune.tasks.training", description=__doc__
    )
    parser.add_argument("--job", type=Path, required=True, help="TrainingJob JSON")
    parser.add_argument("--result", type=Path, help="also write the result here")
    parser.add_argument("--resume", action="store_true", help="force resume on")
    return parser.parse_args(argv)


def _load_job(path: Path, resume: bool):
    from ragtune.tasks.training.entrypoint import TrainingJob

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        job = TrainingJob.model_validate(raw)
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise InputError(f"job file {path}: {exc}") from exc
    return job.model_copy(update={"resume": True}) if resume else job


def main(argv: list[str] | None = None) -> int:
    """Run one job; returns the exit code."""
    logging.basicConfig(
        level=os.environ.get("RAGTUNE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # bitsandbytes warns that an optional CPU kernel package is missing before
    # falling back to its built-in path; nothing for an operator to act on.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    # cuBLAS needs this before CUDA starts to offer deterministic kernels.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    args = _parse(argv)
    exit_with_parent_from_env()  # a killed `ragtune retrain` stops its training too
    try:
        from ragtune.tasks.training.entrypoint import train

        # A cancel (SIGTERM to the process group) unwinds through train(), which
        # closes the MLflow run as failed instead of leaving it "running".
        job = _load_job(args.job, args.resume)
        from ragtune.tasks.training.factories import set_threads

        log.info("torch threads: %d", set_threads(job.config.num_threads))
        with sigterm_raises():
            result = train(job)
    except RagtuneError as exc:
        log.error("%s", exc)
        return exc.exit_code
    except Interrupted as exc:
        log.warning("stopped by %s", exc.signal_name)
        return 128 + signal.Signals[exc.signal_name].value
    if args.result is not None:
        args.result.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    log.info("adapter: %s; final loss %.4f", result.adapter_dir, result.final_loss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
