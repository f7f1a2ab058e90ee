"""The local generators on the config-built tiny model: determinism, streaming,
stop strings, LoRA adapters, 4-bit loading and loading from a local folder."""

from __future__ import annotations

from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch
from peft import PeftModel

from ragtune.errors import ConfigError
from ragtune.tasks.generation.base import GenerationParams, Generator, Message
from ragtune.tasks.generation.config import GenerationConfig
from ragtune.tasks.generation.factory import build_generator
from ragtune.tasks.generation.hf import HFGenerator, TinyGenerator
from ragtune.tasks.training.tokenizer import build_byte_tokenizer

from .conftest import DEVICES

MESSAGES = [
    Message("system", "Answer briefly."),
    Message("user", "What is the base premium for a compact car?"),
]
GREEDY = GenerationParams(max_new_tokens=24)


def test_greedy_generation_is_deterministic_and_counts_tokens(tiny_generator):
    first = tiny_generator.generate(MESSAGES, GREEDY)
    second = tiny_generator.generate(MESSAGES, GREEDY)

    assert isinstance(tiny_generator, Generator)
    assert first.text == second.text and first.text
    prompt = build_byte_tokenizer().apply_chat_template(
        [{"role": m.role, "content": m.content} for m in MESSAGES],
        add_generation_prompt=True,
        return_dict=True,
    )["input_ids"]
    assert first.tokens_in == len(prompt)
    # A random-weight model never emits end-of-sequence by design, so it runs out.
    assert 0 < first.tokens_out <= GREEDY.max_new_tokens
    assert first.finish_reason == (
        "length" if first.tokens_out == GREEDY.max_new_tokens else "stop"
    )
    assert first.model == "tiny-llama-h64-l2-s13" and first.latency_s > 0


def _streamed(generator, params):  # noqa: ANN001, ANN202
    """The pieces and the finish reason a stream returns when it ends."""
    stream, pieces = generator.stream(MESSAGES, params), []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as end:
            return pieces, end.value


def test_stream_pieces_join_to_the_generated_text(tiny_generator):
    for params in (GREEDY, GenerationParams(max_new_tokens=24, temperature=1.0)):
        pieces, end = _streamed(tiny_generator, params)
        whole = tiny_generator.generate(MESSAGES, params)
        assert "".join(pieces) == whole.text
        assert end.finish_reason == whole.finish_reason  # a cut answer says so
        assert (end.tokens_in, end.tokens_out) == (whole.tokens_in, whole.tokens_out)


def test_sampling_is_reproducible_from_the_seed(tiny_generator):
    def sample(seed: int) -> str:
        params = GenerationParams(max_new_tokens=12, temperature=1.0, seed=seed)
        return tiny_generator.generate(MESSAGES, params).text

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)
    # Seeding is forked: the caller's random stream is left as it was.
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    sample(3)
    assert torch.equal(torch.rand(1), expected)


def test_stop_string_cuts_generate_and_stream_alike(tiny_generator):
    full = tiny_generator.generate(MESSAGES, GREEDY).text
    stop = full[3:5]
    params = GenerationParams(max_new_tokens=24, stop=(stop,))

    cut = tiny_generator.generate(MESSAGES, params)

    assert cut.text == full[: full.index(stop)]
    assert cut.finish_reason == "stop" and cut.tokens_out < GREEDY.max_new_tokens
    pieces, finish = _streamed(tiny_generator, params)
    assert "".join(pieces) == cut.text and finish.finish_reason == "stop"


def test_adapter_folder_loads_and_changes_the_answer(
    training_cfg, adapter_dir, tiny_generator
):
    tuned = TinyGenerator.build(training_cfg, adapter=adapter_dir, device="cpu")

    assert isinstance(tuned.model, PeftModel)
    assert tuned.name == f"{tiny_generator.name}+{adapter_dir.name}"
    assert tuned.meta["adapter"] == str(adapter_dir)
    saved = PeftModel.from_pretrained(
        TinyGenerator.build(training_cfg, device="cpu").model, adapter_dir
    ).state_dict()
    loaded = tuned.model.state_dict()
    lora = [k for k in loaded if "lora_B" in k]
    assert lora and all(torch.equal(loaded[k], saved[k]) for k in lora)
    assert tuned.generate(MESSAGES, GREEDY).text != (
        tiny_generator.generate(MESSAGES, GREEDY).text
    )


def test_folder_without_adapter_config_is_a_config_error(training_cfg, tmp_path):
    with pytest.raises(ConfigError, match="adapter_config.json"):
        TinyGenerator.build(training_cfg, adapter=tmp_path, device="cpu")


def test_local_folder_loads_through_the_hf_path(tiny_generator, tmp_path):
    folder = tmp_path / "tiny-model"
    tiny_generator.model.save_pretrained(folder)
    tiny_generator.tokenizer.save_pretrained(folder)

    local = HFGenerator.from_pretrained(str(folder), device="cpu")

    assert local.name == str(folder)
    assert local.generate(MESSAGES, GREEDY).text == (
        tiny_generator.generate(MESSAGES, GREEDY).text
    )


def test_missing_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no-such-model"):
        HFGenerator.from_pretrained(str(tmp_path / "no-such-model"), device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_build_generator_4bit_with_adapter(training_cfg, adapter_dir, device):
    cfg = GenerationConfig(provider="tiny", load_in_4bit=True, adapter=adapter_dir)

    gen = build_generator(cfg, training_cfg, device=device)

    quantised = [m for m in gen.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(quantised) == 7 * training_cfg.tiny.num_layers
    assert gen.meta == {"load_in_4bit": "true", "adapter": str(adapter_dir)}
    first = gen.generate(MESSAGES, GREEDY)
    assert first.text == gen.generate(MESSAGES, GREEDY).text
    assert "".join(gen.stream(MESSAGES, GREEDY)) == first.text


def test_relative_adapter_resolves_against_root(training_cfg, adapter_dir):
    cfg = GenerationConfig(provider="tiny", adapter=Path(adapter_dir.name))

    gen = build_generator(cfg, training_cfg, root=adapter_dir.parent, device="cpu")

    assert gen.meta["adapter"] == str(adapter_dir)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"provider": "hf", "model": None}, "generation.model is required"),
        ({"provider": "openai", "endpoint": "http://x/v1"}, "model is required"),
        ({"provider": "openai", "model": "m"}, "generation.endpoint is required"),
        (
            {
                "provider": "openai",
                "model": "m",
                "endpoint": "http://x/v1",
                "load_in_4bit": True,
            },
            "local models",
        ),
        ({"provider": "tiny", "revision": "abc"}, "revision pins an hf model"),
        ({"provider": "tiny", "gguf_file": "m.gguf"}, "provider 'hf' only"),
    ],
)
def test_generation_config_rejects_inconsistent_settings(fields, fragment):
    with pytest.raises(ValueError, match=fragment):
        GenerationConfig(**fields)
