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


class GenerationConfig(StrictModel):
    """One answering model and its decoding settings.

    ``tiny`` builds the random-weight model of the ``training.tiny`` section with
    the byte tokenizer (tests, demo); ``hf`` loads any Hugging Face causal LM id or
    local folder; ``openai`` calls an OpenAI-compatible ``/chat/completions``.
    """

    provider: Provider = Field("tiny", description="tiny | hf | openai.")
    model: str | None = Field(
        None,
        description="hf: model id or local folder; openai: the endpoint's model "
        "name; tiny: unused.",
    )
    revision: str | None = Field(
        None, description="Hub revision (commit, tag, branch) pinning an hf model."
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
        return self
