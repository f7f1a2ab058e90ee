"""The knowledge gap's eval slice, the approval decisions and adapter lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.evaluation.beir import EvalQuery, EvalSet
from ragtune.tasks.promotion import approval as ap
from ragtune.tasks.promotion.adapters import adapter_path
from ragtune.tasks.promotion.config import PromotionConfig
from ragtune.tasks.promotion.evaluate import KnowledgeGap, gate_queries

QUERIES = tuple(
    EvalQuery(f"q{i}", f"question {i}", {"class": cls})
    for i, cls in enumerate(["regulatory", "historical"] * 5)
)
EVALSET = EvalSet("eval", "test", QUERIES, {})


def test_gap_queries_always_join_the_sample() -> None:
    gap = KnowledgeGap(classes=("historical",), query_ids=("q0",))
    picked = gate_queries(EVALSET, limit=2, seed=13, gap=gap)
    qids = [q.qid for q in picked.queries]
    wanted = {"q0"} | {q.qid for q in QUERIES if q.metadata["class"] == "historical"}
    assert wanted <= set(qids) and len(qids) <= 2 + len(wanted)
    assert qids == sorted(qids, key=lambda q: int(q[1:]))  # set order kept


def test_gap_selecting_nothing_is_bad_input() -> None:
    with pytest.raises(InputError, match="selects no eval query"):
        gate_queries(EVALSET, None, 13, KnowledgeGap(classes=("pricing",)))


def test_a_gap_with_its_own_eval_set_takes_all_of_it_unless_narrowed() -> None:
    whole = KnowledgeGap(name="own", eval_set=Path("gaps/own"), metric="format_ok")
    assert all(whole.matches(q) for q in QUERIES)
    narrowed = KnowledgeGap(name="own", eval_set=Path("gaps/own"), query_ids=("q1",))
    assert [q.qid for q in QUERIES if narrowed.matches(q)] == ["q1"]
    # without an own set, an empty slice still selects nothing
    assert not any(KnowledgeGap().matches(q) for q in QUERIES)


def test_approval_decisions_say_who_and_how() -> None:
    cfg = PromotionConfig(auto_approver="ci-bot", approval_timeout_s=60)
    auto = ap.auto_approval(cfg)
    assert (auto.approve, auto.approver, auto.how) == (True, "ci-bot", "auto")
    late = ap.timeout_rejection(cfg)
    assert not late.approve and "60 s" in late.reason
    assert late.audit_action == "promotion.refused"
    form = ap.from_form(True, "  ", "")
    assert (form.approver, form.reason) == ("unknown", "(none given)")
    assert form.how == "human"


def test_adapter_path_from_file_uri(tmp_path: Path) -> None:
    adapter = tmp_path / "my adapter"
    adapter.mkdir()
    with pytest.raises(InputError, match="adapter_config.json missing"):
        adapter_path(adapter.as_uri(), tmp_path / "cache")
    (adapter / "adapter_config.json").write_text("{}")
    assert adapter_path(adapter.as_uri(), tmp_path / "cache") == adapter
    assert adapter_path(str(adapter), tmp_path / "cache") == adapter
