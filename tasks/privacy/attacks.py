"""Membership-inference attacks and the figures that say how well they work.

Two attacks, both scored so that higher means "more likely a training member":

* loss ratio (reference-calibrated): candidate loss / reference loss, negated.
  Dividing by the base model's loss removes how hard a record is for any model,
  leaving what fine-tuning taught about it (Carlini et al., "Membership Inference
  Attacks From First Principles", 2022, https://arxiv.org/abs/2112.03570).
* Min-K% probability (reference-free): the mean log-probability of the k% least
  likely tokens; memorised records have few surprising tokens (Shi et al.,
  "Detecting Pretraining Data from Large Language Models", 2023,
  https://arxiv.org/abs/2310.16789).

Each is summarised by ROC AUC and the true-positive rate at a low false-positive
rate: the AUC says whether members leak on average, TPR at a low FPR whether some
members can be identified with confidence, which is what an attacker exploits.
Both come with one-sided confidence bounds (``stats.py``), since a few hundred
records pin neither down exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_curve

from ragtune.errors import InputError
from ragtune.tasks.privacy.stats import Bounds, auc_bounds, tpr_bounds


@dataclass(frozen=True)
class AttackResult:
    """How well one attack separates members from non-members, with one-sided
    bounds at ``confidence`` and the Mann-Whitney p-value of "no signal"."""

    name: str
    auc: float
    tpr_at_fpr: float
    fpr: float
    members: int
    non_members: int
    auc_bounds: Bounds = Bounds(0.0, 1.0)
    tpr_bounds: Bounds = Bounds(0.0, 1.0)
    p_value: float = 1.0
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "attack": self.name,
            "auc": round(self.auc, 4),
            "auc_low": round(self.auc_bounds.low, 4),
            "auc_high": round(self.auc_bounds.high, 4),
            "p_value": float(f"{self.p_value:.3g}"),
            "tpr_at_fpr": round(self.tpr_at_fpr, 4),
            "tpr_low": round(self.tpr_bounds.low, 4),
            "tpr_high": round(self.tpr_bounds.high, 4),
            "fpr": self.fpr,
            "confidence": self.confidence,
            "members": self.members,
            "non_members": self.non_members,
        }


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """TPR of a ROC curve at exactly ``target`` FPR, linearly interpolated.

    Where the curve has several points at the target FPR (a vertical step) the
    highest TPR counts: an attacker picks the best threshold with that FPR.
    """
    below = np.flatnonzero(fpr <= target)
    i = int(below[-1])  # roc_curve always starts at (0, 0), so this exists
    if fpr[i] == target or i == len(fpr) - 1:
        return float(tpr[i])
    share = (target - fpr[i]) / (fpr[i + 1] - fpr[i])
    return float(tpr[i] + share * (tpr[i + 1] - tpr[i]))


def attack_metrics(
    name: str,
    member_scores: Sequence[float],
    non_member_scores: Sequence[float],
    target_fpr: float = 0.05,
    confidence: float = 0.95,
) -> AttackResult:
    """ROC AUC and TPR at ``target_fpr`` of scores where higher means member,
    each with one-sided bounds at ``confidence`` (see ``stats.py``).

    Raises:
        InputError: either group is empty, or a score is not finite.
    """
    members = np.asarray(member_scores, dtype=float)
    others = np.asarray(non_member_scores, dtype=float)
    if members.size == 0 or others.size == 0:
        raise InputError(
            f"{name}: membership attack needs members and held-out non-members "
            f"(got {members.size} and {others.size})"
        )
    scores = np.concatenate([members, others])
    if not np.all(np.isfinite(scores)):
        raise InputError(f"{name}: attack scores contain NaN or infinity")
    labels = np.concatenate([np.ones(members.size), np.zeros(others.size)])
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    auc, auc_ci, p_value = auc_bounds(members, others, confidence)
    return AttackResult(
        name=name,
        auc=auc,
        tpr_at_fpr=tpr_at_fpr(fpr, tpr, target_fpr),
        fpr=target_fpr,
        members=int(members.size),
        non_members=int(others.size),
        auc_bounds=auc_ci,
        tpr_bounds=tpr_bounds(members, others, target_fpr, confidence),
        p_value=p_value,
        confidence=confidence,
    )


def loss_ratio_scores(
    candidate_losses: Sequence[float], reference_losses: Sequence[float]
) -> np.ndarray:
    """Member scores of the loss-ratio attack: -(candidate loss / reference loss).

    A ratio below 1 means fine-tuning made the record easier than the base found
    it, which is what training on it does.
    """
    cand = np.asarray(candidate_losses, dtype=float)
    ref = np.asarray(reference_losses, dtype=float)
    if cand.shape != ref.shape:
        raise InputError(
            f"loss ratio: {cand.size} candidate losses vs {ref.size} reference losses"
        )
    # A zero reference loss only arises for a token the base predicts with
    # certainty; the tiny floor keeps the ratio finite without changing the order.
    return -(cand / np.maximum(ref, 1e-12))


def min_k_scores(logprobs: Sequence[np.ndarray], k_percent: float) -> np.ndarray:
    """Member scores of Min-K%: mean log-prob of each record's k% least likely tokens.

    At least one token always counts, so short answers are still scored.
    """
    if not 0 < k_percent <= 100:
        raise InputError(f"min_k must be in (0, 100], got {k_percent}")
    scores = []
    for lp in logprobs:
        if lp.size == 0:
            raise InputError("min-k: a record has no scored tokens")
        count = max(1, math.ceil(lp.size * k_percent / 100))
        scores.append(float(np.mean(np.sort(lp)[:count])))
    return np.array(scores)
