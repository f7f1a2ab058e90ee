"""Generation overhead: ragtune's HF generator vs a bare ``model.generate`` loop.

Both sides use the same loaded model (the shipped SmolLM2-135M-Instruct unless
``--tiny``), the same chat-templated prompts (the repo's RAG template over the
sample eval set's retrieved-looking passages) and greedy decoding of the same
number of new tokens. They run alternately, in rotated order, in one process, so
machine noise hits both alike; the figure is the ratio of their token rates.
ragtune's side adds its stop-string checks, the seeded RNG fork, decoding of the
text and the token accounting a user gets in every ``Generation``.

    python -m bench.generation --json bench/results/generation-cpu.json
    python -m bench.generation --tiny --rounds 1       # smoke run, seconds
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ragtune.tasks.generation.base import GenerationParams, Message
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.generation.factory import build_generator
from ragtune.tasks.generation.hf import HFGenerator
from ragtune.tasks.generation.prompts import ContextSource, PromptTemplate
from ragtune.tasks.training.config import QLoRAConfig

ROOT = Path(__file__).resolve().parents[1]
PASSAGES = [
    ("complaints-handling-procedure", "A complaint is acknowledged in writing within "
     "three business days. A final response is issued within 8 weeks."),
    ("aml-customer-due-diligence-policy", "Customer files are refreshed on a fixed "
     "cycle: high-risk customers every 12 months, medium-risk every 3 years."),
    ("harbour-saver-rates", "The Harbour Saver pays 3.10% AER on balances from "
     "EUR 1, with a 0.50% bonus in the first year."),
    ("mortgage-affordability-rules-2026", "Affordability is tested at the "
     "reversion rate plus 3 percentage points, or 7% if that is higher."),
]  # fmt: skip
QUESTIONS = [
    "How long do we have to send a final response to a complaint?",
    "How often must we refresh the file of a high-risk customer?",
    "What does the Harbour Saver pay?",
    "What stress rate applies in the affordability test?",
]


def prompts() -> list[list[Message]]:
    """One RAG prompt per question, rendered by the repo's template."""
    template = PromptTemplate.load(ROOT / "data/prompts/answer_with_context.j2")
    sources = [ContextSource(doc, text) for doc, text in PASSAGES]
    return [template.render(q, sources) for q in QUESTIONS]


def raw_generate(gen: HFGenerator, messages: list[Message], new_tokens: int) -> int:
    """The baseline: chat template, ``model.generate`` greedy, decode; new tokens."""
    chat = [{"role": m.role, "content": m.content} for m in messages]
    enc = gen.tokenizer.apply_chat_template(
        chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        out = gen.model.generate(
            **enc,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            use_cache=True,
            pad_token_id=gen.tokenizer.pad_token_id,
        )
    new = out[0, enc["input_ids"].shape[1] :]
    gen.tokenizer.decode(new, skip_special_tokens=True)
    return int(new.shape[0])


def ragtune_generate(gen: HFGenerator, messages: list[Message], new_tokens: int) -> int:
    """ragtune's path with a stop string that never occurs, so both decode alike."""
    params = GenerationParams(max_new_tokens=new_tokens, stop=("\nQuestion:",))
    # min_new_tokens keeps the end-of-sequence token from ending one side early.
    gen.model.generation_config.min_new_tokens = new_tokens
    try:
        return gen.generate(messages, params).tokens_out
    finally:
        gen.model.generation_config.min_new_tokens = None


SIDES = {"raw": raw_generate, "ragtune": ragtune_generate}


def run(gen: HFGenerator, rounds: int, new_tokens: int) -> dict[str, Any]:
    """Alternate the sides over every prompt for ``rounds`` rounds."""
    batch = prompts()
    for messages in batch[:1]:  # warm-up: first-call allocations on both paths
        for fn in SIDES.values():
            fn(gen, messages, 4)
    rates: dict[str, list[float]] = {name: [] for name in SIDES}
    for r in range(rounds):
        order = list(SIDES) if r % 2 == 0 else list(reversed(SIDES))
        for messages in batch:
            for name in order:
                gc.collect()
                start = time.perf_counter()
                tokens = SIDES[name](gen, messages, new_tokens)
                rates[name].append(tokens / (time.perf_counter() - start))
    medians = {name: statistics.median(v) for name, v in rates.items()}
    return {
        "model": gen.name,
        "new_tokens": new_tokens,
        "rounds": rounds,
        "prompts": len(batch),
        "tokens_per_s": medians,
        "ragtune_vs_raw": medians["ragtune"] / medians["raw"],
        "overhead_pct": 100 * (1 - medians["ragtune"] / medians["raw"]),
        "samples": rates,
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--tiny", action="store_true", help="random tiny model")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    cfg = GenerationConfig(provider="tiny") if args.tiny else GenerationConfig()
    gen = build_generator(cfg, QLoRAConfig(load_in_4bit=False), device="cpu")
    report = run(gen, args.rounds, args.new_tokens)
    rates = report["tokens_per_s"]
    print(f"model {report['model']}, {args.new_tokens} new tokens, greedy, CPU")
    print(f"{'side':<10}{'tokens/s (median)':>20}")
    for name, rate in rates.items():
        print(f"{name:<10}{rate:>20.1f}")
    print(
        f"ragtune / raw = {report['ragtune_vs_raw']:.3f} "
        f"(overhead {report['overhead_pct']:+.1f}%, target < 5%)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
