"""Local causal language models through transformers, optionally with a LoRA adapter.

``HFGenerator`` wraps any model and tokenizer that has a chat template.
``TinyGenerator`` is the same class built from the config-built tiny model and the
byte tokenizer, so tests and the demo run the exact code a 7B model runs.
Models load through ``tasks.training.factories.load_base_model``, so 4-bit loading
and the tiny model are one code path shared with training.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import torch
from peft import PeftModel
from transformers import (
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.generation.base import (
    Generation,
    GenerationError,
    GenerationParams,
    Message,
    StreamEnd,
)
from ragtune.tasks.generation.stops import cut_at_stop, stream_until_stop
from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.factories import load_base_model, model_source
from ragtune.tasks.training.tokenizer import build_byte_tokenizer

log = logging.getLogger(__name__)
G = TypeVar("G", bound="HFGenerator")


class _StopCriteria(StoppingCriteria):
    """Ends decoding at a stop string, or when the streaming consumer went away."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        prompt_len: int,
        stops: Sequence[str],
        cancel: threading.Event | None = None,
    ) -> None:
        self.tokenizer, self.prompt_len = tokenizer, prompt_len
        self.stops = [s for s in stops if s]
        # A character is at most 4 tokens (UTF-8 bytes of a byte-level vocabulary),
        # so this many trailing tokens cover the longest stop string. A stop missed
        # here only costs tokens: the text is cut at it afterwards anyway.
        self.tail = 4 * max((len(s) for s in self.stops), default=0) + 4
        self.cancel = cancel
        self.generated: torch.Tensor | None = None  # the new tokens so far

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        self.generated = input_ids[0, self.prompt_len :]
        done = bool(self.cancel is not None and self.cancel.is_set())
        if self.stops and not done:
            new = input_ids[0, self.prompt_len :][-self.tail :]
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            done = any(s in text for s in self.stops)
        return torch.full((input_ids.shape[0],), done, device=input_ids.device)


class HFGenerator:
    """Chat answers from a transformers causal LM (optionally peft-wrapped).

    Args:
        model: A causal LM; put in eval mode here.
        tokenizer: Must carry a chat template: prompts are built the way the
            model was trained to read them, never by string concatenation.
        name: Identifies model, revision and adapter in reports and audit logs.
        meta: Extra facts copied into every ``Generation.meta``.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        name: str,
        meta: dict[str, str] | None = None,
    ) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(f"generator {name}: the tokenizer has no chat template")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.meta = dict(meta or {})

    @classmethod
    def from_pretrained(
        cls,
        model: str,
        *,
        revision: str | None = None,
        gguf_file: str | None = None,
        adapter: Path | None = None,
        load_in_4bit: bool = False,
        training: QLoRAConfig | None = None,
        device: str | torch.device | None = None,
    ) -> HFGenerator:
        """Load a Hub id, local folder or ``package:`` folder (optionally a GGUF
        file in it), its tokenizer and an optional adapter.

        ``training`` supplies the 4-bit settings (quant type, double quant,
        compute dtype) so a model is served quantised exactly as it was trained.
        """
        base = (training or QLoRAConfig()).model_copy(
            update={
                "base_model": model,
                "revision": revision,
                "gguf_file": gguf_file,
                "load_in_4bit": load_in_4bit,
            }
        )
        source = model_source(base)
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                source.location, **source.kwargs()
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"generation.model {source.label!r}: no tokenizer ({exc})"
            ) from exc
        return _assemble(cls, base, tokenizer, source.label, adapter, device)

    # -- Generator protocol ----------------------------------------------------

    def generate(self, messages: list[Message], params: GenerationParams) -> Generation:
        """Decode one answer; greedy at temperature 0, else sampled from the seed."""
        inputs = self._encode(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        start = time.perf_counter()
        with _seeded(params.seed, self.model.device), torch.inference_mode():
            output = self.model.generate(**inputs, **self._decoding(params, prompt_len))
        new = output[0, prompt_len:]
        latency = time.perf_counter() - start
        raw = self.tokenizer.decode(new, skip_special_tokens=True)
        text, stopped = cut_at_stop(raw, params.stop)
        finish = self._finish(new, params, stopped)
        return Generation(
            text=text,
            model=self.name,
            tokens_in=prompt_len,
            tokens_out=int(len(new)),
            latency_s=latency,
            finish_reason=finish,
            meta=dict(self.meta),
        )

    def stream(
        self, messages: list[Message], params: GenerationParams
    ) -> Generator[str, None, StreamEnd]:
        """Pieces of the answer as they decode; joined they equal ``generate``'s.

        Decoding runs in a worker thread feeding a ``TextIteratorStreamer``; if the
        consumer stops early, the worker is told to stop at its next token.
        """
        inputs = self._encode(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        cancel = threading.Event()
        kwargs = {
            **inputs,
            **self._decoding(params, prompt_len, cancel),
            "streamer": streamer,
        }
        (criteria,) = kwargs["stopping_criteria"]
        failures: list[BaseException] = []

        def work() -> None:
            try:
                with _seeded(params.seed, self.model.device), torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                failures.append(exc)
                streamer.end()

        worker = threading.Thread(
            target=work, name=f"generate-{self.name}", daemon=True
        )
        worker.start()
        try:
            stopped = yield from stream_until_stop(streamer, params.stop)
        finally:
            cancel.set()
            worker.join()
        if failures:
            raise GenerationError(
                f"{self.name}: generation failed: {failures[0]}"
            ) from failures[0]
        new = criteria.generated
        if new is None:
            return StreamEnd("stop", prompt_len, None)
        return StreamEnd(self._finish(new, params, stopped), prompt_len, int(len(new)))

    # -- helpers ---------------------------------------------------------------

    def _finish(
        self, new: torch.Tensor, params: GenerationParams, stopped: bool
    ) -> Literal["stop", "length"]:
        """ "length" when the token budget ended the answer, not EOS or a stop."""
        ended = self.tokenizer.eos_token_id in new.tolist()
        cut = len(new) >= params.max_new_tokens and not (stopped or ended)
        return "length" if cut else "stop"

    def _encode(self, messages: list[Message]) -> dict[str, torch.Tensor]:
        if not messages:
            raise InputError("no messages to answer")
        chat = [{"role": m.role, "content": m.content} for m in messages]
        encoded = self.tokenizer.apply_chat_template(
            chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {key: value.to(self.model.device) for key, value in encoded.items()}

    def _decoding(
        self,
        params: GenerationParams,
        prompt_len: int,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        stops = _StopCriteria(self.tokenizer, prompt_len, params.stop, cancel)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "use_cache": True,  # the tiny model's config turns the KV cache off
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
            "stopping_criteria": StoppingCriteriaList([stops]),
        }
        if params.temperature > 0:
            kwargs.update(
                do_sample=True, temperature=params.temperature, top_p=params.top_p
            )
        else:
            kwargs.update(do_sample=False)
        return kwargs


class TinyGenerator(HFGenerator):
    """The config-built random-weight Llama with the byte tokenizer (no download)."""

    @classmethod
    def build(
        cls,
        training: QLoRAConfig,
        *,
        adapter: Path | None = None,
        load_in_4bit: bool = False,
        device: str | torch.device | None = None,
    ) -> TinyGenerator:
        """The tiny model of ``training.tiny`` (seeded by ``training.seed``)."""
        tokenizer = build_byte_tokenizer()
        if training.tiny.vocab_size < len(tokenizer):
            raise ConfigError(
                f"training.tiny.vocab_size {training.tiny.vocab_size} is smaller than "
                f"the byte tokenizer's {len(tokenizer)} tokens"
            )
        base = training.model_copy(
            update={"base_model": None, "revision": None, "load_in_4bit": load_in_4bit}
        )
        tiny = training.tiny
        name = f"tiny-llama-h{tiny.hidden_size}-l{tiny.num_layers}-s{training.seed}"
        return _assemble(cls, base, tokenizer, name, adapter, device)


def _assemble(
    cls: type[G],
    base: QLoRAConfig,
    tokenizer: PreTrainedTokenizerBase,
    name: str,
    adapter: Path | None,
    device: str | torch.device | None,
) -> G:
    """Load the base model (4-bit if asked), add the adapter, wrap it in ``cls``."""
    model = load_base_model(base, device=device)
    meta = {"load_in_4bit": str(base.load_in_4bit).lower()}
    if adapter is not None:
        model = load_adapter(model, Path(adapter))
        name, meta["adapter"] = f"{name}+{Path(adapter).name}", str(adapter)
    log.info("generator %s ready on %s", name, model.device)
    return cls(model, tokenizer, name, meta)


def load_adapter(model: PreTrainedModel, adapter: Path) -> PeftModel:
    """Wrap ``model`` with the LoRA adapter saved in ``adapter`` (peft format)."""
    if not (adapter / "adapter_config.json").is_file():
        raise ConfigError(
            f"generation.adapter {adapter}: not a peft adapter folder "
            "(adapter_config.json missing)"
        )
    try:
        return PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ConfigError(f"generation.adapter {adapter}: cannot load ({exc})") from exc


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    # Forked so a seeded answer leaves the caller's random stream untouched.
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
