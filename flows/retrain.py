"""retrain: a QLoRA candidate from versioned data, only past every gate.

Steps (each a Prefect task; domain code lives in ``ragtune.tasks``):
1. guard: one retrain at a time, cooldown since the last one (``retrain:``);
2. pin data: the knowledge base version and its DVC hash;
3. build the SFT set (the ``build_sft`` DVC stage's code) and hash it;
4. dataset gates: size, schema, duplicates, leakage, label quality, coverage, PII;
   with ``privacy.canaries.enabled``, canaries planted in a copy of the training
   set, which training and the privacy gate both read;
5. estimate and cost cap: GPU sizing and price, refused before anything starts;
6. train on the backend (local, Prefect GPU pool, Modal, RunPod), or reuse the
   candidate already trained for this exact config and data (idempotent);
7. register the candidate in the MLflow registry (alias ``challenger``) with its
   lineage and the live index tag it is to be evaluated with;
8. publish the retrain summary and the training card as artifacts;
9. promotion gates (``flows/promotion.py``): evaluation against base + RAG and
   the champion (and on the knowledge gap's slice), privacy, approval, then
   champion alias and index tag moved in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from ragtune.app.backends import get_backend
from ragtune.app.catalog import Catalog
from ragtune.app.dataset import build_from_settings, check_from_settings
from ragtune.app.retrain import retrain_target
from ragtune.app.settings import Settings
from ragtune.errors import GateFailed
from ragtune.flows._train_watch import STOPS, signal_name, watch
from ragtune.flows._wiring import prefect_secret, record, retrying, run_settings, step
from ragtune.flows.promotion import run_gates
from ragtune.tasks.promotion.evaluate import KnowledgeGap
from ragtune.tasks.retrain import policy
from ragtune.tasks.retrain.gaps import write_gap_slice
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.job import TrainingJob, TrainingResult, fingerprint
from ragtune.tasks.versioning import pin_data

pin_data_task = retrying(pin_data, "pin-data")
build_task = step(build_from_settings, "build-sft-dataset")
gates_task = step(check_from_settings, "dataset-gates")


@task(name="train-on-backend", cache_policy=NO_CACHE)
def train_task(
    settings: Settings, job: TrainingJob, backend: str | None
) -> TrainingResult:
    """Submit through the backend (cost cap first), wait while reporting progress,
    fetch the adapter; SIGTERM or Ctrl-C cancels the job."""
    runner = get_backend(backend, settings, secret_resolver=prefect_secret)
    handle = runner.submit(job)
    timeout_s = settings.retrain.timeout_hours * 3600
    status = watch(runner, handle, timeout_s, get_run_logger())
    if status.state != "succeeded":
        if not status.terminal:
            runner.cancel(handle)
        raise GateFailed(
            f"training on {runner.name} ended {status.state}: {status.message}"
        )
    return runner.fetch_artifacts(handle, job.output_dir)


@task(name="plant-canaries", cache_policy=NO_CACHE)
def plant_task(
    settings: Settings, train_path: Path, dataset_hash: str, gap: str | None = None
) -> Path:
    """The training set with the privacy gate's canaries planted, beside the runs
    (the built set is left as the dataset gates checked it); a gap's slice gets
    a copy of its own."""
    from ragtune.tasks.privacy.canaries import plant_training_file

    cfg = settings.privacy
    runs = settings.path(settings.retrain.runs_dir)
    folder = runs / "canaries" / dataset_hash[:16]
    if gap is not None:
        folder = folder / gap
    return plant_training_file(
        train_path, folder / "train.jsonl", cfg.canaries, cfg.seed
    )


slice_task = step(write_gap_slice, "gap-training-slice")


def make_job(
    settings: Settings,
    tracking_uri: str,
    build_dir: Path,
    dataset_hash: str,
    train_path: Path | None = None,
    eval_path: Path | None = None,
    training: QLoRAConfig | None = None,
) -> TrainingJob:
    """The training job for this data and config, placed by its fingerprint;
    ``train_path`` replaces the built training set (canaries planted in it, or
    a gap's slice), ``training`` the ``training:`` section (a gap's overrides).

    Resume is on: the run folder is the fingerprint's, so a retrain re-run after
    a kill or a pre-empted GPU finds that run's checkpoints and continues from
    the newest complete one instead of step 0 (the trainer refuses checkpoints
    of other settings)."""
    runs = settings.path(settings.retrain.runs_dir)
    config = training or settings.training
    draft = TrainingJob(
        config=config,
        train_path=train_path or build_dir / "train.jsonl",
        eval_path=eval_path or build_dir / "eval.jsonl",
        dataset_hash=dataset_hash,
        output_dir=runs,
        run_name="pending",
        mlflow_tracking_uri=tracking_uri,
        mlflow_experiment=settings.retrain.mlflow_experiment,
        resume=True,
    )
    key = fingerprint(draft, config)
    return draft.model_copy(
        update={"output_dir": policy.run_dir(runs, key), "run_name": f"qlora-{key}"}
    )


def _run_name() -> str:
    return f"retrain-{flow_run.parameters.get('reason') or 'manual'}"


@flow(name="retrain", flow_run_name=_run_name)
def retrain(
    params_path: str | None = None,
    backend: str | None = None,
    reason: str = "manual",
    force: bool = False,
    gap: KnowledgeGap | None = None,
    gap_name: str | None = None,
    gaps_file: str | None = None,
    gates: bool = True,
) -> dict[str, Any]:
    """Build, gate, train and register a candidate, then run the promotion gates
    (also on ``gap``'s eval slice when given); returns the retrain summary JSON.

    ``gap_name`` aims the retrain at one gap of ``gaps_file`` (default
    ``retrain.gaps_file``): it trains on that gap's SFT records with its
    ``retrain.gap_training`` overrides, is judged on the gap's slice and metric,
    and is registered as that gap's candidate. ``gates=False`` stops at the
    registered candidate (the demo measures it with ``decide``); a later run on
    the same data and config reuses it and runs the gates.

    Raises:
        PromotionRejected: a promotion gate or the approver said no.
    """
    logger = get_run_logger()
    settings = run_settings(params_path)
    target = None
    if gap_name is not None:
        target = retrain_target(settings, gap_name, gaps_file)
        gap = target.gate
    catalog = Catalog.from_settings(settings)
    audit = catalog.audit()
    runs = settings.path(settings.retrain.runs_dir)
    now = datetime.now(UTC)
    gate = policy.cooldown(runs, settings.retrain.cooldown_hours, now, force)
    if not gate.allowed:
        audit.append("retrain.skipped", reason=reason, why=gate.reason)
        raise GateFailed(f"retrain refused: {gate.reason}")
    with policy.single_run(runs):
        revision = pin_data_task(
            settings.path(settings.data.kb_path), None, runs / "data"
        )
        build = build_task(settings)
        checks = gates_task(settings)
        audit.append(
            "dataset.gates",
            dataset_hash=build.dataset_hash,
            status=checks.status,
            failures=[g.name for g in checks.failures],
        )
        _artifact_gates(checks)
        if not checks.passed:
            rejected = {
                "gate": "dataset",
                "reason": "; ".join(g.reason for g in checks.failures),
                "dataset_hash": build.dataset_hash,
            }
            model = ("model", settings.registry.model_name)
            record(audit, "model.rejected", model, rejected)
            raise GateFailed(
                "dataset gates failed: "
                + "; ".join(f"{g.name}: {g.reason}" for g in checks.failures)
            )
        train_path = heldout = None
        if target is not None:
            part = slice_task(build.out_dir, target.name, runs / "gaps" / target.name)
            train_path, heldout = part.train, part.heldout
            logger.info(
                "gap %s: %d training and %d held-out records",
                target.name, part.train_records, part.heldout_records,
            )  # fmt: skip
        if settings.privacy.canaries.enabled:
            train_path = plant_task(
                settings,
                train_path or build.out_dir / "train.jsonl",
                build.dataset_hash,
                target.name if target else None,
            )
        job = make_job(
            settings, catalog.tracking_uri, build.out_dir, build.dataset_hash,
            train_path, heldout, target.training if target else None,
        )  # fmt: skip
        result = policy.existing_result(job)
        reused = result is not None
        if reused:
            logger.info("candidate %s already trained: reusing it", job.run_name)
        else:
            audit.append(
                "retrain.started",
                reason=reason,
                run=job.run_name,
                dataset_hash=build.dataset_hash,
                data_hash=revision.data_hash,
            )
            try:
                result = train_task(settings, job, backend)
            except STOPS as exc:
                audit.append(
                    "retrain.interrupted", run=job.run_name, signal=signal_name(exc)
                )
                raise
            if result.resumed_from_step is not None:
                logger.info(
                    "%s resumed from its checkpoint at step %d",
                    job.run_name, result.resumed_from_step,
                )  # fmt: skip
            policy.mark_finished(runs, result.fingerprint, datetime.now(UTC))
        summary = _summary(job, result, build.dataset_hash, revision.data_hash, reused)
        if target is not None:
            summary["gap"] = target.name
        summary["registered_version"] = register_task(
            catalog, result, build, target.name if target else None
        )
        audit.append("retrain.candidate", **summary)
        _artifact_card(result)
        if summary["registered_version"] is not None and gates:
            summary["promotion"] = run_gates(
                settings,
                catalog,
                summary["registered_version"],
                Path(result.adapter_dir),
                job.train_path,
                job.eval_path or build.out_dir / "eval.jsonl",
                gap,
            )
        return summary


@task(name="register-candidate", cache_policy=NO_CACHE)
def register_task(
    catalog: Catalog,
    result: TrainingResult,
    build,  # noqa: ANN001 - the dataset build result
    gap: str | None = None,
) -> int | None:
    """Register as challenger, tied to the live index tag it will be evaluated with.

    Without a published index there is nothing to evaluate the candidate against
    (base + RAG is the bar it must beat), so it stays an unregistered candidate
    and the run says so.
    """
    from ragtune.tasks.registry.models import Lineage
    from ragtune.tasks.training.card import TrainingCard

    live = catalog.index.live_tag()
    if live is None:
        get_run_logger().warning("no live index tag: candidate not registered")
        return None
    card = TrainingCard.model_validate_json(Path(result.card_path).read_text())
    lineage = Lineage(
        dataset_version=str(build.out_dir),
        dataset_hash=build.dataset_hash,
        index_tag=live.tag,
        gap=gap,
    )
    info = catalog.registry().register_candidate(result, card, lineage)
    return info.version


def _summary(
    job: TrainingJob,
    result: TrainingResult,
    dataset_hash: str,
    data_hash: str,
    reused: bool,
) -> dict[str, Any]:
    return {
        "run_name": job.run_name,
        "fingerprint": result.fingerprint,
        "reused": reused,
        "dataset_hash": dataset_hash,
        "data_hash": data_hash,
        "adapter_dir": str(result.adapter_dir),
        "card": str(result.card_path),
        "final_loss": result.final_loss,
        "eval_loss": result.eval_loss,
        "steps": result.steps,
        "resumed_from_step": result.resumed_from_step,
        "mlflow_run_id": result.mlflow_run_id,
    }


def _artifact_gates(gates) -> None:  # noqa: ANN001 - GateReport
    create_markdown_artifact(
        key="dataset-gates",
        markdown=gates.to_markdown(),
        description="SFT dataset gates before training",
    )


def _artifact_card(result: TrainingResult) -> None:
    card = Path(result.card_path).with_suffix(".md")
    if card.exists():
        create_markdown_artifact(
            key="training-card",
            markdown=card.read_text(),
            description="Base model, data, hyper-parameters, loss",
        )
