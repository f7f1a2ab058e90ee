"""prefect.yaml agrees with params and every entrypoint names a Prefect flow.

The second test is the one that would have caught prefect-recipes' drift: a
prefect.yaml pointing at a file that is not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect import Flow

from ragtune.app.settings import load_settings
from ragtune.cli.deploy_cmds import load_entrypoint, specs_for
from ragtune.errors import ConfigError
from ragtune.flows.deployments import render_prefect_yaml
from ragtune.tasks.operations.config import DeploymentConfig

ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "prefect.yaml"


def _deployments() -> list[dict]:
    return yaml.safe_load(PREFECT_YAML.read_text())["deployments"]


def test_prefect_yaml_is_what_params_render() -> None:
    settings = load_settings(ROOT / "params.yaml", env={})
    rendered = render_prefect_yaml(specs_for(settings), settings.operations)
    assert PREFECT_YAML.read_text() == rendered, (
        "prefect.yaml is stale: run `ragtune deploy --write-yaml prefect.yaml`"
    )


@pytest.mark.parametrize(
    "entry", _deployments(), ids=lambda d: d["name"] if isinstance(d, dict) else d
)
def test_every_entrypoint_is_a_prefect_flow(entry: dict) -> None:
    path, _ = entry["entrypoint"].split(":")
    assert (ROOT / path).is_file(), f"{entry['name']}: {path} does not exist"
    flow = load_entrypoint(ROOT, entry["entrypoint"])
    assert isinstance(flow, Flow), f"{entry['entrypoint']} is not a @flow"
    # parameters baked into the deployment must be parameters of the flow
    assert set(entry["parameters"]) <= set(flow.parameters.properties)


def test_schedules_per_class_and_triggered_only_retrain() -> None:
    by_name = {d["name"]: d for d in _deployments()}
    cron = {n: [s["cron"] for s in d["schedules"]] for n, d in by_name.items()}
    assert cron["refresh-regulatory"] == ["0 6 * * *"]  # daily
    assert cron["refresh-product-pricing"] == ["0 5 * * 1"]  # weekly
    assert cron["refresh-historical"] == cron["refresh-domain-concept"]
    assert cron["refresh-historical"] == ["0 4 1 1,4,7,10 *"]  # quarterly
    assert cron["drift-monitor"] == ["0 * * * *"]  # hourly
    assert cron["retrain"] == [] and cron["rollback"] == []
    assert by_name["retrain"]["concurrency_limit"] == 1
    assert by_name["refresh-regulatory"]["parameters"] == {"classes": ["regulatory"]}


def test_bad_cron_and_bad_entrypoint_are_named() -> None:
    with pytest.raises(ValueError, match="refresh.regulatory"):
        DeploymentConfig(refresh={"regulatory": "daily"})
    with pytest.raises(ConfigError, match="flows/nope.py:x"):
        load_entrypoint(ROOT, "flows/nope.py:x")
