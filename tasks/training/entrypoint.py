"""The one training entrypoint every GPU backend runs: ``train(TrainingJob)``.

A job is plain data (pydantic, JSON round-trip), so the local backend calls
``train`` in-process while Prefect, Modal and RunPod workers receive the same job
as JSON and run ``python -m ragtune.tasks.training --job job.json``.

Order of work: cheap checks (model config, tokenizer, model shape on the meta
device, data, DP budget, output folder) -> load and quantise the base -> train
with checkpoints -> save the unmerged adapter with its tokenizer and card ->
result.
"""

from __future__ import annotations

import logging
import time

from ragtune.tasks.training.job import TrainingJob, TrainingResult

__all__ = ["TrainingJob", "TrainingResult", "train"]

log = logging.getLogger(__name__)


def train(job: TrainingJob) -> TrainingResult:
    """Run a QLoRA job end to end, resuming from its checkpoints when asked.

    A job that already finished (same fingerprint, resume on) returns its stored
    result without training again, so a backend may safely retry.
    """
    # torch, transformers, peft and MLflow load here, not at import: backends and
    # the settings import this module for TrainingJob alone.
    from ragtune.tasks.training import outputs
    from ragtune.tasks.training.preflight import preflight
    from ragtune.tasks.training.progress import PROGRESS_FILE, ProgressFile
    from ragtune.tasks.training.steps import FitData
    from ragtune.tasks.training.tracking import open_run
    from ragtune.tasks.training.trainer import fit

    prep = preflight(job)
    finished = outputs.read_result(job.output_dir, prep.fingerprint)
    if job.resume and finished is not None:
        log.info("job %s already finished; returning its result", job.run_name)
        return TrainingResult.model_validate(finished)
    started = time.perf_counter()
    progress = ProgressFile.start(job.output_dir / PROGRESS_FILE)
    model = outputs.build_model(prep.cfg, job.device)
    tracker = open_run(job, prep)
    data = FitData(
        train=prep.train.examples,
        eval=prep.eval.examples[: prep.cfg.eval_max_examples] if prep.eval else [],
        pad_id=outputs.pad_id(prep.tokenizer),
    )
    try:
        outcome = fit(
            model, data, prep.cfg, job.output_dir / "checkpoints", prep.fingerprint,
            resume=job.resume, sink=tracker, dp=job.dp, progress=progress,
        )  # fmt: skip
        progress.phase("saving")
        card = outputs.finish(job, prep, model, outcome, tracker)
    except BaseException:
        tracker.finish(ok=False)
        raise
    progress.phase("done")
    log.info("trained %s in %.1fs", job.run_name, time.perf_counter() - started)
    return TrainingResult.model_validate(card)
