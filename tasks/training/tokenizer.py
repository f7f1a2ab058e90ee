"""A byte-level tokenizer built in code, for the config-built tiny model.

Every UTF-8 byte is one token (plus a few special tokens), so any text round-trips
without a trained vocabulary and nothing is downloaded. It carries a chat template,
so SFT data in chat format and served chat requests go through the same code path
as a real model's tokenizer.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
# Jinja chat template: role headers in plain text, end-of-turn marked by </s>.
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def build_byte_tokenizer() -> PreTrainedTokenizerFast:
    """256 byte tokens + specials; ``len(tok)`` is the vocab size the model needs."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for ch in sorted(alphabet):
        vocab[ch] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=False, use_regex=False
    )
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok
