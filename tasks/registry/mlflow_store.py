"""Thin access to MLflow's model registry, through ``MlflowClient`` only.

The client takes its URIs as arguments, so the registry never touches MLflow's
process-global fluent state (a training run in the same process keeps its own).
MLflow errors become ragtune errors that name the registry and the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.registry.config import RegistryConfig
from ragtune.tasks.training.tracking import SQLITE, default_tracking_uri

log = logging.getLogger(__name__)

ADAPTER_PATH = "adapter"  # artifact folder of the adapter inside its run
NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
REGISTRY_RUN_TAG = "ragtune.registry_run"


def _artifact_root(tracking_uri: str) -> str | None:
    # A SQLite store would put artifacts under ./mlruns of the working folder;
    # keep them beside the database, where training runs keep theirs.
    if not tracking_uri.startswith(SQLITE):
        return None
    database = Path(tracking_uri[len(SQLITE) :])
    database.parent.mkdir(parents=True, exist_ok=True)
    return (database.parent / "mlartifacts").resolve().as_uri()


class MlflowStore:
    """One registered model in one MLflow registry.

    Args:
        cfg: The ``registry:`` section.
        state_dir: ragtune's state folder, home of the default SQLite database.
    """

    def __init__(self, cfg: RegistryConfig, state_dir: Path) -> None:
        self.cfg = cfg
        self.name = cfg.model_name
        self.tracking_uri = cfg.tracking_uri or default_tracking_uri(state_dir)
        self.registry_uri = cfg.registry_uri or self.tracking_uri
        self.client = MlflowClient(self.tracking_uri, self.registry_uri)

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except MlflowException as exc:
            raise ConfigError(
                f"MLflow registry at {self.registry_uri}: {doing} failed: {exc.message}"
            ) from exc

    def ensure_model(self) -> None:
        """Create the registered model on first use."""
        with self._errors(f"creating model {self.name}"):
            try:
                self.client.get_registered_model(self.name)
            except MlflowException as exc:
                if exc.error_code != NOT_FOUND:
                    raise
                self.client.create_registered_model(
                    self.name,
                    description="QLoRA adapters trained by ragtune; the champion "
                    "serves together with the index tag it was evaluated with.",
                )

    def log_adapter(
        self, adapter_dir: Path, extra_files: list[Path], run_name: str, tags: dict
    ) -> tuple[str, str]:
        """Copy the adapter (and its card) into a new run of the registry experiment.

        Returns:
            The run id and the adapter's artifact URI (the version's source).
        """
        with self._errors("logging the adapter"):
            found = self.client.get_experiment_by_name(self.cfg.experiment)
            experiment_id = (
                found.experiment_id
                if found is not None
                else self.client.create_experiment(
                    self.cfg.experiment,
                    artifact_location=_artifact_root(self.tracking_uri),
                )
            )
            run = self.client.create_run(
                experiment_id,
                run_name=run_name,
                tags={**tags, REGISTRY_RUN_TAG: "true"},
            )
            run_id = run.info.run_id
            try:
                self.client.log_artifacts(run_id, str(adapter_dir), ADAPTER_PATH)
                for path in extra_files:
                    self.client.log_artifact(run_id, str(path))
            except BaseException:
                self.client.set_terminated(run_id, "FAILED")
                raise
            self.client.set_terminated(run_id, "FINISHED")
        return run_id, f"{run.info.artifact_uri.rstrip('/')}/{ADAPTER_PATH}"

    def create_version(
        self, source: str, run_id: str, tags: Mapping[str, str], description: str
    ) -> int:
        with self._errors("creating a model version"):
            created = self.client.create_model_version(
                self.name,
                source,
                run_id=run_id,
                tags=dict(tags),
                description=description,
            )
        return int(created.version)

    def aliases(self) -> dict[str, int]:
        """``alias -> version`` of the model; empty before the first registration."""
        with self._errors("reading aliases"):
            try:
                model = self.client.get_registered_model(self.name)
            except MlflowException as exc:
                if exc.error_code == NOT_FOUND:
                    return {}
                raise
        return {alias: int(v) for alias, v in model.aliases.items()}

    def set_alias(self, alias: str, version: int | None) -> None:
        """Point ``alias`` at ``version``; None removes the alias."""
        with self._errors(f"moving alias {alias}"):
            if version is not None:
                self.client.set_registered_model_alias(self.name, alias, str(version))
            elif alias in self.aliases():
                self.client.delete_registered_model_alias(self.name, alias)

    def get(self, version: int) -> ModelVersion:
        """One version; InputError naming the known ones when it does not exist."""
        try:
            return self.client.get_model_version(self.name, str(version))
        except MlflowException as exc:
            if exc.error_code not in (NOT_FOUND, "INVALID_PARAMETER_VALUE"):
                raise ConfigError(f"MLflow registry: {exc.message}") from exc
        known = ", ".join(str(v.version) for v in self.versions()) or "none"
        raise InputError(
            f"model {self.name} has no version {version} (registered: {known})"
        )

    def versions(self) -> list[ModelVersion]:
        """Every version of the model, oldest first."""
        with self._errors("listing versions"):
            found = self.client.search_model_versions(f"name = '{self.name}'")
        return sorted(found, key=lambda v: int(v.version))

    def set_tags(self, version: int, tags: Mapping[str, str | None]) -> None:
        """Set version tags; a None value deletes that tag."""
        with self._errors(f"tagging version {version}"):
            for key, value in tags.items():
                if value is None:
                    if key in self.get(version).tags:
                        self.client.delete_model_version_tag(
                            self.name, str(version), key
                        )
                else:
                    self.client.set_model_version_tag(
                        self.name, str(version), key, value
                    )

    def delete_version(self, version: ModelVersion) -> None:
        """Delete a version, its artifacts and the run that only held them."""
        with self._errors(f"deleting version {version.version}"):
            self.client.delete_model_version(self.name, version.version)
            run = self.client.get_run(version.run_id) if version.run_id else None
            # only runs the registry made hold nothing but this version's files
            if run is not None and run.data.tags.get(REGISTRY_RUN_TAG) == "true":
                get_artifact_repository(run.info.artifact_uri).delete_artifacts()
                self.client.delete_run(version.run_id)
        log.info("deleted %s version %s and its artifacts", self.name, version.version)
