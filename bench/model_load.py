"""Model start-up: the packaged GGUF de-quantised on every load vs its cached copy.

What a user waits for before the first answer of ``ragtune eval``, ``decide`` or
``serve``: the shipped generator built from params.yaml's ``generation`` and
``training`` sections (tokenizer, weights, chat template). One side loads with
``RAGTUNE_MODEL_CACHE=off`` (transformers de-quantises the GGUF file), the other
reads the per-machine copy (``tasks/training/gguf_cache.py``), made before the
first round so the figure is the steady state. Rounds alternate in one process;
the figure is the ratio of the medians.

    python -m bench.model_load --json bench/results/model-load-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.stamp import cpu_stamp
from ragtune.app.settings import load_settings
from ragtune.tasks.generation.factory import build_generator
from ragtune.tasks.training.gguf_cache import CACHE_ENV

ROOT = Path(__file__).resolve().parents[1]


def load_seconds(cache: str) -> float:
    """Seconds to build the shipped generator with ``RAGTUNE_MODEL_CACHE=cache``."""
    os.environ[CACHE_ENV] = cache
    settings = load_settings(ROOT / "params.yaml", env={})
    start = time.perf_counter()
    generator = build_generator(settings.generation, settings.training, root=ROOT)
    seconds = time.perf_counter() - start
    del generator
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as cache:
        first = load_seconds(cache)  # converts once: not a round
        sides: dict[str, list[float]] = {"gguf": [], "cached": []}
        for i in range(args.rounds):
            order = ["gguf", "cached"] if i % 2 == 0 else ["cached", "gguf"]
            for side in order:
                sides[side].append(load_seconds("off" if side == "gguf" else cache))
    medians = {k: statistics.median(v) for k, v in sides.items()}
    ratio = medians["gguf"] / medians["cached"]
    print(f"first load (converts): {first:.1f} s")  # noqa: T201
    for side, times in sides.items():
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{side:7s} median {medians[side]:.2f} s ({runs})")  # noqa: T201
    print(f"speed-up {ratio:.1f}x")  # noqa: T201
    if args.json:
        result = {
            **cpu_stamp(),
            "first_load_s": round(first, 2),
            "seconds": {k: [round(t, 3) for t in v] for k, v in sides.items()},
            "median_s": {k: round(v, 3) for k, v in medians.items()},
            "speedup": round(ratio, 1),
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
