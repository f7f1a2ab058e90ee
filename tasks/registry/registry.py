"""``ModelRegistry``: the one object flows and the CLI use for the model registry.

It binds the MLflow registry, the promotion log and the live index together and
delegates to one module per concern (lineage tags, the transaction, rollback
eligibility, retention). The flow may run the transaction steps itself inside a
Prefect ``transaction()`` (``plan_*``, ``apply_*``/``undo_*``, ``commit``);
``promote`` and ``rollback`` run them here with their own compensation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragtune.audit import AuditLog, ChainedLog
from ragtune.errors import InputError
from ragtune.tasks.index import publish
from ragtune.tasks.registry import lineage as lt
from ragtune.tasks.registry import transaction as tx
from ragtune.tasks.registry.config import RegistryConfig
from ragtune.tasks.registry.mlflow_store import MlflowStore
from ragtune.tasks.registry.models import (
    Lineage,
    ModelVersionInfo,
    PromotionRecord,
    RetentionReport,
    TransitionOutcome,
    TransitionPlan,
)
from ragtune.tasks.registry.promotion_log import PromotionLog, rollback_targets
from ragtune.tasks.registry.retention import retention_cleanup
from ragtune.tasks.registry.rollback import plan_rollback

if TYPE_CHECKING:
    from ragtune.tasks.training.card import TrainingCard
    from ragtune.tasks.training.entrypoint import TrainingResult

log = logging.getLogger(__name__)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


class ModelRegistry:
    """The registered adapters of one project, with their index tags.

    Args:
        cfg: The ``registry:`` section.
        state_dir: ragtune's state folder (default database and promotion log).
        index_uri: LanceDB URI of the knowledge-base index.
        index_table: Its chunk table.
        index_move: Makes an index tag live; ``publish.rollback`` unless a test
            injects a failure.
    """

    def __init__(
        self,
        cfg: RegistryConfig,
        state_dir: Path,
        index_uri: str,
        index_table: str,
        index_move: tx.IndexMove = publish.rollback,
        promotion_log: ChainedLog | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = MlflowStore(cfg, Path(state_dir))
        self.index = (index_uri, index_table)
        self.promotions = PromotionLog(
            promotion_log or AuditLog(cfg.promotion_log_path(Path(state_dir)))
        )
        self.index_move = index_move

    # -- registering -------------------------------------------------------------

    def register_candidate(
        self,
        result: TrainingResult,
        card: TrainingCard,
        lineage: Lineage,
        gate_figures: dict[str, Any] | None = None,
    ) -> ModelVersionInfo:
        """Log the adapter to a run, register it as a version with its lineage, and
        make it the challenger. Registering the same training run again returns
        the existing version.

        Raises:
            InputError: no adapter files, a dataset hash that differs from the
                card's, or figures that cannot be stored.
        """
        adapter = Path(result.adapter_dir)
        if not adapter.is_dir() or not any(adapter.iterdir()):
            raise InputError(f"adapter folder {adapter} is missing or empty")
        tags = lt.candidate_tags(result, card, lineage, gate_figures)
        tags[lt.FINGERPRINT] = result.fingerprint
        existing = self._find(result.fingerprint, lineage.index_tag)
        if existing is not None:
            log.info("run %s is version %d", result.fingerprint, existing.version)
            return existing
        self.store.ensure_model()
        card_json = Path(result.card_path)
        run_id, uri = self.store.log_adapter(
            adapter,
            [p for p in (card_json, card_json.with_suffix(".md")) if p.is_file()],
            card.run_name,
            {"ragtune.training_run_id": result.mlflow_run_id},
        )
        tags[lt.ADAPTER_URI] = uri
        version = self.store.create_version(
            uri, run_id, tags, lt.describe(card, lineage, result.final_loss)
        )
        self.store.set_alias(self.cfg.challenger_alias, version)
        log.info("registered %s version %d (challenger)", self.cfg.model_name, version)
        return self.get(version)

    def _find(self, fingerprint: str, index_tag: str) -> ModelVersionInfo | None:
        for version in self.store.versions():
            tags = version.tags or {}
            if (tags.get(lt.FINGERPRINT), tags.get(lt.INDEX_TAG)) == (
                fingerprint,
                index_tag,
            ):
                return self.get(int(version.version))
        return None

    def record_gate_figures(
        self, version: int, figures: dict[str, Any]
    ) -> ModelVersionInfo:
        """Merge gate figures (``{"evaluation": {...}, "privacy": {...}}``) into the
        version's record; a later gate adds its key beside the earlier ones."""
        merged = {**self.get(version).gate_figures, **figures}
        self.store.set_tags(version, {lt.GATE_FIGURES: lt.as_json_tag("gates", merged)})
        return self.get(version)

    def record_approval(
        self, version: int, approver: str, now: datetime | None = None
    ) -> ModelVersionInfo:
        """Who approved the version and when (promotion sets it too)."""
        if not approver.strip():
            raise InputError("an approval needs the approver's name")
        stamp = _now(now).isoformat()
        self.store.set_tags(
            version,
            {lt.STATUS: "approved", lt.APPROVER: approver, lt.APPROVED_AT: stamp},
        )
        return self.get(version)

    def record_rejection(self, version: int, reason: str) -> ModelVersionInfo:
        """Mark a version rejected (by a gate or a person); it can never be promoted
        and stops being challenger."""
        self.store.set_tags(
            version, {lt.STATUS: "rejected", lt.REJECTED_REASON: reason}
        )
        if self.store.aliases().get(self.cfg.challenger_alias) == version:
            self.store.set_alias(self.cfg.challenger_alias, None)
        return self.get(version)

    # -- reading -----------------------------------------------------------------

    def get(self, version: int) -> ModelVersionInfo:
        return lt.to_info(self.store.get(version), self.store.aliases())

    def list_versions(self) -> list[ModelVersionInfo]:
        """Every version, oldest first, with its aliases."""
        aliases = self.store.aliases()
        return [lt.to_info(v, aliases) for v in self.store.versions()]

    def _alias(self, alias: str) -> ModelVersionInfo | None:
        version = self.store.aliases().get(alias)
        return None if version is None else self.get(version)

    def champion(self) -> ModelVersionInfo | None:
        """The version that serves; None before the first promotion."""
        return self._alias(self.cfg.champion_alias)

    def challenger(self) -> ModelVersionInfo | None:
        return self._alias(self.cfg.challenger_alias)

    def promotion_history(self) -> list[PromotionRecord]:
        """Every champion move of this model, oldest first."""
        return self.promotions.history(self.cfg.model_name)

    def rollback_targets(self, now: datetime | None = None) -> dict[int, str]:
        """``version -> index tag`` of every version a rollback may restore now."""
        history = self.promotions.verified_history(self.cfg.model_name)
        return rollback_targets(history, _now(now), self.cfg.rollback_window_days)

    # -- moving the champion -----------------------------------------------------

    def plan_promotion(
        self,
        version: int,
        index_tag: str | None,
        approver: str,
        reason: str,
        now: datetime | None = None,
    ) -> TransitionPlan:
        """Record the state a promotion would change (nothing moves yet).

        Raises:
            InputError: a rejected version, or an index tag other than the one
                the version was evaluated with.
        """
        info = self.get(version)
        if info.status == "rejected":
            raise InputError(f"version {version} was rejected; it cannot be promoted")
        if index_tag is not None and info.index_tag and index_tag != info.index_tag:
            raise InputError(
                f"version {version} was evaluated with index tag {info.index_tag}, "
                f"not {index_tag}: promote it with that tag, or evaluate it again"
            )
        tag = index_tag or info.index_tag
        return tx.plan_transition(
            self.store, self.index, "promote", version, tag, approver, reason, _now(now)
        )

    def plan_rollback(
        self,
        to_version: int,
        actor: str,
        reason: str | None = None,
        now: datetime | None = None,
    ) -> TransitionPlan:
        """Record the state a rollback would change; refuses ineligible versions."""
        why = reason or f"rollback to version {to_version}"
        return plan_rollback(
            self.store, self.index, self.promotions, to_version, actor, why, _now(now)
        )

    def apply_alias(self, plan: TransitionPlan) -> None:
        tx.apply_alias(self.store, plan)

    def undo_alias(self, plan: TransitionPlan) -> None:
        tx.undo_alias(self.store, plan)

    def apply_index(self, plan: TransitionPlan) -> None:
        tx.apply_index(self.index, plan, self.index_move)

    def undo_index(self, plan: TransitionPlan) -> None:
        tx.undo_index(self.index, plan, self.index_move)

    def commit(self, plan: TransitionPlan) -> TransitionOutcome:
        """Last step: append to the promotion log; returns audit entry and event."""
        return tx.outcome(plan, self.promotions.append(plan))

    def execute(self, plan: TransitionPlan) -> TransitionOutcome:
        """Run a plan's steps with compensation (``promote_together``)."""
        return tx.promote_together(
            self.store, self.index, self.promotions, plan, self.index_move
        )

    def promote(
        self,
        version: int,
        index_tag: str | None,
        approver: str,
        reason: str,
        now: datetime | None = None,
    ) -> TransitionOutcome:
        """Make ``version`` champion and its index tag live, together or not at all."""
        return self.execute(
            self.plan_promotion(version, index_tag, approver, reason, now)
        )

    def rollback(
        self,
        to_version: int,
        actor: str = "ragtune",
        reason: str | None = None,
        now: datetime | None = None,
    ) -> TransitionOutcome:
        """Restore a version that served within the window, with its index tag."""
        return self.execute(self.plan_rollback(to_version, actor, reason, now))

    def retention_cleanup(
        self, now: datetime | None = None, dry_run: bool = False
    ) -> RetentionReport:
        """Delete unprotected old versions; returns the index tags to keep."""
        return retention_cleanup(self.store, self.promotions, _now(now), dry_run)
