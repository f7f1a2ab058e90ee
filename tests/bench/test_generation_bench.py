"""The generation-overhead benchmark on the tiny model, so it cannot rot unnoticed
(the figure itself comes from ``python -m bench.generation`` on the real model)."""

from __future__ import annotations

import json

from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.generation.factory import build_generator
from ragtune.tasks.training.config import QLoRAConfig


def test_both_sides_decode_the_same_number_of_tokens(bench, tmp_path):
    gen = build_generator(
        GenerationConfig(provider="tiny"), QLoRAConfig(load_in_4bit=False), device="cpu"
    )
    messages = bench.generation.prompts()[0]

    raw = bench.generation.raw_generate(gen, messages, 6)
    ours = bench.generation.ragtune_generate(gen, messages, 6)

    assert raw == ours == 6  # min_new_tokens: neither side may stop early
    assert gen.model.generation_config.min_new_tokens is None  # restored


def test_report_has_both_rates_and_their_ratio(bench, tmp_path, capsys):
    out = tmp_path / "gen.json"

    assert (
        bench.generation.main(
            ["--tiny", "--rounds", "1", "--new-tokens", "4", "--json", str(out)]
        )
        == 0
    )

    report = json.loads(out.read_text())
    rates = report["tokens_per_s"]
    assert set(rates) == {"raw", "ragtune"} and all(r > 0 for r in rates.values())
    assert report["ragtune_vs_raw"] == rates["ragtune"] / rates["raw"]
    assert len(report["samples"]["raw"]) == len(bench.generation.QUESTIONS)
    assert "ragtune / raw" in capsys.readouterr().out
