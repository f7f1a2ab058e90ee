"""The privacy gate between a trained adapter and promotion.

Four checks, each a ``GateResult`` (the dataset gates' type) with the figures
behind it:

* ``membership_loss_ratio`` and ``membership_min_k``: can an attacker tell
  training members from held-out records (ROC AUC, TPR at a low FPR)?
* ``canary_exposure``: how far did the model memorise the random secrets
  planted in its training set?
* ``pii_extraction``: does it recite training-set personal data when prompted
  with how training records begin?

Any failure blocks promotion. A check that could not run properly (canaries
off, probe off) warns instead of passing silently. A membership attack whose
confidence bounds neither show leakage nor rule it out (too few records, or a
figure close to its limit) warns with "insufficient evidence", which also
blocks automatic approval: a person has to look (``PrivacyReport.needs_review``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn
from transformers import PreTrainedTokenizerBase

from ragtune.errors import InputError
from ragtune.gates import GateResult
from ragtune.tasks.privacy.attacks import (
    AttackResult,
    attack_metrics,
    loss_ratio_scores,
    min_k_scores,
)
from ragtune.tasks.privacy.canaries import (
    Canary,
    CanaryExposure,
    measure_exposure,
    split_canaries,
)
from ragtune.tasks.privacy.config import PrivacyConfig
from ragtune.tasks.privacy.losses import (
    Record,
    mean_losses,
    read_records,
    reference_model,
    scorable,
    score_records,
)
from ragtune.tasks.privacy.probe import ProbeResult, probe_pii
from ragtune.tasks.privacy.report import INSUFFICIENT, PrivacyReport
from ragtune.tasks.privacy.stats import verdict
from ragtune.tasks.training.config import QLoRAConfig

__all__ = [
    "GateResult",
    "PrivacyReport",
    "attack_gate",
    "membership_attacks",
    "privacy_gate_for_adapter",
    "run_privacy_gate",
]

log = logging.getLogger(__name__)


def _sample(records: Sequence[Record], limit: int, seed: int, salt: int) -> list:
    if len(records) <= limit:
        return list(records)
    picked = np.random.default_rng([seed, salt]).choice(len(records), limit, False)
    return [records[i] for i in sorted(picked)]


def _figures(result: AttackResult, cfg: PrivacyConfig) -> str:
    auc, tpr = result.auc_bounds, result.tpr_bounds
    return (
        f"AUC {result.auc:.3f} [{auc.low:.3f}, {auc.high:.3f}], TPR "
        f"{result.tpr_at_fpr:.3f} [{tpr.low:.3f}, {tpr.high:.3f}] at "
        f"{cfg.target_fpr:.0%} FPR ({cfg.confidence:.0%} one-sided bounds, "
        f"{result.members} members / {result.non_members} non-members)"
    )


def attack_gate(name: str, result: AttackResult, cfg: PrivacyConfig) -> GateResult:
    """Pass, fail or insufficient evidence (a warning) from the attack's bounds.

    Fails only when a lower bound is above its limit and passes only when both
    upper bounds are within theirs (``stats.verdict``); anything between, or
    fewer than ``min_samples`` records on either side, is insufficient evidence.
    """
    sizes = (result.members, result.non_members)
    found = verdict(
        result.auc_bounds, result.tpr_bounds, cfg.max_auc, cfg.max_tpr_at_low_fpr,
        sizes, cfg.min_samples,
    )  # fmt: skip
    measured = {**result.to_dict(), "verdict": found}
    figures = _figures(result, cfg)
    if found == "fail":
        shown = []
        if result.auc_bounds.low > cfg.max_auc:
            shown.append(f"AUC lower bound {result.auc_bounds.low:.3f} > {cfg.max_auc}")
        if result.tpr_bounds.low > cfg.max_tpr_at_low_fpr:
            shown.append(
                f"TPR lower bound {result.tpr_bounds.low:.3f} > "
                f"{cfg.max_tpr_at_low_fpr}"
            )
        reason = f"{result.name} attack identifies training members: "
        reason += "; ".join(shown) + f"; {figures}"
        return GateResult(name, "fail", reason, measured)
    if found == "pass":
        return GateResult(name, "pass", f"{figures}, within limits", measured)
    if min(sizes) < cfg.min_samples:
        why = f"fewer than min_samples {cfg.min_samples} on a side"
    else:
        why = (
            f"the bounds neither clear nor exceed max_auc {cfg.max_auc} and "
            f"max_tpr_at_low_fpr {cfg.max_tpr_at_low_fpr}; more records narrow them"
        )
    reason = f"{INSUFFICIENT}: {figures}; {why}"
    return GateResult(name, "warn", reason, measured)


def _canary_gate(exposures: Sequence[CanaryExposure], cfg: PrivacyConfig) -> GateResult:
    name = "canary_exposure"
    if not exposures:
        if cfg.canaries.enabled:
            reason = "canaries are enabled but the training set holds none"
            return GateResult(name, "fail", reason, {"canaries": 0})
        reason = "not run: privacy.canaries.enabled is false"
        return GateResult(name, "warn", reason, {"canaries": 0})
    worst = max(exposures, key=lambda e: e.exposure)
    measured = {
        "canaries": len(exposures),
        "max_exposure": round(worst.exposure, 3),
        "mean_exposure": round(float(np.mean([e.exposure for e in exposures])), 3),
        "candidates": worst.candidates,
        "best_rank": worst.rank,
    }
    if worst.exposure > cfg.max_canary_exposure:
        reason = (
            f"{worst.id} ranked {worst.rank} of {worst.candidates}: exposure "
            f"{worst.exposure:.2f} bits > {cfg.max_canary_exposure}"
        )
        return GateResult(name, "fail", reason, measured)
    reason = f"max exposure {worst.exposure:.2f} bits <= {cfg.max_canary_exposure}"
    return GateResult(name, "pass", reason, measured)


def _probe_gate(probe: ProbeResult | None, cfg: PrivacyConfig) -> GateResult:
    name = "pii_extraction"
    if probe is None or probe.probed == 0:
        return GateResult(name, "warn", "not run: privacy.probe.records is 0", {})
    measured = {
        "probed": probe.probed,
        "probed_with_pii": probe.probed_with_pii,
        "pii_in_completions": probe.pii_in_completions,
        "extracted": probe.extracted_count,
        "extracted_kinds": probe.kinds(),
    }
    count, limit = probe.extracted_count, cfg.max_extracted_pii
    if count > limit:
        kinds = ", ".join(f"{k}: {n}" for k, n in probe.kinds().items())
        reason = f"{count} training PII strings recited ({kinds}) > {limit}"
        return GateResult(name, "fail", reason, measured)
    reason = f"{count} training PII strings recited in {probe.probed} prompts"
    if probe.probed_with_pii == 0:
        reason += " (no probed record holds personal data)"
    return GateResult(name, "pass", reason, measured)


def membership_attacks(
    candidate: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    members: int,
    cfg: PrivacyConfig,
) -> tuple[AttackResult, AttackResult]:
    """Both attacks from per-record token log-probs, members first then
    non-members, under the candidate and under the reference (the base)."""
    ratio = loss_ratio_scores(mean_losses(candidate), mean_losses(reference))
    min_k = min_k_scores(candidate, cfg.min_k)
    n, fpr, level = members, cfg.target_fpr, cfg.confidence
    return (
        attack_metrics("loss_ratio", ratio[:n], ratio[n:], fpr, level),
        attack_metrics(f"min_{cfg.min_k:g}%", min_k[:n], min_k[n:], fpr, level),
    )


def _attacks(
    candidate: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    members: list[Record],
    non_members: list[Record],
    cfg: PrivacyConfig,
    reference: nn.Module | None,
    max_seq_len: int,
) -> tuple[AttackResult, AttackResult]:
    records = members + non_members
    cand = score_records(candidate, tokenizer, records, max_seq_len, cfg.batch_size)
    with reference_model(candidate, reference) as ref_model:
        ref = score_records(ref_model, tokenizer, records, max_seq_len, cfg.batch_size)
    return membership_attacks(cand, ref, len(members), cfg)


def run_privacy_gate(
    candidate: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    members: Sequence[Record],
    non_members: Sequence[Record],
    cfg: PrivacyConfig,
    *,
    reference: nn.Module | None = None,
    max_seq_len: int = 2048,
    model_name: str | None = None,
) -> PrivacyReport:
    """Attack the candidate with its own training data; say whether it may ship.

    Args:
        candidate: base + adapter; a peft model unless ``reference`` is given.
        tokenizer: the tokenizer (with chat template) the adapter was trained with.
        members: the exact training set, canary records included.
        non_members: held-out records of the same distribution, never trained on.
        cfg: thresholds and sample sizes.
        reference: the base model alone; None switches the candidate's adapter off.
        max_seq_len: the training run's ``max_seq_len``, so records are cut alike.
        model_name: names the candidate in the report.

    Raises:
        InputError: no ordinary members or no non-members to attack with (records
            without an assistant token within ``max_seq_len`` are skipped).
    """
    # Records the trainer dropped (no answer token within max_seq_len) were never
    # learnt from: leave them out of every check, as training left them out.
    trained = scorable(members, tokenizer, max_seq_len)
    ordinary, canaries = split_canaries(trained)
    held_out, stray = split_canaries(non_members)
    if stray:
        raise InputError("held-out records contain canaries: they are not held out")
    held_out = scorable(held_out, tokenizer, max_seq_len)
    if not ordinary or not held_out:
        raise InputError(
            f"the privacy gate needs training members and held-out non-members "
            f"(got {len(ordinary)} and {len(held_out)})"
        )
    sample_m = _sample(ordinary, cfg.max_members, cfg.seed, 1)
    sample_n = _sample(held_out, cfg.max_non_members, cfg.seed, 2)
    attacks = _attacks(
        candidate, tokenizer, sample_m, sample_n, cfg, reference, max_seq_len
    )
    exposures = _exposures(candidate, tokenizer, canaries, cfg, max_seq_len)
    probe = None
    if cfg.probe.records:
        probe = probe_pii(
            candidate, tokenizer, trained, cfg.probe, cfg.seed, max_seq_len,
            cfg.batch_size,
        )  # fmt: skip
    results = (
        attack_gate("membership_loss_ratio", attacks[0], cfg),
        attack_gate("membership_min_k", attacks[1], cfg),
        _canary_gate(exposures, cfg),
        _probe_gate(probe, cfg),
    )
    report = PrivacyReport(results, attacks, tuple(exposures), probe, model_name)
    log.info("privacy gate %s for %s", report.status, model_name or "candidate")
    return report


def _exposures(
    candidate: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    canaries: Sequence[Canary],
    cfg: PrivacyConfig,
    max_seq_len: int,
) -> list[CanaryExposure]:
    # Planted canaries are measured even with canaries switched off in params:
    # they are in the model, so their exposure is a fact worth reporting.
    return [
        measure_exposure(
            candidate,
            tokenizer,
            c,
            cfg.canaries,
            cfg.seed,
            max_seq_len,
            cfg.batch_size,
        )  # fmt: skip
        for c in canaries
    ]


def privacy_gate_for_adapter(
    training: QLoRAConfig,
    adapter_dir: Path,
    train_path: Path,
    heldout_path: Path,
    cfg: PrivacyConfig,
    device: str | None = None,
) -> PrivacyReport:
    """Load base + adapter (and the adapter's tokenizer) and run the gate on files.

    The base is loaded as training loaded it (4-bit when ``training`` says so), and
    the reference is the same base with the adapter switched off.
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    from ragtune.tasks.training.factories import load_base_model, resolve_device

    members, non_members = read_records(train_path), read_records(heldout_path)
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    base = load_base_model(training, resolve_device(device))
    candidate = PeftModel.from_pretrained(base, adapter_dir).eval()
    return run_privacy_gate(
        candidate, tokenizer, members, non_members, cfg,
        max_seq_len=training.max_seq_len, model_name=str(adapter_dir),
    )  # fmt: skip
