"""Hours, provider costs, budget lines and the Estimate's two renderings."""

from __future__ import annotations

import json

import pytest
import yaml

from ragtune.errors import InputError
from ragtune.tasks.estimate import EstimatorConfig, estimate
from ragtune.tasks.estimate.fit import plans
from ragtune.tasks.estimate.throughput import tokens_per_second
from ragtune.tasks.estimate.workload import TrainingSetup


def test_hours_are_tokens_over_throughput(cfg, llama7b):
    est = estimate("7B", "qlora", 20_000, epochs=2, avg_tokens_per_example=300, cfg=cfg)
    assert est.workload.tokens == 20_000 * 300 * 2
    gpu = cfg.gpus[est.plan.fit.gpu]
    speed = tokens_per_second(llama7b, est.setup, gpu, est.plan.fit.count, cfg)
    assert est.plan.hours == pytest.approx(12e6 / speed / 3600)
    # Twice the data, twice the time and money.
    double = estimate(
        "7B", "qlora", 40_000, epochs=2, avg_tokens_per_example=300, cfg=cfg
    )
    assert double.plan.cost_usd == pytest.approx(2 * est.plan.cost_usd)


def test_each_provider_is_priced_from_the_catalogue(cfg):
    est = estimate("13B", "lora", 50_000, cfg=cfg)
    assert [p.provider for p in est.providers] == ["modal", "runpod", "lambda"]
    for plan in est.providers:
        price = cfg.gpus[plan.fit.gpu].prices[plan.provider]
        assert plan.price_per_gpu_hour == price
        assert plan.cost_usd == pytest.approx(plan.hours * plan.fit.count * price)


def test_the_plan_is_the_cheapest_fitting_configuration(cfg, llama7b):
    setup = TrainingSetup(method="full")
    every = plans(llama7b, setup, 5e6, cfg)
    est = estimate("7B", "full", 10_000, avg_tokens_per_example=500, cfg=cfg)
    assert est.plan.cost_usd == pytest.approx(min(p.cost_usd for p in every))
    # 38 GiB of weights, gradients and states: small cards only hold it sharded.
    assert all(p.fit.count > 1 for p in every if cfg.gpus[p.fit.gpu].memory_gib < 40)
    assert {p.fit.count for p in every if p.fit.gpu == "A100-80GB"} == {1}


def test_pinned_gpu_and_unpriced_gpu(cfg):
    custom = cfg.model_copy(
        update={
            "gpus": {
                **cfg.gpus,
                "MI300X": cfg.gpus["H200"].model_copy(update={"prices": {}}),
            }
        }
    )
    est = estimate("70B", "qlora", 1_000, gpu="MI300X", cfg=custom)
    assert est.plan.fit.gpu == "MI300X" and est.plan.provider is None
    assert est.costs is None and est.providers == []
    assert "no cost estimate" in est.to_markdown()


def test_nothing_fits_is_a_clear_input_error(cfg):
    with pytest.raises(
        InputError, match=r"no configuration fits 70B full.*GiB per GPU"
    ):
        estimate("70B", "full", 1_000, gpu="L4", cfg=cfg)


def test_to_dict_is_json_and_complete(cfg):
    data = json.loads(json.dumps(estimate("7B", "qlora", 10_000, cfg=cfg).to_dict()))
    assert set(data) >= {
        "model",
        "setup",
        "memory_per_gpu",
        "plan",
        "providers",
        "costs",
    }
    assert data["model"]["params"] == 6_738_415_616
    assert data["prices_as_of"] == cfg.prices_as_of
    assert data["costs"]["first_project_usd"]["low"] > data["costs"]["compute_usd"]
    mem = data["memory_per_gpu"]
    parts = [v for k, v in mem.items() if k.endswith("_gib") and k != "total_gib"]
    assert sum(parts) == pytest.approx(mem["total_gib"], abs=0.05)


def test_to_markdown_names_the_plan_prices_and_assumptions(cfg):
    est = estimate("13B", "full", 10_000, gpu="A100-80GB", cfg=cfg)
    text = est.to_markdown()
    assert "2 x A100-80GB" in text
    assert f"prices as of {cfg.prices_as_of}" in text
    assert "fully sharded" in text and "no master copy" in text
    assert text.count("| modal |") == 1


def test_config_reads_from_yaml_with_a_date(cfg):
    raw = yaml.safe_load("prices_as_of: 2026-10-01\nproject_months: 4\n")
    loaded = EstimatorConfig(**raw)
    assert loaded.prices_as_of == "2026-10-01"
    with pytest.raises(ValueError, match="reference_gpu"):
        EstimatorConfig(reference_gpu="TPU")
    with pytest.raises(ValueError, match="above high"):
        EstimatorConfig(search_multiplier={"low": 5, "high": 3})
    with pytest.raises(ValueError, match="'modal', 'runpod' or 'lambda'"):
        EstimatorConfig(
            gpus={"X": {"memory_gib": 1, "bf16_tflops": 1, "prices": {"aws": 1}}}
        )
