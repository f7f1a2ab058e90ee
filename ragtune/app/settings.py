"""params.yaml: the one configuration file, validated by one typed schema.

Each concern owns its section class beside its code (``tasks/<capability>/config.py``);
this module only composes them, loads the file, applies environment overrides and
turns pydantic errors into messages that name the key.

Local and production differ by configuration, not code: ``RAGTUNE_OVERLAY=prod``
merges ``params.prod.yaml`` (beside params.yaml; a path works too) over the base
file, section by section, before environment overrides, which use
``RAGTUNE_<SECTION>__<KEY>`` (double underscore between levels), e.g.
``RAGTUNE_INDEX__URI=s3://bucket/index``.

``project.seed`` is the one seed: every section with a ``seed`` of its own inherits
it unless the file sets that section's seed explicitly.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from ragtune.errors import ConfigError, yaml_problem
from ragtune.schema import StrictModel
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.dataset.config import DatasetConfig
from ragtune.tasks.decision.config import DecisionConfig
from ragtune.tasks.embedding.config import EmbeddingConfig
from ragtune.tasks.estimate.config import EstimatorConfig
from ragtune.tasks.evaluation.config import EvaluationConfig
from ragtune.tasks.freshness.config import FreshnessConfig
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.monitoring.config import DriftConfig
from ragtune.tasks.operations.config import DeploymentConfig, OperationsConfig
from ragtune.tasks.privacy.config import PrivacyConfig
from ragtune.tasks.promotion.config import PromotionConfig
from ragtune.tasks.registry.config import RegistryConfig
from ragtune.tasks.retrain.config import RetrainConfig
from ragtune.tasks.serving.config import ServingConfig
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.versioning.config import DvcConfig
from ragtune.tasks.watch.config import WatchConfig

ENV_PREFIX = "RAGTUNE_"
PARAMS_ENV = "RAGTUNE_PARAMS"
OVERLAY_ENV = "RAGTUNE_OVERLAY"


class ProjectConfig(StrictModel):
    """Where ragtune keeps its own state (reports, caches, index by default)."""

    name: str = "ragtune"
    state_dir: Path = Field(Path(".ragtune"), description="Runtime state folder.")
    audit_log: Path = Field(
        Path(".ragtune/audit.jsonl"), description="Hash-chained audit log (JSON lines)."
    )
    audit_backend: Literal["file", "postgres"] = Field(
        "file",
        description="Where audit records live: file (audit_log, JSON lines) or "
        "postgres (an append-only table; the connection string in the variable "
        "audit_dsn_env names). The chain, key and anchors are the same.",
    )
    audit_dsn_env: str = Field(
        "RAGTUNE_AUDIT_DSN",
        description="Environment variable with the Postgres connection string "
        "(audit_backend: postgres); kept out of params.yaml.",
    )
    audit_keyed: bool = Field(
        True,
        description="Chain audit records with an HMAC (key from audit_key_env, else "
        "<state_dir>/secrets/audit.key), so a rewrite without the key is detected.",
    )
    audit_key_env: str | None = Field(
        "RAGTUNE_AUDIT_KEY",
        description="Environment variable holding the audit key (from a secret "
        "manager); when unset the key file in the state folder is used.",
    )
    audit_anchor_dir: Path | None = Field(
        Path(".ragtune/anchors"),
        description="Where each append records the log's head (count + hash), so "
        "a removed tail or a deleted log is detected; put it on another volume "
        "or a mounted bucket. null: no anchors.",
    )
    seed: int = Field(
        13,
        description="The one seed: sections with a seed of their own inherit it "
        "unless params.yaml sets theirs.",
    )


class Settings(StrictModel):
    """The whole of params.yaml. ``root`` is the folder that relative paths use."""

    root: Path = Field(Path("."), exclude=True)
    project: ProjectConfig = ProjectConfig()
    data: DataConfig = DataConfig()
    validation: ValidationConfig = ValidationConfig()
    freshness: FreshnessConfig = FreshnessConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    index: IndexConfig = IndexConfig()
    dvc: DvcConfig = DvcConfig()
    training: QLoRAConfig = QLoRAConfig()
    estimate: EstimatorConfig = EstimatorConfig()
    decision: DecisionConfig = DecisionConfig()
    serving: ServingConfig = ServingConfig()
    generation: GenerationConfig = GenerationConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    dataset: DatasetConfig = DatasetConfig()
    retrain: RetrainConfig = RetrainConfig()
    backends: BackendConfig = BackendConfig()
    registry: RegistryConfig = RegistryConfig()
    drift: DriftConfig = DriftConfig()
    watch: WatchConfig = WatchConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    promotion: PromotionConfig = PromotionConfig()
    schedules: DeploymentConfig = DeploymentConfig()
    operations: OperationsConfig = OperationsConfig()

    def path(self, value: Path | str) -> Path:
        """Resolve a configured path against the params.yaml folder."""
        p = Path(value)
        return p if p.is_absolute() else (self.root / p).resolve()

    def uri(self, value: str) -> str:
        """Resolve a path-or-URI: URLs (``s3://``...) pass through unchanged."""
        return value if "://" in value else str(self.path(value))


def _set_nested(tree: dict[str, Any], keys: list[str], value: str) -> None:
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"environment override: {'.'.join(keys)} is not a section"
            )
        node = child
    node[keys[-1]] = yaml.safe_load(value) if value else value


def apply_env_overrides(raw: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Overlay ``RAGTUNE_SECTION__KEY=value`` variables (YAML-parsed) on ``raw``.

    Raises:
        ConfigError: a value is not valid YAML (the variable is named).
    """
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        try:
            _set_nested(raw, keys, value)
        except yaml.YAMLError as exc:
            problem = yaml_problem(exc)
            raise ConfigError(f"{name}: not a valid YAML value ({problem})") from None
    return raw


def _describe(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key (check the spelling; see docs/params.md)"
    if err["type"] == "missing":
        return f"{key}: required value is missing"
    given = err.get("input")
    shown = (
        f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
    )
    return f"{key}: {err['msg']}{shown}"


def parse_settings(raw: dict[str, Any], root: Path, source: str) -> Settings:
    """Validate a params mapping; raise ConfigError naming every bad key."""
    project = raw.get("project")
    seed = project.get("seed") if isinstance(project, dict) else None
    if seed is not None:
        raw = copy.deepcopy(raw)
        _inherit_seed(raw, Settings, seed)
    try:
        return Settings(root=root.resolve(), **raw)
    except ValidationError as exc:
        lines = "\n  ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{source} is invalid:\n  {lines}") from None
    except TypeError as exc:
        raise ConfigError(f"{source} is invalid: {exc}") from None


def load_settings(
    path: Path | str | None = None, env: dict[str, str] | None = None
) -> Settings:
    """Load params.yaml (``RAGTUNE_PARAMS`` or ./params.yaml) with env overrides.

    A missing file gives the defaults only when no path was asked for explicitly.
    """
    env = dict(os.environ if env is None else env)
    explicit = path is not None or PARAMS_ENV in env
    params = Path(path or env.get(PARAMS_ENV) or "params.yaml")
    raw: Any = {}
    if params.is_file():
        try:
            raw = yaml.safe_load(params.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{params} is not valid YAML: {yaml_problem(exc)}"
            ) from None
    elif explicit:
        raise ConfigError(f"{params}: params file not found")
    if not isinstance(raw, dict):
        raise ConfigError(f"{params}: expected a mapping of sections at the top level")
    if "root" in raw:
        raise ConfigError(f"{params}: root: unknown key (root is the file's folder)")
    source = str(params)
    if env.get(OVERLAY_ENV):
        overlay = overlay_path(params, env[OVERLAY_ENV])
        raw = merge(raw, _read_mapping(overlay, f"{OVERLAY_ENV} overlay"))
        source = f"{params} + {overlay.name}"
    raw = apply_env_overrides(raw, env)
    return parse_settings(raw, params.resolve().parent, source)


def overlay_path(params: Path, overlay: str) -> Path:
    """``prod`` -> ``params.prod.yaml`` beside ``params``; a path stays a path."""
    if overlay.endswith((".yaml", ".yml")) or "/" in overlay:
        path = Path(overlay)
        return path if path.is_absolute() else params.parent / path
    return params.with_name(f"{params.stem}.{overlay}{params.suffix or '.yaml'}")


def _read_mapping(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return raw


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base``: mappings merge key by key, anything else
    (values, lists) replaces."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _section(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _has_seed(model: type[BaseModel]) -> bool:
    """True when the section or a section nested in it has a ``seed``."""
    return any(
        name == "seed" or ((sub := _section(info.annotation)) and _has_seed(sub))
        for name, info in model.model_fields.items()
    )


def _inherit_seed(raw: dict[str, Any], model: type[BaseModel], seed: Any) -> None:
    """Set ``seed`` in every (nested) section of ``raw`` that has one and leaves
    it unset; ``raw`` is the caller's own copy."""
    for name, info in model.model_fields.items():
        if name == "seed":
            raw.setdefault("seed", seed)
            continue
        sub = _section(info.annotation)
        if sub is None or not _has_seed(sub) or name in ("project", "root"):
            continue
        child = raw.setdefault(name, {})
        if isinstance(child, dict):  # anything else: validation names the key
            _inherit_seed(child, sub, seed)
