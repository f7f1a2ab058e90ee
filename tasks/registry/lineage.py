"""Registry tags: what a version records about its origin, gates and deployment,
written as MLflow model-version tags and read back into ``ModelVersionInfo``.

Structured values (hyper-parameters, gate figures) are JSON tags, so the whole
lineage survives in the registry alone, readable in the MLflow UI and by the CLI.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlflow.entities.model_registry import ModelVersion

from ragtune.errors import InputError
from ragtune.tasks.registry.models import Lineage, ModelVersionInfo

if TYPE_CHECKING:  # training imports torch; the registry only reads attributes
    from ragtune.tasks.training.card import TrainingCard
    from ragtune.tasks.training.entrypoint import TrainingResult

PREFIX = "ragtune."
BASE_MODEL = f"{PREFIX}base_model"
BASE_REVISION = f"{PREFIX}base_revision"
ADAPTER_URI = f"{PREFIX}adapter_uri"
DATASET_VERSION = f"{PREFIX}dataset_version"
DATASET_HASH = f"{PREFIX}dataset_hash"
INDEX_TAG = f"{PREFIX}index_tag"
CODE_VERSION = f"{PREFIX}code_version"
HYPERPARAMETERS = f"{PREFIX}hyperparameters"
GATE_FIGURES = f"{PREFIX}gate_figures"
TRAINING = f"{PREFIX}training"
STATUS = f"{PREFIX}status"
APPROVER = f"{PREFIX}approver"
APPROVED_AT = f"{PREFIX}approved_at"
DEPLOYED_AT = f"{PREFIX}deployed_at"
REJECTED_REASON = f"{PREFIX}rejected_reason"
FINGERPRINT = f"{PREFIX}fingerprint"
GAP = f"{PREFIX}gap"

MAX_TAG_CHARS = 100_000  # MLflow's limit on a model-version tag value


def as_json_tag(name: str, value: Any) -> str:
    """Canonical JSON for a tag; InputError when it cannot be stored."""
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} must be plain JSON (no NaN, no objects): {exc}"
        ) from None
    if len(text) > MAX_TAG_CHARS:
        raise InputError(
            f"{name} is {len(text):,} characters of JSON; the registry stores at "
            f"most {MAX_TAG_CHARS:,}: keep per-example details in a report artifact"
        )
    return text


def training_summary(result: TrainingResult, card: TrainingCard) -> dict[str, Any]:
    """The training facts a reviewer compares across versions."""
    return {
        "run_name": card.run_name,
        "mlflow_run_id": result.mlflow_run_id,
        "fingerprint": result.fingerprint,
        "steps": result.steps,
        "final_loss": result.final_loss,
        "eval_loss": result.eval_loss,
        "tokens_seen": result.tokens_seen,
        "wall_time_s": result.wall_time_s,
        "cost_usd": card.cost_usd,
        "hardware": result.hardware,
        "epsilon": result.epsilon,
        "delta": result.delta,
    }


def candidate_tags(
    result: TrainingResult,
    card: TrainingCard,
    lineage: Lineage,
    gate_figures: dict[str, Any] | None,
) -> dict[str, str]:
    """Every lineage tag of a new version (approver and deploy date come later).

    Raises:
        InputError: the lineage's dataset hash is not the one the card trained on,
            or a value cannot be stored as a tag.
    """
    if lineage.dataset_hash != card.dataset_hash:
        raise InputError(
            f"lineage dataset hash {lineage.dataset_hash} differs from the training "
            f"card's {card.dataset_hash}: register the adapter with the data it "
            "was trained on"
        )
    if not lineage.index_tag:
        raise InputError(
            "lineage.index_tag is empty: name the index tag evaluated with"
        )
    tags = {
        BASE_MODEL: card.base_model,
        BASE_REVISION: card.revision or "",
        DATASET_VERSION: lineage.dataset_version,
        DATASET_HASH: lineage.dataset_hash,
        INDEX_TAG: lineage.index_tag,
        HYPERPARAMETERS: as_json_tag("hyper-parameters", card.hyperparameters),
        GATE_FIGURES: as_json_tag("gate figures", gate_figures or {}),
        TRAINING: as_json_tag("training summary", training_summary(result, card)),
        STATUS: "candidate",
    }
    if lineage.code_version:
        tags[CODE_VERSION] = lineage.code_version
    if lineage.gap:
        tags[GAP] = lineage.gap
    return tags


def describe(card: TrainingCard, lineage: Lineage, final_loss: float) -> str:
    """The version description shown in the MLflow UI."""
    revision = f"@{card.revision}" if card.revision else ""
    return (
        f"QLoRA adapter {card.run_name} on {card.base_model}{revision}; data "
        f"{lineage.dataset_version} (hash {lineage.dataset_hash[:12]}); evaluated "
        f"with index tag {lineage.index_tag}; final train loss {final_loss:.4f}."
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _json(tags: dict[str, str], key: str) -> dict[str, Any]:
    try:
        return json.loads(tags.get(key) or "{}")
    except json.JSONDecodeError:
        return {"unreadable": tags[key]}


def to_info(version: ModelVersion, aliases: dict[str, int]) -> ModelVersionInfo:
    """A registry entry as ragtune sees it (tags missing on foreign versions read as
    empty rather than failing, so a hand-registered version still lists)."""
    number = int(version.version)
    tags = dict(version.tags or {})
    return ModelVersionInfo(
        name=version.name,
        version=number,
        aliases=tuple(sorted(a for a, v in aliases.items() if v == number)),
        created_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
        status=tags.get(STATUS, "unknown"),
        adapter_uri=tags.get(ADAPTER_URI) or version.source,
        run_id=version.run_id,
        base_model=tags.get(BASE_MODEL, ""),
        base_revision=tags.get(BASE_REVISION) or None,
        dataset_version=tags.get(DATASET_VERSION, ""),
        dataset_hash=tags.get(DATASET_HASH, ""),
        index_tag=tags.get(INDEX_TAG, ""),
        hyperparameters=_json(tags, HYPERPARAMETERS),
        gate_figures=_json(tags, GATE_FIGURES),
        training=_json(tags, TRAINING),
        approver=tags.get(APPROVER) or None,
        approved_at=_time(tags.get(APPROVED_AT)),
        deployed_at=_time(tags.get(DEPLOYED_AT)),
        description=version.description or "",
        gap=tags.get(GAP) or None,
    )
