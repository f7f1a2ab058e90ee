"""The one gate result type: severities, the worst status, and that every gate
family (dataset, privacy, index publish, evaluation, drift detectors) returns it."""

from __future__ import annotations

import typing
from dataclasses import dataclass

from ragtune.gates import GateResult, Verdicts, results_table, verdict, worst


def test_judged_maps_outcome_and_severity_to_a_status() -> None:
    assert GateResult.judged("a", True, "ok").status == "pass"
    blocking = GateResult.judged("a", False, "no", measured={"x": 1}, subject=7)
    assert blocking.status == "fail" and blocking.blocks and not blocking.met
    assert blocking.to_dict() == {
        "name": "a", "status": "fail", "reason": "no", "measured": {"x": 1},
        "subject": 7,
    }  # fmt: skip
    advisory = GateResult.judged("a", False, "no", blocking=False)
    assert advisory.status == "warn" and not advisory.blocks and not advisory.met
    assert "subject" not in advisory.to_dict()


def test_worst_verdict_and_a_report_over_results() -> None:
    ok, warn, fail = (GateResult(n, n, n) for n in ("pass", "warn", "fail"))
    assert worst([]) == "pass" and worst([ok, warn]) == "warn"
    assert worst([warn, fail, ok]) == "fail"
    assert [verdict(v, 0.1, 0.2) for v in (0.05, 0.15, 0.25)] == [
        "pass",
        "warn",
        "fail",
    ]

    @dataclass(frozen=True)
    class Report(Verdicts):
        results: tuple[GateResult, ...]

    assert Report((ok, warn)).passed and Report((ok, warn)).status == "warn"
    blocked = Report((ok, fail))
    assert not blocked.passed and blocked.failures == (fail,)
    assert blocked.get("fail") is fail
    piped = results_table([GateResult("g", "fail", "a|b")])
    assert piped[-1] == "| g | FAIL | a/b |"


def test_every_gate_family_returns_the_one_type() -> None:
    from ragtune.tasks.dataset import gates as dataset
    from ragtune.tasks.index import checks, quality
    from ragtune.tasks.monitoring.models import DetectorResult
    from ragtune.tasks.privacy import gate as privacy
    from ragtune.tasks.promotion import eval_gate

    producers = [
        checks.row_count_check, checks.self_retrieval_check,
        quality.recall_floor_check, eval_gate._compare, privacy.attack_gate,
        dataset.duplicates_gate,
    ]  # fmt: skip
    for fn in producers:
        assert typing.get_type_hints(fn)["return"] is GateResult, fn.__qualname__
    assert issubclass(DetectorResult, GateResult)
    fired = DetectorResult.of(
        "d", fired=True, advisory=True, value=0.5, threshold=0.3, n=9, reason="r"
    )
    assert fired.status == "warn" and fired.fired and fired.to_json()["fired"]
