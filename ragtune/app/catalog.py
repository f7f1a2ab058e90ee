"""The resources a run uses, resolved from the configuration once.

Flows and CLI commands used to rebuild each of these from ``Settings`` by hand
(``settings.uri(settings.index.uri), settings.index.table``, the audit log path,
the state folder); here each has one name and one place where it is derived.
Capabilities receive the resolved resource (a URI and table, an ``AuditLog``, a
folder, a registry), never the catalog or the settings.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragtune.app.secrets import project_key
from ragtune.audit import AuditLog, ChainedLog
from ragtune.errors import ConfigError, InputError
from ragtune.locks import exclusive

if TYPE_CHECKING:
    from ragtune.app.settings import Settings
    from ragtune.tasks.index.publish import PublishedTag
    from ragtune.tasks.registry.config import RegistryConfig
    from ragtune.tasks.registry.registry import ModelRegistry


@dataclass(frozen=True)
class IndexLocation:
    """The LanceDB chunk table: where it is and what readers see."""

    uri: str
    table: str

    def open_live(self) -> Any | None:
        """The table checked out at the live version; None before any publish."""
        from ragtune.tasks.index.publish import open_live

        return open_live(self.uri, self.table)

    def require_live(self, command: str) -> Any:
        """The live table, or a message that says how to make one.

        Raises:
            InputError: nothing is published yet.
        """
        table = self.open_live()
        if table is None:
            raise InputError(
                f"no live index at {self.uri}: run `ragtune refresh` (or "
                f"`ragtune demo`) before `ragtune {command}`"
            )
        return table

    def tags(self) -> list[PublishedTag]:
        """Every published version still tagged, oldest first; ``live`` marks one."""
        from ragtune.tasks.index.publish import list_tags

        return list_tags(self.uri, self.table)

    def live_tag(self) -> PublishedTag | None:
        """The published version readers see now; None before any publish."""
        from ragtune.tasks.index.publish import live_tag

        return live_tag(self.uri, self.table)

    def describe(self, table: Any) -> dict[str, Any]:
        """What a record says about the index it used (uri, table, tag, version)."""
        live = self.live_tag()
        return {
            "uri": self.uri,
            "table": self.table,
            "tag": None if live is None else live.tag,
            "version": table.version,
            "data_hash": None if live is None else live.data_hash,
        }


@dataclass(frozen=True)
class Catalog:
    """Named resources of one project (one params.yaml), paths resolved."""

    root: Path
    state_dir: Path
    audit_path: Path
    index: IndexLocation
    registry_cfg: RegistryConfig
    anchor_dir: Path | None = None
    audit_key_env: str | None = None
    audit_keyed: bool = False
    audit_backend: str = "file"
    audit_dsn_env: str = "RAGTUNE_AUDIT_DSN"

    @classmethod
    def from_settings(cls, settings: Settings) -> Catalog:
        registry, project = settings.registry, settings.project
        if registry.promotion_log is not None:
            registry = registry.model_copy(
                update={"promotion_log": settings.path(registry.promotion_log)}
            )
        return cls(
            root=settings.root,
            state_dir=settings.path(settings.project.state_dir),
            audit_path=settings.path(settings.project.audit_log),
            index=IndexLocation(settings.uri(settings.index.uri), settings.index.table),
            registry_cfg=registry,
            anchor_dir=(
                None
                if project.audit_anchor_dir is None
                else settings.path(project.audit_anchor_dir)
            ),
            audit_key_env=project.audit_key_env,
            audit_keyed=project.audit_keyed,
            audit_backend=project.audit_backend,
            audit_dsn_env=project.audit_dsn_env,
        )

    def audit_key(self) -> bytes | None:
        """The audit chain's HMAC key (made on first use), None when unkeyed."""
        if not self.audit_keyed:
            return None
        return project_key(self.state_dir, "audit", self.audit_key_env)

    def audit(self, path: Path | None = None) -> ChainedLog:
        """The project's audit log (or another log of this project at ``path``,
        such as the promotion log), keyed and anchored as params.yaml says; in
        Postgres the log is named by the file name.

        Raises:
            ConfigError: the Postgres backend without its connection string.
        """
        path = self.audit_path if path is None else Path(path)
        anchor = (
            None if self.anchor_dir is None else self.anchor_dir / f"{path.name}.anchor"
        )
        if self.audit_backend == "postgres":
            from ragtune.audit_postgres import PostgresAuditLog

            dsn = os.environ.get(self.audit_dsn_env)
            if not dsn:
                raise ConfigError(
                    f"project.audit_backend is postgres, but {self.audit_dsn_env} "
                    "(project.audit_dsn_env) is unset: set it to a connection string"
                )
            return PostgresAuditLog(dsn, path.name, self.audit_key(), anchor)
        return AuditLog(path, self.audit_key(), anchor)

    def index_lock(self) -> AbstractContextManager[None]:
        """One writer of the index at a time (refresh, index rollback) on this
        machine; a second is refused with ``Busy``, naming the holder."""
        return exclusive(
            self.state_dir / "locks" / f"index-{self.index.table}.lock",
            f"write to index {self.index.table}",
        )

    @property
    def decisions_dir(self) -> Path:
        """Versioned decision records (``ragtune decide``)."""
        return self.state_dir / "decisions"

    @property
    def reports_dir(self) -> Path:
        """Run reports (refresh summaries, validation reports)."""
        return self.state_dir / "reports"

    @property
    def adapter_cache(self) -> Path:
        """Registered adapters fetched to this machine."""
        return self.state_dir / "adapters"

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking shared by training runs and the registry (params.yaml's,
        else SQLite in the state folder)."""
        from ragtune.tasks.training.tracking import default_tracking_uri

        return self.registry_cfg.tracking_uri or default_tracking_uri(self.state_dir)

    def registry_exists(self) -> bool:
        """A configured MLflow server, or a local registry database already written."""
        cfg = self.registry_cfg
        if cfg.tracking_uri or cfg.registry_uri:
            return True
        return (self.state_dir / "mlflow.db").is_file()

    def open_registry(self) -> ModelRegistry | None:
        """The registry when one exists, else None (nothing is created)."""
        return self.registry() if self.registry_exists() else None

    def registry(self, **kwargs: Any) -> ModelRegistry:
        """The model registry params.yaml describes, bound to this index."""
        from ragtune.tasks.registry.registry import ModelRegistry

        return ModelRegistry(
            self.registry_cfg,
            self.state_dir,
            self.index.uri,
            self.index.table,
            promotion_log=self.audit(self.promotions_path),
            **kwargs,
        )

    @property
    def promotions_path(self) -> Path:
        """The promotion log: every champion move (see ``PromotionLog``)."""
        return self.registry_cfg.promotion_log_path(self.state_dir)
