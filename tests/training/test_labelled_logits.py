"""The output head projects only labelled positions, with the full logits' maths.

The training step asks the model for the logits of the positions whose next token
is labelled (``labelled_logits_only``); the loss and every LoRA gradient must be
those of the full logits, with the head adapted by LoRA (the tests' targets
include ``lm_head``) or frozen (params.yaml's seven projections).
"""

from __future__ import annotations

import pytest
import torch

from ragtune.tasks.training.batching import collate
from ragtune.tasks.training.data import Example
from ragtune.tasks.training.outputs import build_model
from ragtune.tasks.training.steps import labelled_logits_only, token_loss_sums

from ._sft import TARGETS, fast_qlora, single_thread

P = -100
# Prompt tokens unlabelled, answers labelled, lengths differing (so padded).
EXAMPLES = [
    Example((1, 5, 6, 7, 8, 9, 2), (P, P, P, P, 8, 9, 2)),
    Example((1, 5, 6, 10, 2), (P, P, P, 10, 2)),
    Example((1, 11, 12, 13, 14, 15, 16, 17, 2), (P, P, P, P, P, 15, 16, 17, 2)),
]


@pytest.fixture(autouse=True)
def _one_thread():
    with single_thread():
        yield


def _loss_and_grads(model, batch, narrow: bool):  # noqa: ANN001
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    context = labelled_logits_only(model, labels) if narrow else _nothing()
    with context:
        logits = model(**inputs).logits
    sums, counts = token_loss_sums(logits, labels)
    loss = sums.sum() / counts.sum()
    loss.backward()
    grads = {
        n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None
    }
    model.zero_grad(set_to_none=True)
    return logits.shape, sums.detach(), counts, grads


class _nothing:  # noqa: N801
    def __enter__(self) -> None: ...
    def __exit__(self, *exc: object) -> None: ...


@pytest.mark.parametrize("targets", [TARGETS, TARGETS[:-1]], ids=["head", "no-head"])
def test_narrowed_head_gives_the_full_logits_loss_and_gradients(targets) -> None:
    cfg = fast_qlora(target_modules=targets, lora_dropout=0.0)
    model = build_model(cfg, "cpu")
    # LoRA B starts at zero, which would leave most gradients zero on both sides.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02, generator=torch.Generator().manual_seed(1))
    model.train()
    batch = collate(((0,), (1,), (2,)), EXAMPLES, 0, packed=False)

    full_shape, full_sums, full_counts, full_grads = _loss_and_grads(
        model, batch, narrow=False
    )
    shape, sums, counts, grads = _loss_and_grads(model, batch, narrow=True)

    labelled = int(full_counts.sum())
    assert labelled == 3 + 2 + 4  # each answer's tokens after its first
    assert full_shape[:2] == batch["input_ids"].shape
    assert tuple(shape) == (labelled, full_shape[-1])  # only labelled rows
    assert torch.equal(counts, full_counts)
    torch.testing.assert_close(sums, full_sums)
    assert grads.keys() == full_grads.keys() and grads
    for name, grad in grads.items():
        torch.testing.assert_close(grad, full_grads[name], rtol=1e-4, atol=1e-7)
    head = model.get_output_embeddings()
    assert not head._forward_pre_hooks  # the hook goes with the context


def test_a_head_that_sees_other_shapes_is_left_alone() -> None:
    head = torch.nn.Linear(4, 3)
    model = torch.nn.Module()
    model.get_output_embeddings = lambda: head
    labels = torch.tensor([[P, 1, 2]])

    with labelled_logits_only(model, labels):
        # a sequence the model lengthened: the positions no longer line up
        logits = head(torch.ones(1, 5, 4))

    assert logits.shape == (1, 5, 3)
