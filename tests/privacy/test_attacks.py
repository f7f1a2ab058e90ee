"""Attack figures against hand-computed values, canaries, and per-token scoring.

The metric tests use loss arrays small enough to compute the ROC curve by hand;
the scoring tests use the untrained tiny model, whose figures must equal the
model's own loss however records are batched.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

from ragtune.errors import ConfigError, InputError
from ragtune.tasks.privacy.attacks import (
    attack_metrics,
    loss_ratio_scores,
    min_k_scores,
    tpr_at_fpr,
)
from ragtune.tasks.privacy.canaries import (
    exposure,
    make_canaries,
    plant_canaries,
    plant_training_file,
    random_secrets,
    rank_of,
    split_canaries,
)
from ragtune.tasks.privacy.config import CanaryConfig, PrivacyConfig, ProbeConfig
from ragtune.tasks.privacy.gate import run_privacy_gate
from ragtune.tasks.privacy.losses import (
    encode_records,
    mean_losses,
    read_records,
    reference_model,
    scorable,
    score_records,
)
from ragtune.tasks.privacy.probe import select_probes
from ragtune.tasks.training.config import TinyModelConfig
from ragtune.tasks.training.factories import build_tiny_model
from ragtune.tasks.training.tokenizer import build_byte_tokenizer


def chat(i: int, answer: str) -> dict:
    return {
        "id": f"r{i}",
        "messages": [
            {"role": "user", "content": f"Question {i}?"},
            {"role": "assistant", "content": answer},
        ],
    }


# -- membership metrics ----------------------------------------------------------


def test_separable_scores_give_hand_computed_auc_and_tpr():
    # 15 of the 16 member/non-member pairs are ordered correctly (only 0.3 < 0.6).
    # Three members score above every non-member, so at 0% FPR the TPR is 3/4,
    # and it stays 3/4 until FPR reaches 1/4.
    result = attack_metrics("t", [0.9, 0.8, 0.7, 0.3], [0.6, 0.2, 0.1, 0.05])
    assert result.auc == pytest.approx(15 / 16)
    assert result.tpr_at_fpr == pytest.approx(0.75)
    assert (result.members, result.non_members, result.fpr) == (4, 4, 0.05)


def test_tpr_is_interpolated_along_a_tied_segment():
    # The tie at 0.5 makes the ROC curve a diagonal from (0, .5) to (.5, 1):
    # at FPR 0.01 the TPR is .5 + (.01 / .5) * .5 = .51. AUC: 2 + 0.5 + 1 of 4.
    result = attack_metrics("t", [0.9, 0.5], [0.5, 0.1], target_fpr=0.01)
    assert result.tpr_at_fpr == pytest.approx(0.51)
    assert result.auc == pytest.approx(3.5 / 4)


def test_a_vertical_step_at_the_target_fpr_counts_its_highest_tpr():
    fpr = np.array([0.0, 0.01, 0.01, 1.0])
    tpr = np.array([0.0, 0.2, 0.6, 1.0])
    assert tpr_at_fpr(fpr, tpr, 0.01) == pytest.approx(0.6)
    assert tpr_at_fpr(fpr, tpr, 0.505) == pytest.approx(0.8)


def test_indistinguishable_scores_are_chance():
    result = attack_metrics("t", [1.0] * 5, [1.0] * 7)
    assert result.auc == 0.5
    assert result.tpr_at_fpr == pytest.approx(0.05)  # the diagonal at 5% FPR
    assert result.p_value == 1.0  # no evidence of members scoring higher


@pytest.mark.parametrize(
    ("members", "others"), [([], [1.0]), ([1.0], []), ([float("nan")], [1.0])]
)
def test_bad_scores_are_refused(members, others):
    with pytest.raises(InputError, match="t:"):
        attack_metrics("t", members, others)


def test_loss_ratio_scores_are_negated_ratios():
    scores = loss_ratio_scores([1.0, 2.0, 3.0], [2.0, 2.0, 1.5])
    assert scores.tolist() == pytest.approx([-0.5, -1.0, -2.0])
    with pytest.raises(InputError, match="3 candidate losses vs 2"):
        loss_ratio_scores([1.0, 2.0, 3.0], [1.0, 1.0])


def test_min_k_averages_the_least_likely_tokens():
    lp = [np.array([-1.0, -2.0, -3.0, -4.0, -5.0])]
    # 40% of 5 tokens = 2 tokens: -5 and -4; 1% rounds up to one token.
    assert min_k_scores(lp, 40).tolist() == [-4.5]
    assert min_k_scores(lp, 1).tolist() == [-5.0]
    assert min_k_scores(lp, 100).tolist() == [-3.0]
    with pytest.raises(InputError, match="min_k"):
        min_k_scores(lp, 0)


# -- canaries ----------------------------------------------------------------------


def test_exposure_is_log2_candidates_minus_log2_rank():
    assert exposure(1, 1024) == pytest.approx(10.0)
    assert exposure(512, 1024) == pytest.approx(1.0)
    assert exposure(1024, 1024) == 0.0
    assert exposure(3, 256) == pytest.approx(8 - math.log2(3))
    with pytest.raises(InputError, match="rank 0"):
        exposure(0, 10)


def test_rank_counts_strictly_more_likely_candidates():
    # Only -9 beats the canary; the tie at -10 goes in the canary's favour.
    assert rank_of(-10.0, [-12.0, -9.0, -10.0, -11.0]) == 2
    assert rank_of(0.0, [-1.0, -2.0]) == 1


def test_canaries_are_reproducible_distinct_and_well_formed():
    first, again = make_canaries(5, seed=7), make_canaries(5, seed=7)
    assert first == again
    assert first != make_canaries(5, seed=8)
    assert len({c.secret for c in first}) == len({c.vault for c in first}) == 5
    assert all(re.fullmatch(r"\d{3}-\d{3}", c.secret) for c in first)
    assert re.fullmatch(r"\d{4}-\d{4}", make_canaries(1, 7, digits=8)[0].secret)
    others = random_secrets(first[0], 50, 6, seed=7)
    assert len(set(others)) == 50 and first[0].secret not in others
    assert all(re.fullmatch(r"\d{3}-\d{3}", s) for s in others)


def test_planting_adds_copies_and_split_recovers_exactly_the_canaries():
    records = [chat(i, f"Answer {i}.") for i in range(10)]
    before = [dict(r) for r in records]
    canaries = make_canaries(3, seed=1)
    planted = plant_canaries(records, canaries, repeats=2, seed=1)

    assert len(planted) == 10 + 3 * 2
    assert records == before  # the input list is untouched
    ordinary, found = split_canaries(planted)
    assert ordinary == records  # every original kept, in its order
    assert sorted(found, key=lambda c: c.id) == canaries
    secret = canaries[0].secret
    texts = [m["content"] for r in planted for m in r["messages"]]
    assert sum(secret in t for t in texts) == 2


def test_planted_training_file_is_a_reproducible_copy_the_gate_can_read(tmp_path):
    built = tmp_path / "build" / "train.jsonl"
    built.parent.mkdir()
    built.write_text(
        "".join(json.dumps(chat(i, f"Answer {i}.")) + "\n" for i in range(8))
    )
    original = built.read_bytes()
    cfg = CanaryConfig(enabled=True, count=2, repeats=3)

    out = plant_training_file(built, tmp_path / "planted" / "train.jsonl", cfg, 13)
    again = plant_training_file(built, tmp_path / "again.jsonl", cfg, 13)

    assert built.read_bytes() == original  # the built set is not touched
    assert out.read_bytes() == again.read_bytes()  # same inputs, same bytes
    ordinary, found = split_canaries(read_records(out))
    assert ordinary == read_records(built)
    assert sorted(c.id for c in found) == ["canary-000", "canary-001"]
    assert found[0] in make_canaries(2, 13)  # what the gate ranks is what was planted
    assert len(read_records(out)) == 8 + 2 * 3
    assert [p.name for p in out.parent.iterdir()] == ["train.jsonl"]  # no temporary


def test_malformed_canary_field_is_named():
    with pytest.raises(InputError, match="r0: malformed canary"):
        split_canaries([{**chat(0, "x"), "canary": {"id": "c"}}])


def test_probes_start_with_records_holding_personal_data():
    records = [chat(i, f"Plain answer number {i}.") for i in range(6)]
    records[4] = chat(4, "Write to helena.marsh@example.com today.")
    picked = select_probes(records, ProbeConfig(records=3), seed=3)
    assert len(picked) == 3 and picked[0]["id"] == "r4"
    assert select_probes(records, ProbeConfig(records=0), seed=3) == []


# -- per-token scoring -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    model = build_tiny_model(TinyModelConfig(vocab_size=260), seed=0).eval()
    return model, build_byte_tokenizer()


def test_scores_cover_assistant_tokens_and_match_the_models_own_loss(tiny):
    model, tok = tiny
    records = [chat(1, "Short."), chat(2, "A much longer answer, with more bytes.")]
    logprobs = score_records(model, tok, records, max_seq_len=128, batch_size=2)
    examples = encode_records(records, tok, 128)

    for lp, example in zip(logprobs, examples, strict=True):
        assert lp.size == example.targets  # the answer's bytes and its </s>
        ids = torch.tensor([example.input_ids])
        with torch.no_grad():
            own = model(input_ids=ids, labels=torch.tensor([example.labels])).loss
        assert mean_losses([lp])[0] == pytest.approx(float(own), rel=1e-5)


def test_batching_and_padding_do_not_change_scores(tiny):
    model, tok = tiny
    records = [chat(i, "x" * (3 + 7 * i)) for i in range(5)]
    together = score_records(model, tok, records, 128, batch_size=5)
    alone = [score_records(model, tok, [r], 128, batch_size=1)[0] for r in records]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def cut_off(i: int) -> dict:
    """A record whose prompt alone fills max_seq_len=64: no answer token is left."""
    record = chat(i, "An answer that never fits.")
    record["messages"][0]["content"] = f"Question {i}, " + "long context " * 8
    return record


def test_records_cut_before_their_answer_are_skipped_like_the_trainer_skips_them(
    tiny,
):
    from ragtune.tasks.training import data as training_data

    _, tok = tiny
    records = [chat(0, "answer"), cut_off(1), chat(2, "another answer")]
    trained = training_data.encode_records(
        [r["messages"] for r in records], tok, max_seq_len=64
    )
    assert trained.dropped == 1  # the trainer never learnt from r1
    assert [r["id"] for r in scorable(records, tok, 64)] == ["r0", "r2"]
    assert encode_records(records, tok, 64) == trained.examples
    # score_records pairs its arrays with the records it was given: it refuses
    # rather than silently shifting every score after r1 by one
    with pytest.raises(InputError, match=r"r1: no assistant tokens.*scorable"):
        score_records(tiny[0], tok, records, 64)


def test_gate_leaves_cut_off_records_out_of_every_check(tiny):
    model, tok = tiny
    members = [chat(i, f"Member answer {i}.") for i in range(6)]
    held_out = [chat(10 + i, f"Held-out answer {i}.") for i in range(6)]
    cfg = PrivacyConfig(probe=ProbeConfig(records=20, max_new_tokens=4))

    def gate(extra_members: list, extra_held_out: list):  # noqa: ANN202
        return run_privacy_gate(
            model, tok, members + extra_members, held_out + extra_held_out, cfg,
            reference=model, max_seq_len=64,
        )  # fmt: skip

    with_cut = gate([cut_off(7), cut_off(8)], [cut_off(17)])
    without = gate([], [])
    ratio = with_cut.attacks[0]
    assert (ratio.members, ratio.non_members) == (6, 6)
    assert with_cut.get("pii_extraction").measured["probed"] == 6
    assert with_cut.attacks == without.attacks  # the same figures, record for record


def test_reference_needs_an_adapter_or_a_model(tiny):
    model, _ = tiny
    with pytest.raises(ConfigError, match="reference model"), reference_model(model):
        pass
    with reference_model(model, reference=model) as ref:
        assert ref is model
