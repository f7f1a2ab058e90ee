"""Builds the complaint-case-update gap's data: SFT conversations and an eval set.

The gap (``data/gaps/sample-gaps.yaml``, ``complaint-case-updates``) is a format
gap: complaint handlers want each case update as one JSON object for the
case-management system (``data/gaps/formats/complaint-case-update.schema.json``).
The cases are synthetic and pseudonymous (a case number, dates and a topic; no
member is named), and every field follows the Complaints Handling Procedure in the
knowledge base as amended on 2026-09-01:

- acknowledged or investigating: the final response is due 6 weeks after receipt
  (8 weeks for complaints received before 1 September 2026), or 15 business days
  for payment-services complaints (clauses 2.3 and 2.4);
- final-response: the member may refer the complaint to the ombudsman within
  6 months of the final response (clause 3.1);
- closed (redress accepted): redress is paid within 28 days (clause 4.2).

The ombudsman referral right is stated once a final response has been issued.

Outputs (committed, so a fresh clone needs no build step):

- ``data/sft/curated/complaint-case-updates.chat.jsonl``: conversations whose
  system turn is the closed-book answer prompt's, so the fine-tuned model is
  trained on the prompt it is evaluated and served with;
- ``data/gaps/complaint-case-updates/``: a BEIR-layout eval set (queries with the
  reference JSON as answer and the format, qrels to the two procedure documents),
  on case numbers and dates disjoint from the SFT set's.

Deterministic: a fixed seed; rerunning rewrites identical files. Usage:
``python data/tools/make_case_updates.py [REPO_ROOT]``.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ragtune.tasks.generation.prompts import PromptTemplate

SEED = 20261204
GAP = "complaint-case-updates"
SFT_OUT = "data/sft/curated/complaint-case-updates.chat.jsonl"
EVAL_DIR = "data/gaps/complaint-case-updates"
SCHEMA = "data/gaps/formats/complaint-case-update.schema.json"
PROMPT = "data/prompts/answer_without_context.j2"
SFT_CASES = 320
EVAL_CASES = 16
AMENDED_ON = date(2026, 9, 1)
DOCS = ("complaints-handling-procedure", "complaints-response-deadline-amendment-2026")

# (topic as the handler writes it, whether it is a payment-services complaint)
TOPICS = (
    ("a card payment declined abroad", True),
    ("a direct debit taken twice", True),
    ("a transfer sent to the wrong account", True),
    ("a delayed international payment", True),
    ("a standing order that was not paid", True),
    ("a card blocked without warning", True),
    ("an early repayment charge on a fixed-rate mortgage", False),
    ("savings interest paid late", False),
    ("a bonus rate that was not applied", False),
    ("a cash ISA transfer that took too long", False),
    ("an overdraft fee charged in error", False),
    ("a mortgage offer that expired during a delay", False),
    ("maturity instructions on a fixed-term bond that were ignored", False),
    ("a rude call handler", False),
    ("a branch that closed without notice", False),
    ("a home insurance claim handled slowly", False),
    ("an arrears fee on a mortgage", False),
    ("a letter sent to an old address", False),
)
STAGES = ("acknowledged", "investigating", "final-response", "closed")
REQUESTS = (
    "Draft the case update for {case}: complaint about {topic}, received {received}. "
    "{event}",
    "Produce the {stage_words} case update for {case}. The member complained on "
    "{received} about {topic}. {event}",
    "Case {case} ({topic}), received {received}. {event} Write the case update.",
    "Write the JSON case update for complaint {case}: {topic}, received on "
    "{received}. {event}",
)
FIELDS = (
    " Return one JSON object with case_id, stage, deadline, summary and "
    "ombudsman_referral_rights."
)
STAGE_WORDS = {
    "acknowledged": "acknowledgement",
    "investigating": "investigation",
    "final-response": "final-response",
    "closed": "closing",
}


@dataclass(frozen=True)
class Case:
    """One synthetic complaint at one stage, and its case update."""

    number: int
    topic: str
    payments: bool
    received: date
    stage: str
    event_date: date

    @property
    def case_id(self) -> str:
        return f"CMP-{self.number:06d}"

    def deadline(self) -> date:
        if self.stage == "final-response":
            return _add_months(self.event_date, 6)
        if self.stage == "closed":
            return self.event_date + timedelta(days=28)
        if self.payments:
            return _add_business_days(self.received, 15)
        weeks = 6 if self.received >= AMENDED_ON else 8
        return self.received + timedelta(weeks=weeks)

    def event(self) -> str:
        when = _words(self.event_date)
        return {
            "acknowledged": f"We acknowledged it in writing on {when}.",
            "investigating": f"The investigation started on {when}.",
            "final-response": f"Our final response was sent on {when}.",
            "closed": f"The member accepted our redress offer on {when}.",
        }[self.stage]

    def update(self) -> dict[str, object]:
        summary = f"Complaint about {self.topic}, received {self.received:%Y-%m-%d}. "
        summary += {
            "acknowledged": f"Acknowledged in writing on {self.event_date:%Y-%m-%d}.",
            "investigating": f"Investigation opened on {self.event_date:%Y-%m-%d}.",
            "final-response": f"Final response sent on {self.event_date:%Y-%m-%d}.",
            "closed": f"Redress offer accepted on {self.event_date:%Y-%m-%d}.",
        }[self.stage]
        return {
            "case_id": self.case_id,
            "stage": self.stage,
            "deadline": f"{self.deadline():%Y-%m-%d}",
            "summary": summary,
            "ombudsman_referral_rights": self.stage in ("final-response", "closed"),
        }

    def request(self, variant: int) -> str:
        text = REQUESTS[variant % len(REQUESTS)].format(
            case=self.case_id,
            topic=self.topic,
            received=_words(self.received),
            event=self.event(),
            stage_words=STAGE_WORDS[self.stage],
        )
        return text + FIELDS


def _words(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _add_business_days(day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _case(rng: random.Random, number: int) -> Case:
    topic, payments = rng.choice(TOPICS)
    received = date(2026, 6, 1) + timedelta(days=rng.randrange(180))
    stage = rng.choice(STAGES)
    gap = {"acknowledged": (1, 3), "investigating": (3, 10)}.get(stage, (14, 40))
    event = received + timedelta(days=rng.randint(*gap))
    return Case(number, topic, payments, received, stage, event)


def _cases(rng: random.Random, count: int, numbers: range) -> list[Case]:
    picked = rng.sample(numbers, count)
    return [_case(rng, n) for n in picked]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def build(root: Path) -> dict[str, int]:
    rng = random.Random(SEED)
    system = PromptTemplate.load(root / PROMPT).render("?")[0].content
    # Disjoint case-number ranges: no eval case was seen in training.
    train = _cases(rng, SFT_CASES, range(1000, 5000))
    held_out = _cases(rng, EVAL_CASES, range(5000, 9000))
    sft = []
    for i, case in enumerate(train):
        sft.append(
            {
                "id": f"nw-case-{i:05d}",
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": case.request(i)},
                    {"role": "assistant", "content": _json(case.update())},
                ],
                "meta": {
                    "class": "regulatory",
                    "doc_id": DOCS[0],
                    "gap": GAP,
                    "group": case.case_id,
                },
            }
        )
    _write_jsonl(root / SFT_OUT, sft)
    schema = json.loads((root / SCHEMA).read_text(encoding="utf-8"))
    queries = [
        {
            "_id": f"cu-q{i + 1:03d}",
            "text": case.request(i + 1),
            "metadata": {
                "answer": _json(case.update()),
                "class": "regulatory",
                "format": {"json_schema": schema},
            },
        }
        for i, case in enumerate(held_out)
    ]
    out = root / EVAL_DIR
    _write_jsonl(out / "queries.jsonl", queries)
    qrels = ["query-id\tcorpus-id\tscore"]
    qrels += [f"{q['_id']}\t{doc}\t1" for q in queries for doc in DOCS]
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    (out / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    return {"sft": len(sft), "eval": len(queries)}


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
