"""Bad input is refused with an InputError that names the problem."""

from __future__ import annotations

import pytest

from ragtune.errors import InputError
from ragtune.tasks.estimate import TrainingSetup, estimate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_size": "7X"}, r"model size '7X' is not known: use one of 1B, 3B, 7B"),
        ({"model_size": "huge"}, r"'huge' is not known"),
        ({"model_size": 1000}, r"1000 parameters is not usable"),
        ({"model_size": True}, r"model size must be"),
        ({"examples": -5}, r"examples: Input should be greater than 0 \(got -5\)"),
        ({"examples": 0}, r"examples: .*greater than 0"),
        (
            {"method": "dpo"},
            r"method: Input should be 'full', 'lora' or 'qlora' \(got 'dpo'\)",
        ),
        ({"epochs": 0}, r"epochs: .*greater than 0"),
        ({"seq_len": 4}, r"seq_len: .*greater than or equal to 8"),
        ({"gpu": "TPU-v5"}, r"GPU 'TPU-v5' is not in the catalogue: L4, RTX-4090"),
    ],
)
def test_bad_input_raises_input_error(cfg, kwargs, message):
    args = {"model_size": "7B", "method": "qlora", "examples": 1_000, "cfg": cfg}
    args.update(kwargs)
    with pytest.raises(InputError, match=message):
        estimate(**args)


def test_unknown_target_module_is_named():
    with pytest.raises(ValueError, match=r"unknown target modules \['qkv'\]"):
        TrainingSetup(target_modules=("q_proj", "qkv"))


def test_several_problems_are_reported_together(cfg):
    with pytest.raises(InputError) as info:
        estimate("7B", "qlora", -1, epochs=-2, cfg=cfg)
    assert "examples" in str(info.value) and "epochs" in str(info.value)
    assert info.value.exit_code == 2
