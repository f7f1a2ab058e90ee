"""params.yaml loading: every bad value is named, env overrides reach nested keys."""

from pathlib import Path

import pytest

from ragtune.app.settings import apply_env_overrides, load_settings
from ragtune.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_params_yaml_loads_and_resolves_paths(repo_root: Path) -> None:
    settings = load_settings(repo_root / "params.yaml", env={})
    assert settings.root == repo_root
    assert settings.path(settings.data.kb_path) == repo_root / "data" / "kb"
    assert set(settings.freshness.classes) == {
        "regulatory",
        "product-pricing",
        "historical",
        "domain-concept",
    }
    assert settings.freshness.classes["regulatory"].max_age_days == 30
    assert settings.freshness.classes["product-pricing"].max_age_days == 7
    assert settings.freshness.classes["historical"].max_age_days is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("chunking:\n  size: big\n", "chunking.size: Input should be a valid integer"),
        ("chunking:\n  sise: 400\n", "chunking.sise: unknown key"),
        ("indx:\n  uri: x\n", "indx: unknown key"),
        ("chunking:\n  size: 100\n  overlap: 200\n", "overlap must be smaller"),
        ("validation:\n  max_quarantine_share: 1.5\n", "max_quarantine_share"),
        ("freshness:\n  classes:\n    regulatory: {max_age_days: 30}\n", "volatile"),
        ("embedding:\n  provider: openai\n", "embedding.endpoint is required"),
        ("- just\n- a list\n", "expected a mapping"),
        ("chunking: [size: 1\n", "not valid YAML"),
    ],
)
def test_bad_params_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, text), env={})
    assert fragment in str(err.value)
    assert str(tmp_path / "params.yaml") in str(err.value)


def test_missing_required_value_is_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "freshness:\n  classes:\n    regulatory: {max_age_days: 3}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"freshness\.classes\.regulatory\.volatile: "
        r"required value is missing",
    ):
        load_settings(path, env={})


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="params file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_env_overrides_nested_keys_and_are_validated(tmp_path: Path) -> None:
    path = _write(tmp_path, "index:\n  uri: local/index\n")
    env = {"RAGTUNE_INDEX__URI": "s3://bucket/index", "RAGTUNE_CHUNKING__SIZE": "800"}
    settings = load_settings(path, env=env)
    assert settings.index.uri == "s3://bucket/index"
    assert settings.uri(settings.index.uri) == "s3://bucket/index"
    assert settings.chunking.size == 800
    with pytest.raises(ConfigError, match="chunking.size"):
        load_settings(path, env={"RAGTUNE_CHUNKING__SIZE": "lots"})


def test_params_env_var_selects_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "project:\n  seed: 7\n")
    assert load_settings(env={"RAGTUNE_PARAMS": str(path)}).project.seed == 7


def test_env_override_ignores_unrelated_variables() -> None:
    raw = apply_env_overrides({}, {"RAGTUNE_PARAMS": "x", "HOME": "/root"})
    assert raw == {}


def test_project_seed_is_the_one_seed_unless_a_section_sets_its_own(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "project:\n  seed: 7\ndecision:\n  seed: 99\n")
    settings = load_settings(path, env={})
    seeds = {
        "training": settings.training.seed,
        "evaluation": settings.evaluation.seed,
        "generation": settings.generation.seed,
        "dataset": settings.dataset.seed,
        "drift": settings.drift.seed,
        "privacy": settings.privacy.seed,
        "freshness.evaluation": settings.freshness.evaluation.seed,
    }
    assert set(seeds.values()) == {7}, seeds
    assert settings.decision.seed == 99  # set explicitly: kept
    assert load_settings(_write(tmp_path, "{}"), env={}).training.seed == 13


def test_overlay_merges_over_the_base_then_env_overrides(tmp_path: Path) -> None:
    base = _write(
        tmp_path,
        "project:\n  name: base\nindex:\n  uri: local/index\n  table: chunks\n",
    )
    (tmp_path / "params.prod.yaml").write_text(
        "index:\n  uri: s3://bucket/index\ntraining:\n  max_steps: 5\n"
    )
    prod = load_settings(base, env={"RAGTUNE_OVERLAY": "prod"})
    assert prod.index.uri == "s3://bucket/index" and prod.index.table == "chunks"
    assert prod.project.name == "base" and prod.training.max_steps == 5
    env = {"RAGTUNE_OVERLAY": "params.prod.yaml", "RAGTUNE_TRAINING__MAX_STEPS": "9"}
    assert load_settings(base, env=env).training.max_steps == 9
    assert load_settings(base, env={}).index.uri == "local/index"
    with pytest.raises(ConfigError, match=r"params\.staging\.yaml: RAGTUNE_OVERLAY"):
        load_settings(base, env={"RAGTUNE_OVERLAY": "staging"})
    (tmp_path / "params.bad.yaml").write_text("index:\n  top_k: [\n")
    with pytest.raises(ConfigError, match="params.bad.yaml is not valid YAML"):
        load_settings(base, env={"RAGTUNE_OVERLAY": "bad"})
    (tmp_path / "params.typo.yaml").write_text("index:\n  urii: x\n")
    with pytest.raises(ConfigError, match=r"params\.typo\.yaml.*\n.*index\.urii"):
        load_settings(base, env={"RAGTUNE_OVERLAY": "typo"})


def test_malformed_yaml_in_an_env_override_names_the_variable(tmp_path: Path) -> None:
    path = _write(tmp_path, "{}")
    with pytest.raises(ConfigError, match=r"RAGTUNE_INDEX__URI: not a valid YAML"):
        load_settings(path, env={"RAGTUNE_INDEX__URI": "[unclosed"})
