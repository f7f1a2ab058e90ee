"""An eval pass between training steps leaves the gradients as they were.

bitsandbytes repacks 4-bit weights for a CPU inference kernel without a backward
on the first eval-mode forward (CPUs with AVX512-BF16, such as this project's);
a model prepared for QLoRA must not let it, or every step after an eval-loss
pass trains the adapters with the base's backward missing.
"""

from __future__ import annotations

import bitsandbytes as bnb
import pytest
import torch

from ragtune.tasks.training.batching import collate
from ragtune.tasks.training.data import Example
from ragtune.tasks.training.factories import keep_training_layout
from ragtune.tasks.training.outputs import build_model
from ragtune.tasks.training.steps import token_loss_sums

from ._sft import fast_qlora, single_thread

P = -100
EXAMPLES = [
    Example((1, 5, 6, 7, 8, 9, 2), (P, P, P, P, 8, 9, 2)),
    Example((1, 11, 12, 13, 14, 15, 16, 17, 2), (P, P, P, P, P, 15, 16, 17, 2)),
]


def _grads(model) -> dict[str, torch.Tensor]:  # noqa: ANN001
    batch = collate(((0,), (1,)), EXAMPLES, 0, packed=False)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    sums, counts = token_loss_sums(model(**inputs).logits, batch["labels"])
    (sums.sum() / counts.sum()).backward()
    grads = {
        n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None
    }
    model.zero_grad(set_to_none=True)
    return grads


def _eval_pass(model) -> None:  # noqa: ANN001
    model.eval()
    with torch.no_grad():
        model(input_ids=torch.tensor([[1, 5, 6, 7]]))
    model.train()


def _layers(model) -> list:  # noqa: ANN001
    return [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]


def test_gradients_after_an_eval_pass_equal_those_before() -> None:
    with single_thread():
        model = build_model(fast_qlora(), "cpu")
        layers = _layers(model)
        assert layers and not any(m.support_avx512bf16_for_cpu for m in layers)
        shapes = [tuple(m.weight.shape) for m in layers]
        before = _grads(model)
        _eval_pass(model)
        after = _grads(model)
    assert [tuple(m.weight.shape) for m in layers] == shapes  # not repacked
    first = min(n for n in before if "lora_B" in n and "layers.0." in n)
    assert before[first].abs().sum() > 0  # the first layer's adapter learns
    assert before.keys() == after.keys()
    for name, grad in before.items():
        torch.testing.assert_close(after[name], grad, msg=name)


def test_without_the_pin_this_cpu_repacks_and_loses_the_backward() -> None:
    """The failure the pin prevents, where this CPU has the kernel."""
    with single_thread():
        model = build_model(fast_qlora(), "cpu")
        layers = _layers(model)
        for m in layers:
            m.support_avx512bf16_for_cpu = True
        if not bnb.functional.has_avx512bf16():
            pytest.skip("this CPU has no AVX512-BF16: bitsandbytes never repacks")
        before = _grads(model)
        _eval_pass(model)
        after = _grads(model)
        assert keep_training_layout(model) == len(layers)
    assert any(tuple(m.weight.shape) != (m.weight.numel(), 1) for m in layers)
    changed = [n for n in before if not torch.allclose(before[n], after[n])]
    assert changed  # without the pin the gradients are not those of the model
