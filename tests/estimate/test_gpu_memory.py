"""On a real GPU, a full fine-tuning step peaks where the memory model says.

The model is Llama-2-7B's shape with random weights (no download), in bf16, with
gradient accumulation over two micro-batches so the gradients of the first are
alive during the second's backward: the moment the estimator's sum describes.
Tokens/s is logged so the `full` utilization in EstimatorConfig can be checked.
"""

from __future__ import annotations

import logging
import time

import pytest

torch = pytest.importorskip("torch")

from ragtune.tasks.estimate.config import EstimatorConfig  # noqa: E402
from ragtune.tasks.estimate.memory import GIB, estimate_memory  # noqa: E402
from ragtune.tasks.estimate.shapes import NAMED_SHAPES, ModelShape  # noqa: E402
from ragtune.tasks.estimate.throughput import training_flops_per_token  # noqa: E402
from ragtune.tasks.estimate.workload import TrainingSetup  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]
log = logging.getLogger(__name__)
TOLERANCE = 0.10


def _llama(shape: ModelShape):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=4096,
        tie_word_embeddings=shape.tied_embeddings,
        use_cache=False,
    )
    torch.manual_seed(0)
    with torch.device("cuda"):
        return LlamaForCausalLM._from_config(config, dtype=torch.bfloat16)


def _optimizer(model, name: str):
    if name == "adamw_torch":
        return torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    bnb = pytest.importorskip("bitsandbytes")
    return bnb.optim.AdamW8bit(model.parameters(), lr=1e-5)


def _run(model, opt, setup: TrainingSetup, steps: int) -> float:
    ids = torch.randint(0, model.config.vocab_size, (setup.batch_size, setup.seq_len))
    ids = ids.cuda()
    start = time.perf_counter()
    for _ in range(steps):
        for _ in range(2):
            (model(input_ids=ids, labels=ids).loss / 2).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return time.perf_counter() - start


@pytest.mark.parametrize(
    ("optimizer", "seq_len", "batch", "checkpointing"),
    [
        ("adamw_8bit", 2048, 2, True),
        ("adamw_torch", 1024, 4, True),
        ("adamw_torch", 512, 2, False),
    ],
)
def test_full_finetune_7b_peak_matches_estimate(
    optimizer, seq_len, batch, checkpointing
):
    shape = NAMED_SHAPES["7B"]
    setup = TrainingSetup(
        method="full",
        precision="bf16",
        optimizer=optimizer,
        seq_len=seq_len,
        batch_size=batch,
        gradient_checkpointing=checkpointing,
    )
    model = _llama(shape)
    if checkpointing:
        model.gradient_checkpointing_enable({"use_reentrant": False})
    model.train()
    opt = _optimizer(model, optimizer)
    try:
        torch.cuda.reset_peak_memory_stats()
        _run(model, opt, setup, steps=2)  # states exist from the first step on
        peak = torch.cuda.max_memory_allocated() / GIB
        seconds = _run(model, opt, setup, steps=3)
    finally:
        del model, opt
        torch.cuda.empty_cache()
    predicted = estimate_memory(shape, setup, 1, EstimatorConfig()).tensors_gib
    tokens_per_s = 3 * 2 * setup.micro_batch_tokens / seconds
    peak_tflops = 989 if "H100" in torch.cuda.get_device_name() else None
    flops = training_flops_per_token(shape, setup) * tokens_per_s / 1e12
    log.warning(
        "7B full %s seq %s x %s ckpt=%s: peak %.2f GiB, predicted %.2f GiB; "
        "%.0f tokens/s = %.0f TFLOP/s (%s of peak)",
        optimizer,
        seq_len,
        batch,
        checkpointing,
        peak,
        predicted,
        tokens_per_s,
        flops,
        f"{flops / peak_tflops:.2f}" if peak_tflops else "?",
    )
    assert abs(predicted / peak - 1) <= TOLERANCE
