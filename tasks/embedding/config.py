"""Which embedder turns chunks and queries into vectors."""

from typing import Literal

from pydantic import Field, model_validator

from ragtune.schema import StrictModel


class EmbeddingConfig(StrictModel):
    """The embedder. Its name and dimension are stored with the index, so changing
    it forces an explicit rebuild instead of mixing vectors from two models."""

    provider: Literal["minilm", "sentence-transformers", "openai"] = "minilm"
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Model path or id (sentence-transformers) or endpoint model name.",
    )
    endpoint: str | None = Field(None, description="OpenAI-compatible base URL.")
    api_key_env: str = Field(
        "RAGTUNE_EMBEDDING_API_KEY", description="Env var holding the endpoint key."
    )
    batch_size: int = Field(64, ge=1)
    cache: bool = Field(True, description="Reuse vectors by content hash.")

    @model_validator(mode="after")
    def _endpoint_for_openai(self) -> "EmbeddingConfig":
        if self.provider == "openai" and not self.endpoint:
            raise ValueError("embedding.endpoint is required when provider is 'openai'")
        return self
