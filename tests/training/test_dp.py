"""DP-SGD on the LoRA parameters of the 4-bit model: per-example gradients,
clipping, noise, and the (epsilon, delta) budget in the card and MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from ragtune.errors import ConfigError
from ragtune.tasks.training.batching import collate
from ragtune.tasks.training.config import DPConfig
from ragtune.tasks.training.data import load_chat_dataset
from ragtune.tasks.training.dp import DPSGD, planned_epsilon
from ragtune.tasks.training.entrypoint import train
from ragtune.tasks.training.outputs import build_model
from ragtune.tasks.training.steps import token_loss_sums
from ragtune.tasks.training.tokenizer import build_byte_tokenizer

from ._sft import fast_qlora, make_job, single_thread, write_data


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    with single_thread():
        yield


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("sft"))


@pytest.fixture(scope="module")
def batch(data):
    examples = load_chat_dataset(data / "train.jsonl", build_byte_tokenizer(), 128)
    # Three different facts, three different lengths.
    return collate(((0,), (1,), (2,)), examples.examples, 0, packed=False)


def _per_example_loss(module, batch) -> torch.Tensor:
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    sums, counts = token_loss_sums(module(**inputs).logits, batch["labels"])
    return (sums / counts).sum()


def _engine(dp: DPConfig) -> tuple[torch.nn.Module, DPSGD]:
    cfg = fast_qlora(gradient_checkpointing=False)
    model = build_model(cfg, "cpu")
    model.train()
    return model, DPSGD(model, dp, expected_batch=3, sample_rate=0.1)


def test_per_example_gradients_equal_one_backward_per_example(batch):
    model, engine = _engine(DPConfig())
    _per_example_loss(engine.module, batch).backward()
    grouped = [p.grad_sample.clone() for p in engine.params]

    for i in range(3):
        single = {k: v[i : i + 1] for k, v in batch.items()}
        grads = torch.autograd.grad(_per_example_loss(model, single), engine.params)
        for grad, sample in zip(grads, grouped, strict=True):
            assert torch.allclose(sample[i], grad, atol=1e-6, rtol=1e-4)


def test_clipping_bounds_each_example_and_noise_follows_the_seed(batch):
    bound = 1e-3
    model, engine = _engine(DPConfig(max_grad_norm=bound, noise_multiplier=1e-9))
    _per_example_loss(engine.module, batch).backward()
    norms = engine.accumulate()
    engine.finish_step()

    assert (norms > bound).all()  # every example was clipped...
    total = torch.cat([p.grad.flatten() for p in engine.params]).norm()
    assert total <= bound * (1 + 1e-4)  # ...so their mean is within the bound
    assert engine.accountant.history == [(1e-9, 0.1, 1)]

    noisy = DPConfig(max_grad_norm=1.0, noise_multiplier=1.0)
    draws = []
    for _ in range(2):
        _, engine = _engine(noisy)
        engine.seed(7)
        engine.finish_step()  # no examples: the update is pure noise / 3
        draws.append(torch.cat([p.grad.flatten() for p in engine.params]))
    assert torch.equal(draws[0], draws[1])
    assert draws[0].std().item() == pytest.approx(1 / 3, rel=0.05)


@pytest.mark.slow
def test_dp_training_records_epsilon_and_delta(tmp_path, data, tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.getbasetemp() / 'mlflow.db'}"
    dp = DPConfig(noise_multiplier=1.1, max_grad_norm=1.0, delta=1e-3)
    cfg = fast_qlora(max_steps=4, eval_steps=None)
    job = make_job(tmp_path, data, uri, "private", config=cfg, dp=dp)

    result = train(job)

    expected = planned_epsilon(dp, sample_rate=8 / 32, steps=4)
    assert result.epsilon == pytest.approx(expected) and result.epsilon > 0
    assert result.delta == 1e-3
    card = json.loads(result.card_path.read_text())
    privacy = card["privacy"]
    assert privacy["epsilon"] == pytest.approx(expected) and privacy["delta"] == 1e-3
    assert (privacy["noise_multiplier"], privacy["sample_rate"]) == (1.1, 0.25)
    assert "RDP" in privacy["accounting"]
    # Opacus' hooks need one forward per backward: checkpointing is switched off.
    assert card["hyperparameters"]["gradient_checkpointing"] is False
    assert "epsilon" in (result.adapter_dir / "card.md").read_text()
    client = MlflowClient(uri)
    history = client.get_metric_history(result.mlflow_run_id, "epsilon")
    assert [m.step for m in history] == [1, 2, 3, 4]
    assert history[-1].value == pytest.approx(expected)
    assert client.get_run(result.mlflow_run_id).data.params["dp.delta"] == "0.001"


def test_a_run_over_the_epsilon_target_is_refused_before_training(tmp_path, data):
    dp = DPConfig(noise_multiplier=0.5, target_epsilon=1.0)
    job = make_job(tmp_path, data, "sqlite:///unused.db", "over", dp=dp)

    with pytest.raises(ConfigError, match="target_epsilon 1.0"):
        train(job)
    assert not job.output_dir.exists()
