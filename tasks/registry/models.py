"""What the registry hands out: version facts, lineage, transition plans and their
outcomes. Plain frozen dataclasses, so flows can pass them between tasks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

TransitionKind = Literal["promote", "rollback"]


@dataclass(frozen=True)
class Lineage:
    """Where a candidate came from, beyond what its training card says.

    Attributes:
        dataset_version: DVC/git revision of the SFT set the adapter was trained on.
        dataset_hash: DVC hash of that set; must equal the training card's.
        index_tag: Published knowledge-base index tag the candidate was evaluated
            with; promotion makes this tag live together with the model.
        code_version: Git commit of ragtune that trained it, when known.
        gap: The knowledge gap it was trained for (GAPS.yaml name), if any;
            ``ragtune decide`` measures that gap's candidate beside base + RAG.
    """

    dataset_version: str
    dataset_hash: str
    index_tag: str
    code_version: str | None = None
    gap: str | None = None


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered adapter version with its lineage, gates and deployment."""

    name: str
    version: int
    aliases: tuple[str, ...]
    created_at: datetime
    status: str  # candidate | approved | rejected
    adapter_uri: str
    run_id: str | None
    base_model: str
    base_revision: str | None
    dataset_version: str
    dataset_hash: str
    index_tag: str
    hyperparameters: dict[str, Any]
    gate_figures: dict[str, Any]
    training: dict[str, Any]
    approver: str | None
    approved_at: datetime | None
    deployed_at: datetime | None
    description: str
    gap: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes as ISO strings) for ``--json`` output."""
        out = asdict(self)
        for key in ("created_at", "approved_at", "deployed_at"):
            out[key] = None if out[key] is None else out[key].isoformat()
        out["aliases"] = list(self.aliases)
        return out


@dataclass(frozen=True)
class TransitionPlan:
    """A champion move, with everything needed to undo it, recorded before any
    step runs (explicit compensation: the previous state is known up front).

    ``previous_tags`` holds the target version's registry tags the move overwrites
    (None: the tag was absent), so an undo restores them exactly.
    """

    kind: TransitionKind
    model_name: str
    to_version: int
    index_tag: str
    adapter_uri: str
    from_version: int | None
    from_index_tag: str | None
    previous_challenger: int | None
    actor: str
    reason: str
    at: datetime
    previous_tags: dict[str, str | None] = field(default_factory=dict)

    @property
    def is_noop(self) -> bool:
        """True when the target already serves with its index tag live."""
        return (self.from_version, self.from_index_tag) == (
            self.to_version,
            self.index_tag,
        )


@dataclass(frozen=True)
class AuditEntry:
    """A project audit-log record: ``AuditLog.append(action, actor, **details)``."""

    action: str
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True)
class TransitionOutcome:
    """What a promotion or rollback did; audit and event are None for a no-op."""

    plan: TransitionPlan
    changed: bool
    record: dict[str, Any] | None = None
    audit: AuditEntry | None = None

    @property
    def event(self) -> str | None:
        """The event that announces the move: ``ragtune.`` and its audit action."""
        return None if self.audit is None else f"ragtune.{self.audit.action}"


@dataclass(frozen=True)
class PromotionRecord:
    """One line of the promotion log: who moved the champion, when, from what to
    what, with which index tag, and why."""

    kind: TransitionKind
    model_name: str
    from_version: int | None
    to_version: int
    from_index_tag: str | None
    index_tag: str
    actor: str
    reason: str
    at: datetime
    adapter_uri: str
    logged_at: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


@dataclass(frozen=True)
class Tenure:
    """A span during which one version was champion (``end`` None: still is)."""

    version: int
    index_tag: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class RetentionReport:
    """What retention cleanup deleted and what it kept, and why."""

    deleted: list[int]
    kept: dict[int, str]
    protected_index_tags: frozenset[str]
    dry_run: bool = False
