"""Small factories that turn a ``QLoRAConfig`` into library objects (TRL style).

bitsandbytes 0.50 runs its 4-bit NF4 layers on CPU as well as CUDA, so the same
functions serve the tiny-model tests on a laptop and a 7B run on a GPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import torch
from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    BitsAndBytesConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
)

from ragtune.errors import ConfigError
from ragtune.tasks.training.config import QLoRAConfig, TinyModelConfig
from ragtune.tasks.training.gguf_cache import converted
from ragtune.tasks.training.model_source import ModelSource, resolve_model

log = logging.getLogger(__name__)

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
# The output head stays out of "all-linear": adapting it is rarely useful and, on
# a 32k vocabulary, costs more LoRA parameters than a whole decoder layer.
OUTPUT_HEAD = "lm_head"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: the one given, else CUDA when present, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(requested: int | None) -> int:
    """Give torch one intra-op thread per usable core (or ``requested``).

    A serving process also runs the HTTP loop and the embedder; more threads than
    cores makes every matmul wait on the scheduler (an answer took 20 s instead
    of 1 s here). ``OMP_NUM_THREADS``, when set, is the operator's cap for
    processes that share the cores (test workers, several services on one host).
    Returns the number set.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    capped = os.environ.get("OMP_NUM_THREADS", "")
    threads = (
        requested
        or (int(capped) if capped.isdigit() and int(capped) > 0 else None)
        or cores
        or os.cpu_count()
        or 1
    )
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def compute_dtype(cfg: QLoRAConfig, device: torch.device) -> torch.dtype:
    """Resolve ``compute_dtype``; "auto" picks what the device runs fast and safely.

    bf16 keeps fp32's range, so it needs no loss scaling; GPUs without it get fp16,
    and CPUs fp32, where half-precision matmuls are slower, not faster.
    """
    if cfg.compute_dtype != "auto":
        return _DTYPES[cfg.compute_dtype]
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def quantization_config(
    cfg: QLoRAConfig, device: torch.device | None = None
) -> BitsAndBytesConfig | None:
    """The bitsandbytes 4-bit settings, or None when the base stays unquantised."""
    if not cfg.load_in_4bit:
        return None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=cfg.quant_type,
        bnb_4bit_use_double_quant=cfg.double_quant,
        bnb_4bit_compute_dtype=compute_dtype(cfg, resolve_device(device)),
    )


def linear_module_names(model: nn.Module) -> list[str]:
    """Distinct leaf names (``q_proj``, ``down_proj``...) of the model's linear layers.

    bitsandbytes' ``Linear4bit`` subclasses ``nn.Linear``, so quantised layers count.
    """
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
    }
    return sorted(names)


def _matches(module_name: str, target: str) -> bool:
    # peft's rule for a list of names: the full name, or a suffix at a dot boundary.
    return module_name == target or module_name.endswith(f".{target}")


def lora_config(cfg: QLoRAConfig, model: nn.Module) -> LoraConfig:
    """LoRA settings for ``model``; every named target must exist in it.

    Checked here because peft only reports a missing target after wrapping, with a
    message that does not list what the model does have.

    Raises:
        ConfigError: a target module name matches no module of the model.
    """
    targets = cfg.target_modules
    if targets != "all-linear":
        module_names = [name for name, _ in model.named_modules()]
        missing = [t for t in targets if not any(_matches(n, t) for n in module_names)]
        if missing:
            have = ", ".join(linear_module_names(model))
            raise ConfigError(
                f"training.target_modules: {', '.join(missing)} not found in the "
                f"model; its linear modules are: {have}"
            )
        targets = list(targets)
    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def llama_config(tiny: TinyModelConfig) -> LlamaConfig:
    """The transformers config for a Llama-shaped model of the given size."""
    return LlamaConfig(
        vocab_size=tiny.vocab_size,
        hidden_size=tiny.hidden_size,
        num_hidden_layers=tiny.num_layers,
        num_attention_heads=tiny.num_heads,
        num_key_value_heads=tiny.num_kv_heads or tiny.num_heads,
        intermediate_size=tiny.intermediate_size,
        max_position_embeddings=tiny.max_position_embeddings,
        tie_word_embeddings=False,
        use_cache=False,
    )


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    # Fork the RNG so seeding here leaves the caller's random stream untouched.
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def build_tiny_model(
    tiny: TinyModelConfig,
    seed: int,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> LlamaForCausalLM:
    """A Llama model with random weights from ``seed``; nothing is downloaded.

    Weights are created directly on ``device`` in ``dtype``: a 7B model in bf16 is
    initialised on a GPU in seconds, where fp32 on CPU would take minutes.
    """
    device = torch.device(device)
    with _seeded(seed, device), torch.device(device):
        model = LlamaForCausalLM._from_config(llama_config(tiny), dtype=dtype)
    log.info(
        "built %s-layer Llama (%.1fM params) on %s",
        tiny.num_layers,
        model.num_parameters() / 1e6,
        device,
    )
    return model


def load_base_model(
    cfg: QLoRAConfig, device: str | torch.device | None = None
) -> PreTrainedModel:
    """The base model on ``device``, 4-bit quantised when ``cfg.load_in_4bit``.

    With ``base_model`` set it loads the id or folder (offline rules are the Hub's
    own, e.g. ``HF_HUB_OFFLINE``). Otherwise it builds the tiny model and reloads
    its weights through ``from_pretrained(state_dict=...)``, so the config-built
    model is quantised by exactly the code path a downloaded one takes.
    """
    target = resolve_device(device)
    dtype = compute_dtype(cfg, target)
    quant = quantization_config(cfg, target)
    device_map = {"": target}
    if cfg.base_model is not None:
        return _load_pretrained(cfg, quant, dtype, device_map)
    model = build_tiny_model(cfg.tiny, cfg.seed, dtype=dtype, device=target)
    if quant is None:
        return model
    return _requantise(model, quant, dtype, device_map)


def _load_pretrained(
    cfg: QLoRAConfig,
    quant: BitsAndBytesConfig | None,
    dtype: torch.dtype,
    device_map: dict[str, torch.device],
) -> PreTrainedModel:
    source = model_source(cfg)
    log.info("loading %s on %s", source.label, device_map[""])
    try:
        if cfg.gguf_file is not None and quant is not None:
            # transformers refuses quantization_config together with gguf_file:
            # de-quantise the GGUF first (or read the cached de-quantised copy),
            # then quantise the tensors to NF4 through the same state-dict path
            # the tiny model takes, so both sources give the same NF4 weights.
            full = AutoModelForCausalLM.from_pretrained(
                source.location, dtype=dtype, **source.kwargs()
            )
            return _requantise(full, quant, dtype, device_map)
        return AutoModelForCausalLM.from_pretrained(
            source.location,
            quantization_config=quant,
            dtype=dtype,
            device_map=device_map,
            **source.kwargs(),
        )
    except (OSError, ValueError) as exc:
        # Hub and filesystem failures arrive as OSError or HFValidationError (a
        # ValueError) with a traceback; the operator needs the key and the cause.
        raise ConfigError(
            f"training.base_model {source.label!r} could not be loaded: {exc}"
        ) from exc


def model_source(cfg: QLoRAConfig) -> ModelSource:
    """Where ``cfg.base_model``'s files are (``package:`` resolved; a GGUF file
    de-quantised once into the machine's model cache, see ``gguf_cache``)."""
    if cfg.base_model is None:
        raise ConfigError("training.base_model is not set (the tiny model has none)")
    source = resolve_model(
        cfg.base_model, gguf_file=cfg.gguf_file, revision=cfg.revision
    )
    return converted(source)


def _requantise(
    model: PreTrainedModel,
    quant: BitsAndBytesConfig,
    dtype: torch.dtype,
    device_map: dict[str, torch.device],
) -> PreTrainedModel:
    config, state_dict = model.config, model.state_dict()
    cls = type(model)
    del model
    if hasattr(config, "quantization_config"):
        # A GGUF-loaded config records the file's own quantisation; the tensors
        # are de-quantised already, so that record would claim a pre-quantised model.
        del config.quantization_config
    quantised = cls.from_pretrained(
        None,
        config=config,
        state_dict=state_dict,
        quantization_config=quant,
        dtype=dtype,
        device_map=device_map,
    )
    del state_dict
    if device_map[""].type == "cuda":
        torch.cuda.empty_cache()
    return quantised


def set_gradient_checkpointing(model: nn.Module, enabled: bool) -> None:
    """Turn activation recomputation on or off on a (possibly peft-wrapped) model.

    Non-reentrant checkpointing is used because the frozen 4-bit base gives the
    reentrant variant no input that requires grad, which silently drops LoRA grads.
    """
    base = model.get_base_model() if isinstance(model, PeftModel) else model
    kwargs = {"use_reentrant": False}
    # transformers 5.2x renamed these methods (and the kwargs argument); older 5.x
    # releases, such as the GPU image's, only have the gradient_* names.
    if hasattr(base, "activation_checkpointing_enable"):
        if enabled:
            base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            base.activation_checkpointing_disable()
    elif enabled:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    else:
        base.gradient_checkpointing_disable()


def keep_training_layout(model: torch.nn.Module) -> int:
    """Stop bitsandbytes repacking 4-bit weights for its CPU inference kernel.

    On a CPU with AVX512-BF16 the first eval-mode forward without gradients (an
    eval-loss pass, a privacy score) repacks every ``Linear4bit`` weight in place
    for a faster kernel that has no backward: training after it would get no
    gradient through the frozen base to the earlier layers' adapters, silently
    (tests/training/test_training_layout.py). Returns how many layers it pinned.
    """
    pinned = 0
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
            pinned += 1
    return pinned


def prepare_for_qlora(model: PreTrainedModel, cfg: QLoRAConfig) -> PeftModel:
    """Freeze the base, upcast what is not quantised, and add LoRA adapters.

    peft's k-bit preparation keeps norms, embeddings and head in fp32 so that only
    the matmuls run in ``compute_dtype``; LoRA init is seeded by ``cfg.seed``.
    """
    lora = lora_config(cfg, model)
    if getattr(model, "is_loaded_in_4bit", False):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    else:
        model.requires_grad_(False)
    set_gradient_checkpointing(model, cfg.gradient_checkpointing)
    keep_training_layout(model)
    with _seeded(cfg.seed, model.device):
        peft_model = get_peft_model(model, lora)
    trainable, total = peft_model.get_nb_trainable_parameters()
    log.info("LoRA r=%s: %s of %s parameters trainable", cfg.lora_r, trainable, total)
    return peft_model
