"""QLoRA tokens/s and peak GPU memory on a Llama-2-7B-shaped model.

The model has Llama-2-7B's dimensions and random weights built from a config (no
download): bf16 on the GPU, then reloaded through ``from_pretrained`` with NF4
double quantisation, the path a real checkpoint takes. LoRA r=16 on every linear
layer, bf16 autocast, 8-bit AdamW; each case runs warm-up steps, then timed steps.

    python bench/qlora.py --json bench/results/qlora-h100.json   # GPU, ~5 min
    python bench/qlora.py --tiny                                 # CPU smoke figure

Anchors (published elsewhere, other cards and settings; ratios are indicative):
LLaMA-Factory ~2,400 tokens/s at ~9 GB on an A100-40GB, torchtune ~9.3 GB peak,
Unsloth ~3,700 tokens/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import logging
import platform
import sys
import time
from pathlib import Path

import bitsandbytes
import peft
import torch
import transformers

from ragtune.tasks.training.config import QLoRAConfig, TinyModelConfig
from ragtune.tasks.training.factories import (
    load_base_model,
    prepare_for_qlora,
    set_gradient_checkpointing,
)
from ragtune.tasks.training.steps import Run, new_run, train_step

LLAMA2_7B = TinyModelConfig(
    vocab_size=32000,
    hidden_size=4096,
    num_layers=32,
    num_heads=32,
    intermediate_size=11008,
    max_position_embeddings=4096,
)
SMOKE = TinyModelConfig(
    vocab_size=512, hidden_size=128, num_layers=2, num_heads=4, intermediate_size=256
)
# (seq_len, batch): the asked-for grid, then two larger probes to find the edge.
GPU_CASES = [(512, 1), (512, 4), (512, 8), (2048, 1), (2048, 2), (512, 16), (2048, 4)]
TINY_CASES = [(128, 4)]
ANCHORS = {
    "llama_factory": {"tokens_per_s": 2400, "peak_gb": 9.0, "card": "A100-40GB"},
    "torchtune": {"peak_gb": 9.3},
    "unsloth": {"tokens_per_s": 3700},
}
GIB = 2**30


def synthetic_batches(
    vocab_size: int,
    batch_size: int,
    seq_len: int,
    count: int,
    seed: int,
    device: str | torch.device = "cpu",
) -> list[dict[str, torch.Tensor]]:
    """``count`` causal-LM batches of uniform random tokens, labels = inputs:
    enough to measure speed and memory, and whether LoRA weights learn."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        ids = torch.randint(0, vocab_size, (batch_size, seq_len), generator=generator)
        ids = ids.to(device)
        batches.append({"input_ids": ids, "labels": ids})
    return batches


def _cuda_sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _timed_steps(run: Run, data, steps, device):  # noqa: ANN001
    # train_step reads the loss and the norm as floats, so each step ends on a
    # sync; the explicit sync only guards the first timestamp against queued
    # warm-up work.
    times, loss = [], float("nan")
    _cuda_sync(device)
    for _ in range(steps):
        start = time.perf_counter()
        loss, _ = train_step(run, data)
        _cuda_sync(device)
        times.append(time.perf_counter() - start)
    return times, loss


def run_case(model, cfg, device, seq, batch, checkpointing, warmup, steps) -> dict:
    """Time ``steps`` optimizer steps after ``warmup``; an OOM is a result, too."""
    row = {"seq_len": seq, "batch": batch, "grad_checkpointing": checkpointing}
    set_gradient_checkpointing(model, checkpointing)
    _free(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    data = synthetic_batches(cfg.tiny.vocab_size, batch, seq, 1, cfg.seed, device)
    run = new_run(model, cfg)  # the production step: its loss, clipping, head
    try:
        for _ in range(warmup):
            train_step(run, data)
        times, loss = _timed_steps(run, data, steps, device)
    except torch.OutOfMemoryError:
        row["status"] = "oom"
    else:
        times.sort()
        row |= {
            "status": "ok",
            "steps": steps,
            "seconds": round(sum(times), 3),
            "tokens_per_s": round(batch * seq * steps / sum(times), 1),
            "step_s_min": round(times[0], 3),
            "step_s_median": round(times[len(times) // 2], 3),
            "step_s_max": round(times[-1], 3),
            "last_loss": round(loss, 4),
        }
    finally:
        del run, data
        model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        row["peak_gib"] = round(torch.cuda.max_memory_allocated(device) / GIB, 2)
    _free(device)
    return row


def ratios(row: dict) -> dict:
    """Measured / anchor: above 1 means faster (tokens/s) or hungrier (memory)."""
    out = {}
    if row.get("status") != "ok":
        return out
    for name, anchor in ANCHORS.items():
        if "tokens_per_s" in anchor:
            out[f"tokens_vs_{name}"] = round(
                row["tokens_per_s"] / anchor["tokens_per_s"], 2
            )
        if "peak_gib" in row and "peak_gb" in anchor:
            out[f"memory_vs_{name}"] = round(row["peak_gib"] / anchor["peak_gb"], 2)
    return out


def environment(device: torch.device) -> dict:
    """What produced the numbers: card, library versions, date."""
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "device": card,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "bitsandbytes": bitsandbytes.__version__,
        "command": " ".join(["python", *sys.argv]),
    }


def bench_config(tiny: bool, optim: str) -> QLoRAConfig:
    """LoRA r=16 (alpha 32) on all linear layers; bf16 on GPU, fp32 on CPU."""
    return QLoRAConfig(
        tiny=SMOKE if tiny else LLAMA2_7B,
        lora_r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        target_modules="all-linear",
        compute_dtype="fp32" if tiny else "bf16",
        optim=optim,
        seed=0,
    )


def load(cfg: QLoRAConfig, device: torch.device) -> tuple[object, dict]:
    """Build, quantise and wrap the model; report how long and how much memory."""
    start = time.perf_counter()
    model = prepare_for_qlora(load_base_model(cfg, device=device), cfg)
    _cuda_sync(device)
    trainable, total = model.get_nb_trainable_parameters()
    info = {
        "load_seconds": round(time.perf_counter() - start, 1),
        "trainable_params": trainable,
        "total_params": total,
    }
    if device.type == "cuda":
        _free(device)
        info["weights_gib"] = round(torch.cuda.memory_allocated(device) / GIB, 2)
    return model, info


def print_table(rows: list[dict]) -> None:
    head = f"{'seq':>5} {'batch':>5} {'ckpt':>5} {'tokens/s':>9} {'peak GiB':>9}"
    print(head + "  x LF tok  x Unsloth  x LF mem  x tt mem")
    for row in rows:  # ratio keys are merged into each row (absent for --tiny)
        tok = row.get("tokens_per_s", row["status"].upper())
        print(
            f"{row['seq_len']:>5} {row['batch']:>5} {str(row['grad_checkpointing']):>5}"
            f" {tok:>9} {row.get('peak_gib', '-'):>9}"
            f"  {row.get('tokens_vs_llama_factory', '-'):>8}"
            f"  {row.get('tokens_vs_unsloth', '-'):>9}"
            f"  {row.get('memory_vs_llama_factory', '-'):>8}"
            f"  {row.get('memory_vs_torchtune', '-'):>8}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--device", help="default: cuda, or cpu with --tiny")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument(
        "--cases", help="comma-separated SEQxBATCH, e.g. 512x4,2048x2 (default: grid)"
    )
    parser.add_argument(
        "--optim",
        default="adamw_8bit",
        choices=["adamw_torch", "adamw_8bit", "paged_adamw_8bit"],
    )
    return parser.parse_args(argv)


def _cases(args: argparse.Namespace) -> list[tuple[int, int]]:
    if args.cases:
        return [tuple(int(v) for v in c.split("x")) for c in args.cases.split(",")]
    return TINY_CASES if args.tiny else GPU_CASES


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    device = torch.device(args.device or ("cpu" if args.tiny else "cuda"))
    cfg = bench_config(args.tiny, args.optim)
    model, info = load(cfg, device)
    print(f"loaded in {info['load_seconds']} s: {info}", flush=True)
    rows = []
    for checkpointing in (True, False):
        for seq, batch in _cases(args):
            row = run_case(
                model, cfg, device, seq, batch, checkpointing, args.warmup, args.steps
            )
            # Ratios to 7B anchors mean nothing for the CPU smoke model.
            rows.append(row if args.tiny else row | ratios(row))
            print(json.dumps(rows[-1]), flush=True)
    print_table(rows)
    result = {
        "benchmark": "qlora-tiny-cpu" if args.tiny else "qlora-llama2-7b-shape",
        "environment": environment(device),
        "model": cfg.tiny.model_dump(),
        "config": cfg.model_dump(exclude={"tiny"}),
        "load": info,
        "anchors": ANCHORS,
        "cases": rows,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
