"""The registry section: the 90-day rollback floor and MLflow's alias rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ragtune.app.settings import parse_settings
from ragtune.errors import ConfigError
from ragtune.tasks.registry.config import MIN_ROLLBACK_WINDOW_DAYS, RegistryConfig


def test_defaults_keep_the_90_day_guarantee() -> None:
    cfg = RegistryConfig()
    assert cfg.rollback_window_days == MIN_ROLLBACK_WINDOW_DAYS == 90
    assert (cfg.champion_alias, cfg.challenger_alias) == ("champion", "challenger")
    assert RegistryConfig(rollback_window_days=365).rollback_window_days == 365


@pytest.mark.parametrize("days", [89, 30, 0, -1])
def test_a_window_below_90_days_is_rejected(days: int) -> None:
    with pytest.raises(ValidationError, match="at least 90 days"):
        RegistryConfig(rollback_window_days=days)


def test_params_yaml_below_the_floor_names_the_key() -> None:
    raw = {"registry": {"rollback_window_days": 30}}
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, Path("."), "params.yaml")
    message = str(caught.value)
    assert "registry.rollback_window_days" in message and "at least 90" in message
    assert "(got 30)" in message


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"champion_alias": "latest"}, "reserves"),
        ({"challenger_alias": "v3"}, "reserves"),
        ({"champion_alias": "prod model"}, "letters, digits"),
        ({"challenger_alias": "champion"}, "must differ"),
        ({"retention_days": 0}, "greater than or equal to 1"),
        ({"model_name": ""}, "at least 1 character"),
    ],
)
def test_bad_registry_settings_are_refused(fields: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        RegistryConfig(**fields)


def test_repo_params_yaml_has_the_registry_section(repo_root: Path) -> None:
    from ragtune.app.settings import load_settings

    settings = load_settings(repo_root / "params.yaml", env={})
    assert settings.registry == RegistryConfig()
