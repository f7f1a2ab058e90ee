"""The cost cap: estimates priced from the job, refusals that name both numbers,
and no backend starting anything once the cap says no."""

from __future__ import annotations

import re

import pytest

from ragtune.app.backends import build_backend
from ragtune.errors import GateFailed
from ragtune.tasks.backends.config import BackendConfig
from ragtune.tasks.backends.costcap import check_cost_cap, estimate_job
from ragtune.tasks.backends.local import LocalBackend
from ragtune.tasks.estimate import EstimatorConfig, estimate

from .conftest import STEPS, make_job, make_settings

CFG = EstimatorConfig()


def _money(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\$([\d,]+\.\d\d)", text)]


def test_job_is_sized_from_its_model_data_and_settings(tmp_path):
    job = make_job(tmp_path)

    est = estimate_job(job, CFG)

    assert est.model.name == "tiny-llama"
    assert est.model.hidden == 64 and est.model.layers == 1
    assert est.setup.method == "qlora" and est.setup.seq_len == 128
    # max_steps overrides epochs: 3 steps x effective batch 4, once.
    assert est.workload.examples == STEPS * 4 and est.workload.epochs == 1.0
    assert est.plan.cost_usd is not None and est.plan.cost_usd < 0.01


def test_a_pinned_gpu_prices_that_gpu(tmp_path):
    est = estimate_job(make_job(tmp_path), CFG, gpu="H100-80GB")

    plan = check_cost_cap(est, BackendConfig(), provider="modal", gpu="H100-80GB")

    assert (plan.gpu, plan.provider, plan.price_per_gpu_hour) == (
        "H100-80GB",
        "modal",
        CFG.gpus["H100-80GB"].prices["modal"],
    )


def test_provider_prices_apply_to_that_backend():
    est = estimate("7B", examples=10_000, cfg=CFG)
    cap = BackendConfig()

    modal = check_cost_cap(est, cap, provider="modal")
    runpod = check_cost_cap(est, cap, provider="runpod")

    assert modal.provider == "modal" and runpod.provider == "runpod"
    for plan in (modal, runpod):
        price = CFG.gpus[plan.gpu].prices[plan.provider]
        assert plan.cost_usd == pytest.approx(plan.gpu_hours * price)


def test_cost_above_the_cap_is_refused_naming_both_numbers():
    # Three epochs of 7B QLoRA on 100k examples take ~20 GPU-hours: more than
    # $10 even on the cheapest card that fits.
    est = estimate("7B", examples=100_000, epochs=3, cfg=CFG)
    cap = BackendConfig(max_cost_usd=10.0, max_gpu_hours=None)
    assert est.plan.cost_usd > 10

    with pytest.raises(GateFailed) as err:
        check_cost_cap(est, cap)

    text = str(err.value)
    assert "backends.max_cost_usd" in text and "nothing was started" in text
    assert _money(text)[0] == round(est.plan.cost_usd, 2)
    assert 10.0 in _money(text)


def test_gpu_hours_above_the_cap_are_refused():
    est = estimate("7B", examples=10_000, cfg=CFG)
    cap = BackendConfig(max_cost_usd=None, max_gpu_hours=0.5)

    with pytest.raises(GateFailed, match="max_gpu_hours 0.5") as err:
        check_cost_cap(est, cap)

    assert f"{est.plan.gpu_hours:.2f} GPU-hours" in str(err.value)


def test_no_caps_accept_anything():
    est = estimate("70B", examples=100_000, epochs=5, cfg=CFG)

    plan = check_cost_cap(est, BackendConfig(max_cost_usd=None, max_gpu_hours=None))

    assert plan.cost_usd == pytest.approx(est.plan.cost_usd)


def test_a_provider_without_a_fitting_offer_is_refused():
    # Only RunPod rents the RTX 4090, so a Modal launch on it cannot be priced.
    est = estimate("1B", examples=1_000, gpu="RTX-4090", cfg=CFG)

    with pytest.raises(GateFailed, match="no plan on modal"):
        check_cost_cap(est, BackendConfig(), provider="modal")


def test_an_unpriced_gpu_cannot_pass_a_cost_cap():
    gpus = dict(CFG.gpus)
    gpus["lab-card"] = gpus["A100-80GB"].model_copy(update={"prices": {}})
    cfg = CFG.model_copy(update={"gpus": gpus})
    est = estimate("1B", examples=1_000, gpu="lab-card", cfg=cfg)

    with pytest.raises(GateFailed, match="lab-card has no price"):
        check_cost_cap(est, BackendConfig())
    assert check_cost_cap(est, BackendConfig(max_cost_usd=None)).cost_usd is None


def test_local_submit_over_the_cap_starts_nothing(tmp_path):
    settings = make_settings(tmp_path, max_cost_usd=1e-9)
    backend = build_backend(LocalBackend, settings)
    job = make_job(tmp_path)

    with pytest.raises(GateFailed, match="exceeds the cost cap"):
        backend.submit(job)

    assert not (tmp_path / "backends").exists()
    assert not job.output_dir.exists()
