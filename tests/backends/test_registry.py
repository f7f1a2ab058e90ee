"""Choosing a backend by name, and the settings each one is built from."""

from __future__ import annotations

import pytest

from ragtune.app.backends import BACKENDS, get_backend
from ragtune.errors import ConfigError
from ragtune.tasks.backends import Backend, JobHandle, JobStatus
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.backends.costcap import PlanSummary

from .conftest import make_settings


def test_unknown_backend_is_a_config_error_listing_the_known_ones(tmp_path):
    with pytest.raises(ConfigError) as err:
        get_backend("slurm", make_settings(tmp_path))

    text = str(err.value)
    assert "'slurm'" in text
    assert all(name in text for name in ("local", "prefect", "modal", "runpod"))


def test_the_application_offers_every_backend_and_prefect_sits_with_the_flows():
    assert sorted(BACKENDS) == ["local", "modal", "prefect", "runpod"]
    assert BACKENDS["prefect"].startswith("ragtune.flows.")


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_backend_implements_the_interface(tmp_path, name):
    backend = get_backend(name, make_settings(tmp_path))

    assert isinstance(backend, Backend)
    assert backend.name == name


def test_no_name_uses_the_configured_default(tmp_path):
    backend = get_backend(None, make_settings(tmp_path, default="runpod"))

    assert backend.name == "runpod"


def test_a_pinned_gpu_must_be_in_the_estimator_catalogue(tmp_path):
    settings = make_settings(tmp_path, local={"gpu": "TPU-v5"})

    with pytest.raises(ConfigError, match="backends.local.gpu 'TPU-v5'"):
        get_backend("local", settings)


def test_modal_gpu_must_be_one_modal_rents():
    with pytest.raises(ValueError, match="RTX-4090"):
        BackendConfig(modal={"gpu": "RTX-4090"})


def test_unknown_backend_key_in_params_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="backends.modal.token: unknown key"):
        make_settings(tmp_path, modal={"token": "abc"})


def test_handle_round_trips_through_its_file(tmp_path):
    plan = PlanSummary(
        gpu="L4", count=1, hours=0.5, gpu_hours=0.5, provider="runpod",
        price_per_gpu_hour=0.43, cost_usd=0.215,
    )  # fmt: skip
    handle = JobHandle(
        backend="runpod",
        job_id="abc-123",
        run_name="r1",
        work_dir=tmp_path / "w",
        output_dir=tmp_path / "out",
        submitted_at="2026-05-01T10:00:00Z",
        plan=plan,
        remote={"endpoint": "ep1"},
    )

    handle.save()

    assert JobHandle.load(tmp_path / "w") == handle


@pytest.mark.parametrize(
    ("state", "terminal"),
    [("queued", False), ("running", False), ("succeeded", True), ("failed", True),
     ("cancelled", True)],
)  # fmt: skip
def test_terminal_states(state, terminal):
    assert JobStatus(state=state).terminal is terminal
