"""Training throughput: ragtune's QLoRA loop vs a plain ``transformers.Trainer``.

Both sides train the same model object (the shipped SmolLM2-135M-Instruct, its
GGUF de-quantised and re-quantised to NF4, with the LoRA adapters of params.yaml's
``training:`` section, built once by ragtune's ``build_model``; the tiny
random-weight model with ``--model tiny``), reset to the same initial LoRA weights
before every run. They see the same examples (the sample SFT set, tokenised and
truncated once by ragtune's ``load_chat_dataset``) in the same batches: the
Trainer gets ragtune's batch order as a dataset read sequentially and pads it with
``DataCollatorForSeq2Seq``, which builds the same tensors as ragtune's collator.
Settings are params.yaml's: batch, accumulation, learning rate and schedule,
warm-up, AdamW (torch's, weight decay 0.01 on both), gradient clipping, seed; each
side writes one checkpoint, at its last step.

A side's figure is non-padding tokens trained on / wall seconds of its training
call (``fit`` vs ``Trainer.train``; model load and tokenisation excluded). Sides
alternate in rotated order in one process, so machine noise hits both alike;
ragtune / trainer > 1 means ragtune is faster.

    python -m bench.training --out bench/results/training-cpu.json
    python -m bench.training --model tiny --rounds 1 --steps 2   # smoke, seconds
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import logging
import math
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import accelerate
import bitsandbytes
import peft
import torch
import transformers
from transformers import (
    DataCollatorForSeq2Seq,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from ragtune.app.settings import load_settings
from ragtune.tasks.training.batching import make_plan
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.data import IGNORE_INDEX, Example, load_chat_dataset
from ragtune.tasks.training.factories import set_threads
from ragtune.tasks.training.outputs import build_model, pad_id
from ragtune.tasks.training.preflight import load_tokenizer
from ragtune.tasks.training.steps import FitData
from ragtune.tasks.training.trainer import fit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data/sft/build/train.jsonl"
SIDES = ("ragtune", "trainer")
TINY = {"base_model": None, "gguf_file": None, "revision": None}
# ragtune's names -> the Trainer's for the same optimizer and schedule.
TRAINER_OPTIM = {
    "adamw_torch": "adamw_torch",
    "adamw_8bit": "adamw_bnb_8bit",
    "paged_adamw_8bit": "paged_adamw_8bit",
}
TRAINER_SCHEDULE = {
    "cosine": "cosine",
    "linear": "linear",
    "constant": "constant_with_warmup",
}
# torch.optim.AdamW's default, which ragtune's build_optimizer inherits; the
# Trainer's default is 0, so it is passed explicitly.
ADAMW_WEIGHT_DECAY = 0.01
MIB = 2**20
# The settings that shape the work of a step, copied into the report.
REPORTED = set(
    "load_in_4bit quant_type double_quant compute_dtype lora_r lora_alpha "
    "lora_dropout target_modules gradient_checkpointing max_seq_len batch_size "
    "gradient_accumulation_steps learning_rate optim lr_scheduler warmup_ratio "
    "max_grad_norm seed".split()
)
# transformers 5.2x renamed the argument; older 5.x releases only have this one.
CHECKPOINTING = (
    "activation_checkpointing"
    if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
    else "gradient_checkpointing"
)


@dataclass
class Setup:
    """What both sides share: config, model, tokenizer, data, the batch order."""

    cfg: QLoRAConfig
    model: Any
    tokenizer: Any
    examples: list[Example]
    order: list[int]  # example indices of the first ``steps`` steps, in order
    pad_id: int
    initial: dict[str, torch.Tensor]  # LoRA weights before any training
    data: Path


def config(model: str, steps: int) -> QLoRAConfig:
    """params.yaml's training section for ``steps`` steps, one save at the end."""
    cfg = load_settings(ROOT / "params.yaml", env={}).training
    update: dict[str, Any] = {"max_steps": steps, "save_steps": steps}
    if model == "tiny":
        update |= TINY
    return QLoRAConfig.model_validate(cfg.model_dump() | update)


def batch_order(cfg: QLoRAConfig, examples: Sequence[Example]) -> list[int]:
    """The example indices ragtune's loop trains on, in its order.

    Raises:
        ValueError: a short micro-batch (the end of a length window) falls within
            the run; read sequentially the Trainer would regroup the rest.
    """
    plan = make_plan(cfg, examples, dp=False)
    micro = cfg.max_steps * cfg.gradient_accumulation_steps
    order = []
    for position in range(micro):
        batch = plan.at(position)
        if len(batch) != cfg.batch_size:
            raise ValueError(
                f"micro-batch {position} holds {len(batch)} examples, not "
                f"{cfg.batch_size}; choose another --steps"
            )
        order += [index for row in batch for index in row]
    return order


def prepare(cfg: QLoRAConfig, data: Path = DATA) -> Setup:
    """Tokenise the data and build the model once (the part neither side times).

    Raises:
        SystemExit: the data file is missing (the sample set is a DVC output).
    """
    if not data.is_file():
        raise SystemExit(
            f"{data} does not exist; build the sample SFT set first "
            "(`dvc repro build_sft` or `ragtune dataset build`), or pass --data"
        )
    tokenizer = load_tokenizer(cfg)
    tokenizer.padding_side = "right"  # as ragtune's collator pads
    examples = load_chat_dataset(data, tokenizer, cfg.max_seq_len).examples
    order = batch_order(cfg, examples)
    model = build_model(cfg, "cpu")
    initial = {
        name: p.detach().clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }
    pad = pad_id(tokenizer)
    return Setup(cfg, model, tokenizer, examples, order, pad, initial, data)


def reset(setup: Setup) -> None:
    """Put the LoRA weights back where they started; drop any gradients."""
    params = dict(setup.model.named_parameters())
    with torch.no_grad():
        for name, value in setup.initial.items():
            params[name].copy_(value)
    setup.model.zero_grad(set_to_none=True)


class _PeakRss:
    """Peak resident memory while the block runs, sampled every 20 ms (Linux)."""

    def __init__(self) -> None:
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _rss() -> int:
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            return 0
        return pages * resource.getpagesize()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> _PeakRss:
        self.start = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


class _StepTimes(TrainerCallback):
    """Seconds of each Trainer step (batch fetch excluded, like ragtune's)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.losses: list[float] = []
        self._began = 0.0

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: ANN001
        self._began = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        self.times.append(time.perf_counter() - self._began)

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))


class _StepSink:
    """ragtune's metrics sink: keeps each step's time."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.times.append(metrics["step_time_s"])


def run_ragtune(setup: Setup, workdir: Path) -> dict[str, Any]:
    """ragtune's ``fit``, as the training entrypoint calls it (no eval set)."""
    data = FitData(train=setup.examples, eval=[], pad_id=setup.pad_id)
    sink = _StepSink()
    started, cpu = time.perf_counter(), time.process_time()
    outcome = fit(setup.model, data, setup.cfg, workdir / "checkpoints", "bench",
                  sink=sink)  # fmt: skip
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    state = outcome.state
    return {
        "steps": state.step,
        "tokens": state.tokens_seen,
        "seconds": seconds,
        "cpu_s": cpu_s,
        "step_s": sink.times,
        "losses": state.losses,
    }


class _Ordered(torch.utils.data.Dataset):
    """The examples in ragtune's batch order, as the Trainer's collator takes them."""

    def __init__(self, examples: Sequence[Example], order: Sequence[int]) -> None:
        self.rows = [examples[i] for i in order]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        ex = self.rows[i]
        return {"input_ids": list(ex.input_ids), "labels": list(ex.labels)}


def trainer_arguments(cfg: QLoRAConfig, workdir: Path) -> TrainingArguments:
    """``cfg`` in the Trainer's terms, on the CPU, fp32, without extras."""
    steps = cfg.max_steps
    assert steps is not None
    return TrainingArguments(
        output_dir=str(workdir),
        max_steps=steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=TRAINER_SCHEDULE[cfg.lr_scheduler],
        warmup_steps=math.ceil(cfg.warmup_ratio * steps),  # ragtune's rounding
        optim=TRAINER_OPTIM[cfg.optim],
        weight_decay=ADAMW_WEIGHT_DECAY,
        max_grad_norm=cfg.max_grad_norm or 0.0,
        **{CHECKPOINTING: cfg.gradient_checkpointing},
        seed=cfg.seed,
        use_cpu=True,
        train_sampling_strategy="sequential",  # ragtune's order, as given
        include_num_input_tokens_seen="non_padding",
        save_strategy="steps",
        save_steps=cfg.save_steps,
        logging_strategy="steps",
        logging_steps=1,  # ragtune reads every step's loss too
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def run_trainer(setup: Setup, workdir: Path) -> dict[str, Any]:
    """A plain ``Trainer`` over the same model, batches and settings."""
    collator = DataCollatorForSeq2Seq(
        setup.tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX
    )
    timer = _StepTimes()
    trainer = Trainer(
        model=setup.model,
        args=trainer_arguments(setup.cfg, workdir),
        train_dataset=_Ordered(setup.examples, setup.order),
        data_collator=collator,
        processing_class=setup.tokenizer,
        callbacks=[timer],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every step's log line
    started, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {
        "steps": trainer.state.global_step,
        "tokens": int(trainer.state.num_input_tokens_seen),
        "seconds": seconds,
        "cpu_s": cpu_s,
        "step_s": timer.times,
        "losses": timer.losses,
    }


RUNNERS: dict[str, Callable[[Setup, Path], dict[str, Any]]] = {
    "ragtune": run_ragtune,
    "trainer": run_trainer,
}


def measure(setup: Setup, side: str) -> dict[str, Any]:
    """One run of one side from the initial LoRA weights, with its peak RSS."""
    reset(setup)
    gc.collect()
    with tempfile.TemporaryDirectory(prefix=f"bench-{side}-") as tmp, _PeakRss() as rss:
        result = RUNNERS[side](setup, Path(tmp))
    result["tokens_per_s"] = result["tokens"] / result["seconds"]
    # CPU seconds of the process: less swayed by other work on a shared machine
    result["tokens_per_cpu_s"] = result["tokens"] / result["cpu_s"]
    # set-up, checkpoint and bookkeeping: the call's time outside its steps
    result["outside_steps_s"] = result["seconds"] - sum(result["step_s"])
    result["peak_rss_mib"] = rss.peak / MIB
    result["start_rss_mib"] = rss.start / MIB  # the process before the run
    return result


def run(setup: Setup, rounds: int) -> dict[str, Any]:
    """A one-step warm-up of each side, then ``rounds`` rounds in rotated order."""
    steps = setup.cfg.max_steps
    warm = setup.cfg.model_copy(update={"max_steps": 1, "save_steps": 1})
    full = setup.cfg
    setup.cfg = warm  # first-call allocations and lazy imports on both paths
    order, setup.order = setup.order, setup.order[: warm.batch_size]
    for side in SIDES:
        measure(setup, side)
    setup.cfg, setup.order = full, order
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for r in range(rounds):
        for side in SIDES if r % 2 == 0 else tuple(reversed(SIDES)):
            runs[side].append(measure(setup, side))
            rate = runs[side][-1]["tokens_per_s"]
            print(f"round {r + 1} {side}: {rate:.1f} tokens/s", flush=True)
    return report(setup, steps, rounds, runs)


def report(
    setup: Setup, steps: int | None, rounds: int, runs: dict[str, list[dict]]
) -> dict[str, Any]:
    """Per-round figures, medians and the ratio, with what produced them."""
    cfg = setup.cfg
    medians = {
        side: statistics.median(r["tokens_per_s"] for r in rs)
        for side, rs in runs.items()
    }
    cpu_medians = {
        side: statistics.median(r["tokens_per_cpu_s"] for r in rs)
        for side, rs in runs.items()
    }
    step_medians = {
        side: statistics.median(t for r in rs for t in r["step_s"])
        for side, rs in runs.items()
    }
    return {
        "model": f"{cfg.base_model}/{cfg.gguf_file}" if cfg.base_model else "tiny",
        "data": _shown(setup.data),
        "data_sha256": hashlib.sha256(setup.data.read_bytes()).hexdigest(),
        "examples": len(setup.examples),
        "steps": steps,
        "rounds": rounds,
        "settings": cfg.model_dump(mode="json", include=REPORTED),
        "tokens_per_run": {side: rs[0]["tokens"] for side, rs in runs.items()},
        "tokens_per_s": medians,
        "ragtune_vs_trainer": medians["ragtune"] / medians["trainer"],
        "tokens_per_cpu_s": cpu_medians,
        "ragtune_vs_trainer_cpu": cpu_medians["ragtune"] / cpu_medians["trainer"],
        # each round's two runs are adjacent in time: the least noisy pairing
        "round_ratios": [
            a["tokens_per_s"] / b["tokens_per_s"]
            for a, b in zip(runs["ragtune"], runs["trainer"], strict=True)
        ],
        "step_s_median": step_medians,
        "peak_rss_mib": {
            side: max(r["peak_rss_mib"] for r in rs) for side, rs in runs.items()
        },
        # what a run added on top of the process it started in
        "rss_growth_mib": {
            side: max(r["peak_rss_mib"] - r["start_rss_mib"] for r in rs)
            for side, rs in runs.items()
        },
        "runs": runs,
        "torch_threads": torch.get_num_threads(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "accelerate": accelerate.__version__,
            "bitsandbytes": bitsandbytes.__version__,
        },
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else path)


def _quiet() -> None:
    # The Trainer's and peft's advice (and bitsandbytes' CPU kernel notice) would
    # bury the table; none of it changes what is measured.
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    for name in ("ragtune", "transformers", "peft", "bitsandbytes", "accelerate"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps a run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", choices=("smollm2", "tiny"), default="smollm2")
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: params.yaml's)"
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="chat JSONL (default: the sample set)"
    )
    parser.add_argument("--out", type=Path, help="write the report here (JSON)")
    args = parser.parse_args(argv)
    cfg = config(args.model, args.steps)
    set_threads(args.threads or cfg.num_threads)
    report = run(prepare(cfg, args.data), args.rounds)
    print(
        f"model {report['model']}, {args.steps} steps x batch {cfg.batch_size}, "
        f"{report['tokens_per_run']['ragtune']} tokens a run, CPU, "
        f"{report['torch_threads']} thread(s)"
    )
    header = f"{'tokens/s per round':>28}{'median':>10}{'peak MiB':>10}{'+MiB':>8}"
    print(f"{'side':<10}{header}")
    for side in SIDES:
        rates = " ".join(f"{r['tokens_per_s']:.1f}" for r in report["runs"][side])
        median, peak = report["tokens_per_s"][side], report["peak_rss_mib"][side]
        growth = report["rss_growth_mib"][side]
        print(f"{side:<10}{rates:>28}{median:>10.1f}{peak:>10.0f}{growth:>8.0f}")
    rounds = " ".join(f"{ratio:.3f}" for ratio in report["round_ratios"])
    print(
        f"ragtune / trainer = {report['ragtune_vs_trainer']:.3f} (target >= 1; "
        f"per round {rounds}); per CPU second "
        f"{report['ragtune_vs_trainer_cpu']:.3f}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    _quiet()  # here, not in main(): the test calls main() inside pytest
    sys.exit(main())
