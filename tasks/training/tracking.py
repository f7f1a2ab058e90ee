"""MLflow tracking of one training run, through ``MlflowClient`` only.

The client API takes the tracking URI as an argument, so two runs in one process
(the local backend next to a test, say) never share the fluent API's global
"active run". A resumed job reopens the run it started, so its metrics continue
on one curve; steps repeated after a crash appear twice there, while the
training card's loss curve (from the checkpoint) has each step once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus
from mlflow.exceptions import MlflowException

from ragtune.atomic import read_json, write_json
from ragtune.errors import ConfigError

if TYPE_CHECKING:
    from ragtune.tasks.training.job import TrainingJob
    from ragtune.tasks.training.preflight import Prepared

log = logging.getLogger(__name__)

SQLITE = "sqlite:///"
MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter value
RUN_POINTER = "mlflow_run.json"  # in the output folder: the run to continue


def default_tracking_uri(state_dir: Path) -> str:
    """MLflow on SQLite inside ragtune's state folder (the embedded default)."""
    return f"{SQLITE}{(state_dir / 'mlflow.db').resolve()}"


def _artifact_root(tracking_uri: str) -> str | None:
    # With a SQLite store MLflow puts artifacts under ./mlruns of whatever folder
    # the process runs in; keep them beside the database instead.
    if not tracking_uri.startswith(SQLITE):
        return None
    database = Path(tracking_uri[len(SQLITE) :])
    database.parent.mkdir(parents=True, exist_ok=True)
    return (database.parent / "mlartifacts").resolve().as_uri()


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as MLflow params: ``{"tiny": {"num_layers": 2}}`` ->
    ``{"tiny.num_layers": "2"}``."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:MAX_PARAM_CHARS]
    return flat


class MlflowRun:
    """One MLflow run: params and tags once, metrics per step, a final status."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    @classmethod
    def start(
        cls,
        tracking_uri: str,
        experiment: str,
        run_name: str,
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> MlflowRun:
        """Create a run in ``experiment`` (created too when missing)."""
        client = MlflowClient(tracking_uri)
        try:
            found = client.get_experiment_by_name(experiment)
            experiment_id = (
                found.experiment_id
                if found is not None
                else client.create_experiment(
                    experiment, artifact_location=_artifact_root(tracking_uri)
                )
            )
            run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags))
        except MlflowException as exc:
            raise ConfigError(f"MLflow at {tracking_uri}: {exc.message}") from exc
        items = [Param(k, v) for k, v in sorted(params.items())]
        for start in range(0, len(items), 100):  # MLflow's batch limit
            client.log_batch(run.info.run_id, params=items[start : start + 100])
        log.info("MLflow run %s (%s) in %s", run_name, run.info.run_id, experiment)
        return cls(client, run.info.run_id)

    @classmethod
    def reopen(cls, tracking_uri: str, run_id: str) -> MlflowRun:
        """Continue a run a killed process left RUNNING (or FAILED)."""
        client = MlflowClient(tracking_uri)
        client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        log.info("continuing MLflow run %s", run_id)
        return cls(client, run_id)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log one step's metrics in one call."""
        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def log_artifacts(self, paths: list[Path]) -> None:
        """Attach files (the training card) to the run."""
        for path in paths:
            self.client.log_artifact(self.run_id, str(path))

    def finish(self, ok: bool = True) -> None:
        """Mark the run FINISHED, or FAILED when training raised."""
        self.client.set_terminated(self.run_id, "FINISHED" if ok else "FAILED")


def write_run_pointer(output_dir: Path, uri: str, run_id: str, fp: str) -> None:
    """Remember the MLflow run of this output folder for a resumed job."""
    payload = {"tracking_uri": uri, "run_id": run_id, "fingerprint": fp}
    write_json(output_dir / RUN_POINTER, payload)


def read_run_pointer(output_dir: Path, uri: str, fp: str) -> str | None:
    """The MLflow run id to continue, if this folder's run used ``uri`` and ``fp``."""
    saved = read_json(output_dir / RUN_POINTER)
    if saved and saved["tracking_uri"] == uri and saved["fingerprint"] == fp:
        return saved["run_id"]
    return None


def open_run(job: TrainingJob, prep: Prepared) -> MlflowRun:
    """The job's MLflow run: the one it started when resuming, else a new one
    with the hyper-parameters as params and data hash, base model and revision
    as tags."""
    uri = job.tracking_uri()
    previous = read_run_pointer(job.output_dir, uri, prep.fingerprint)
    if job.resume and previous is not None:
        return MlflowRun.reopen(uri, previous)
    cfg = prep.cfg
    params = flatten(cfg.model_dump(mode="json"))
    if job.dp is not None:
        params.update(flatten(job.dp.model_dump(mode="json"), "dp."))
    params.update(
        train_examples=str(len(prep.train.examples)),
        eval_examples=str(len(prep.eval.examples) if prep.eval else 0),
        effective_batch_size=str(cfg.effective_batch_size),
    )
    tags = {
        "dataset_hash": job.dataset_hash,
        "base_model": cfg.base_model or "tiny-llama",
        "revision": cfg.revision or "none",
        "ragtune.fingerprint": prep.fingerprint,
        "ragtune.dp": str(job.dp is not None).lower(),
    }
    run = MlflowRun.start(uri, job.mlflow_experiment, job.run_name, params, tags)
    write_run_pointer(job.output_dir, uri, run.run_id, prep.fingerprint)
    return run
