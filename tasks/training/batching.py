"""Seeded micro-batches that a resumed run can re-enter at any position.

The order of every epoch is a pure function of (seed, epoch), so the data-loader
position saved in a checkpoint is one integer: the number of micro-batches
consumed. Three layouts:

- ``grouped``: shuffle, then sort windows of a few batches by length, so each
  batch holds similar lengths and little padding (HF ``group_by_length``).
- ``shuffled``: plain shuffled batches; DP-SGD uses it, because batches formed
  from lengths would make which examples share a step depend on the data.
- ``packed``: whole examples laid end to end in rows of ``max_seq_len``; position
  ids restart at each example, which makes transformers mask attention between
  examples (block-diagonal), so packing changes padding, never the maths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from ragtune.tasks.training.config import QLoRAConfig
from ragtune.tasks.training.data import IGNORE_INDEX, Example

Layout = Literal["grouped", "shuffled", "packed"]
Row = tuple[int, ...]  # indices of the examples sharing one row
MicroBatch = tuple[Row, ...]
GROUP_WINDOW = 16  # batches per length-sorted window: mixes lengths across steps


def _permutation(n: int, seed: int, epoch: int) -> list[int]:
    return np.random.default_rng([seed, epoch]).permutation(n).tolist()


def _chunks(items: Sequence[Row], size: int) -> list[MicroBatch]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def grouped_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int
) -> list[MicroBatch]:
    """Shuffled batches of similar length; the batch order is shuffled too."""
    order = _permutation(len(lengths), seed, epoch)
    window = batch_size * GROUP_WINDOW
    batches: list[MicroBatch] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: -lengths[i])
        batches += _chunks([(i,) for i in chunk], batch_size)
    shuffle = np.random.default_rng([seed, epoch, 1]).permutation(len(batches))
    return [batches[i] for i in shuffle.tolist()]


def shuffled_batches(
    n: int, batch_size: int, seed: int, epoch: int
) -> list[MicroBatch]:
    """Plain shuffled batches of ``batch_size`` examples."""
    return _chunks([(i,) for i in _permutation(n, seed, epoch)], batch_size)


def packed_batches(
    lengths: Sequence[int], batch_size: int, max_seq_len: int, seed: int, epoch: int
) -> list[MicroBatch]:
    """Rows of whole examples up to ``max_seq_len`` tokens, in shuffled order.

    Examples are never split: a cut answer would lose the prompt it depends on.
    """
    rows: list[Row] = []
    current: list[int] = []
    used = 0
    for index in _permutation(len(lengths), seed, epoch):
        if current and used + lengths[index] > max_seq_len:
            rows.append(tuple(current))
            current, used = [], 0
        current.append(index)
        used += lengths[index]
    if current:
        rows.append(tuple(current))
    return _chunks(rows, batch_size)


@dataclass
class BatchPlan:
    """Where every micro-batch of every epoch comes from."""

    lengths: tuple[int, ...]
    batch_size: int
    seed: int
    layout: Layout
    max_seq_len: int
    _epochs: dict[int, list[MicroBatch]] = field(default_factory=dict, repr=False)

    def epoch(self, epoch: int) -> list[MicroBatch]:
        """The micro-batches of one epoch (computed once, then cached)."""
        if epoch not in self._epochs:
            if self.layout == "packed":
                batches = packed_batches(
                    self.lengths, self.batch_size, self.max_seq_len, self.seed, epoch
                )
            elif self.layout == "grouped":
                batches = grouped_batches(
                    self.lengths, self.batch_size, self.seed, epoch
                )
            else:
                batches = shuffled_batches(
                    len(self.lengths), self.batch_size, self.seed, epoch
                )
            self._epochs[epoch] = batches
        return self._epochs[epoch]

    def at(self, position: int) -> MicroBatch:
        """The micro-batch at a global position (epochs laid end to end)."""
        epoch = 0
        while position >= len(self.epoch(epoch)):
            position -= len(self.epoch(epoch))
            epoch += 1
        return self.epoch(epoch)[position]


def collate(
    batch: MicroBatch, examples: Sequence[Example], pad_id: int, packed: bool
) -> dict[str, torch.Tensor]:
    """Right-padded tensors for one micro-batch.

    Packed rows get restarting ``position_ids`` and no attention mask (the mask is
    derived from the positions, pad tokens forming a segment of their own); padded
    rows get an attention mask. Each example's first label is ignored, so no token
    is ever predicted from the previous example in a row.
    """
    ids_rows: list[list[int]] = []
    label_rows: list[list[int]] = []
    position_rows: list[list[int]] = []
    for row in batch:
        ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        for index in row:
            example = examples[index]
            ids += example.input_ids
            labels += [IGNORE_INDEX, *example.labels[1:]]
            positions += range(len(example))
        ids_rows.append(ids)
        label_rows.append(labels)
        position_rows.append(positions)
    width = max(len(ids) for ids in ids_rows)
    out = {
        "input_ids": torch.tensor([r + [pad_id] * (width - len(r)) for r in ids_rows]),
        "labels": torch.tensor(
            [r + [IGNORE_INDEX] * (width - len(r)) for r in label_rows]
        ),
    }
    if packed:
        out["position_ids"] = torch.tensor(
            [r + list(range(width - len(r))) for r in position_rows]
        )
    else:
        out["attention_mask"] = torch.tensor(
            [[1] * len(r) + [0] * (width - len(r)) for r in ids_rows]
        )
    return out


def batch_tokens(batch: MicroBatch, examples: Sequence[Example]) -> int:
    """Real (non-pad) tokens in a micro-batch: what tokens/s counts."""
    return sum(len(examples[index]) for row in batch for index in row)


def make_plan(cfg: QLoRAConfig, examples: Sequence[Example], dp: bool) -> BatchPlan:
    """The batch layout: packed if asked, plain shuffles under DP, else grouped."""
    layout = "packed" if cfg.packing else "shuffled" if dp else "grouped"
    lengths = tuple(len(ex) for ex in examples)
    return BatchPlan(lengths, cfg.batch_size, cfg.seed, layout, cfg.max_seq_len)


def count_steps(cfg: QLoRAConfig, plan: BatchPlan) -> int:
    """Optimizer steps in the run: ``max_steps``, else epochs of micro-batches."""
    if cfg.max_steps is not None:
        return cfg.max_steps
    micro = cfg.num_epochs * len(plan.epoch(0))
    return max(1, math.ceil(micro / cfg.gradient_accumulation_steps))
