"""Builds the sample curated SFT set for Northwind Mutual from the knowledge base.

Only stable knowledge is used (freshness classes ``historical`` and
``domain-concept``): volatile rates and rules belong in RAG, not in weights. Four
kinds of question are drawn from the documents as ragtune's loader extracts them:

- table facts (annual-report highlights, the base-rate record, comparison tables);
- definitions ("X is ...", "X means ...") from the concept guides;
- dated events ("on 17 August 2021 ...") from reports, minutes and post-mortems;
- section questions ("what caused ...", "what did the board decide ...").

Each fact gets one to three paraphrased instructions with different answer shapes
(one line, short answer plus detail, bullets), all in the house style: a short
answer, then ``Source: <title> [<doc_id>]``. Paraphrases of one fact share
``meta.group`` so the build keeps them in one split. Sentences holding contact
details or other personal data (phone numbers, e-mails, account numbers) are
skipped; officers' names from published reports are kept (params.yaml declares
the legal basis for ``name``).

Deterministic: a fixed seed and sorted inputs; rerunning on an unchanged knowledge
base rewrites identical files. Usage:
``python data/tools/make_sft_sample.py [REPO_ROOT]``.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from ragtune.app.settings import load_settings
from ragtune.tasks.dataset.dedup import cross_duplicates
from ragtune.tasks.dataset.generate import document_classes
from ragtune.tasks.dataset.sections import split_sections
from ragtune.tasks.dataset.sources import read_eval_queries
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.ingest.models import Document
from ragtune.tasks.privacy import scan

SEED = 20240613
STABLE = ("historical", "domain-concept")
OUT_FACTS = "data/sft/curated/northwind-facts.jsonl"  # instruction/response format
OUT_CHAT = "data/sft/curated/northwind-concepts.chat.jsonl"  # chat format
SYSTEM = "You answer questions for Northwind Mutual's staff. Answer briefly."

MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|"
    "November|December"
)
DATE = re.compile(rf"\b(?:\d{{1,2}} )?(?:{MONTHS}) (?:19|20)\d\d\b")
DEFINITION = re.compile(
    r"^(?P<det>The |An? )?(?P<term>[A-Za-z][\w()'/-]*(?: [\w()'/-]+){0,3}?) "
    r"(?:is|are|means|refers to|shows|measures) (?P<rest>.{25,})$"
)
NOT_TERMS = {"It", "This", "That", "These", "There", "Each", "Every", "Our", "We",
             "You", "Your", "They", "Its", "Here", "What", "Which", "Some", "Most",
             "If", "Suppose", "When", "Where", "While", "After", "Before", "Once",
             "Northwind's", "Log", "One", "Both", "Neither", "Either"}  # fmt: skip
NARRATIVE = {"therefore", "now", "still", "also", "then", "not", "only", "already",
             "expected", "due", "likely", "being", "to"}  # fmt: skip
VAGUE = {"the", "more", "most", "that", "this", "quick", "same", "other", "price"}
PARTICIPLES = {"set", "paid", "made", "shown", "held", "kept", "done", "given", "taken",
               "worked", "lost", "sent", "built", "cut", "put", "met"}  # fmt: skip
PIPE_ROW = re.compile(r"^\|?\s*[^|]+(\|[^|]*)+\|?\s*$")
PDF_VALUE = r"(?:charge of )?(?:EUR )?-?[\d.,]+(?:%| million| billion)?"
PDF_ROW = re.compile(
    rf"^(?P<label>[A-Za-z][A-Za-z ()'/-]+?) (?P<a>{PDF_VALUE}) (?P<b>{PDF_VALUE})$"
)


def _source(doc: Document) -> str:
    return f"Source: {doc.title} [{doc.doc_id}]"


def _clean(sentence: str) -> bool:
    """No personal data other than officers' names, and a whole sentence."""
    kinds = {m.kind for m in scan(sentence)}
    return not (kinds - {"name"}) and sentence.endswith((".", "!", "?"))


def _tables(doc: Document) -> Iterator[tuple[list[str], list[str]]]:
    """(header, row) pairs from pipe tables and from PDF two-year highlight rows."""
    header: list[str] | None = None
    for line in doc.text.splitlines():
        line = line.strip()
        if PIPE_ROW.match(line) and not set(line) <= set("|-: "):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            elif len(cells) == len(header) and cells[0]:
                yield header, cells
            continue
        if line.startswith("Measure ") and len(line.split()) == 3:
            header = ["Measure", *line.split()[1:]]
            continue
        m = PDF_ROW.match(line)
        if m and header and header[0] == "Measure":
            yield header, [m["label"], m["a"], m["b"]]
            continue
        if set(line) <= set("|-: "):
            continue
        header = None if line else header


def _table_facts(doc: Document, rng: random.Random) -> Iterator[dict]:
    for header, row in _tables(doc):
        years = [h for h in header[1:3] if re.fullmatch(r"(19|20)\d\d", h)]
        if header[0] == "Measure" and len(years) == 2:
            yield _annual_fact(doc, header, row, rng)
            continue
        for column in range(1, len(header)):
            if row[column] and header[column]:
                yield _cell_fact(doc, header, row, column, rng)


def _annual_fact(doc: Document, header: list[str], row: list[str], rng) -> dict:
    measure, year, prev_year = row[0].lower(), header[1], header[2]
    value, prev = row[1], row[2]
    asks = [
        f"What was Northwind Mutual's {measure} in {year}?",
        f"How much was the {measure} for {year}?",
        f"Give me the {year} figure for {measure}.",
        f"What {measure} did the society report for {year}?",
        f"In {year}, what was the {measure}?",
        f"Remind me of the {measure} in the {year} accounts.",
    ]
    answers = [
        f"{value} in {year}.",
        f"{value} in {year}, against {prev} in {prev_year}.",
        f"The {year} accounts give {value} ({prev_year}: {prev}).",
        f"Short answer: {value}.\n\nThe year before, {prev_year}, it was {prev}.",
    ]
    return _fact(doc, f"{doc.doc_id}:{measure}", asks, answers, rng)


def _cell_fact(doc, header, row, column, rng) -> dict:
    label, what, value = row[0], header[column].lower(), row[column].rstrip(".")
    asks = [
        f"In {doc.title}, what is the {what} for {label}?",
        f"{doc.title}: under {what}, what is listed for {label}?",
        f"Looking at the table in {doc.title}, what {what} is shown for {label}?",
    ]
    answers = [
        f"{value}.",
        f"For {label}, the {what} is {value}.",
        f"{value} ({label}, {what}).",
    ]
    return _fact(doc, f"{doc.doc_id}:{label}:{what}", asks, answers, rng)


def _definitions(doc: Document, rng: random.Random) -> Iterator[dict]:
    for section in split_sections(doc.text, doc.title):
        sentences = section.sentences()
        for index, sentence in enumerate(sentences):
            m = DEFINITION.match(sentence)
            if not m or not _definitional(m["term"], m["rest"]) or not _clean(sentence):
                continue
            term = (m["det"] or "").lower() + m["term"]
            follow = sentences[index + 1] if index + 1 < len(sentences) else ""
            follow = follow if follow and _clean(follow) else ""
            asks = [
                f"What is {_article(term)}?",
                f"Define {term}.",
                f"What does {term} mean?",
                f"Explain {term} in one or two sentences.",
                f"Can you tell me what {term} is, in plain words?",
                f"A member asks about {term}. How do I explain it?",
            ]
            answers = [sentence, f"{sentence} {follow}".strip()]
            if follow:
                answers.append(f"In short: {sentence}\n\n{follow}")
            yield _fact(doc, f"{doc.doc_id}:def:{term}", asks, answers, rng)


def _definitional(term: str, rest: str) -> bool:
    """A term (no figures, not a pronoun) and a definition, not a narrative."""
    first_of_rest = rest.split()[0].lower()
    participle = first_of_rest.endswith("ed") or first_of_rest in PARTICIPLES
    return (
        term.split()[0] not in NOT_TERMS
        and not re.search(r"\d", term)
        and first_of_rest not in NARRATIVE
        and not participle
        and not set(term.lower().split()) & VAGUE
    )


def _article(term: str) -> str:
    """ "the CET1 ratio", "a standing order", "APR", "liquidity"."""
    first = term.split()[0]
    if first in {"the", "a", "an"} or first.isupper() or first[:1].islower():
        return term
    return f"the {term}" if len(term.split()) > 1 else term


def _events(doc: Document, rng: random.Random) -> Iterator[dict]:
    for section in split_sections(doc.text, doc.title):
        for sentence in section.sentences():
            m = DATE.search(sentence)
            if not m or not _clean(sentence) or len(sentence) < 50:
                continue
            if sentence.startswith(doc.title):
                continue
            when = m.group()
            on = "on" if when[0].isdigit() else "in"
            asks = [
                f"What happened {on} {when}, according to {doc.title}?",
                f"What does {doc.title} record for {when}?",
                f"Why does {when} matter in {doc.title}?",
                f"{section.heading}: what took place {on} {when}?",
            ]
            answers = [sentence, f"According to {doc.title}: {sentence}"]
            yield _fact(doc, f"{doc.doc_id}:event:{sentence[:60]}", asks, answers, rng)


def _sections(doc: Document, rng: random.Random) -> Iterator[dict]:
    for section in split_sections(doc.text, doc.title):
        sentences = [s for s in section.sentences() if _clean(s)]
        if len(sentences) < 2 or section.heading == doc.title:
            continue
        topic, quoted = section.heading.lower(), f'"{section.heading}"'
        asks = [
            f"{doc.title}: what are the main points under {quoted}?",
            f"I need the gist of {topic} from {doc.title}.",
            f"What does the {quoted} part of {doc.title} tell us?",
            f"List the key facts on {topic} in {doc.title}.",
        ]
        bullets = "\n".join(f"- {s}" for s in sentences[:3])
        answers = [
            " ".join(sentences[:2]),
            f"Key points:\n{bullets}",
            f"{sentences[0]}\n\nIn more detail: {' '.join(sentences[1:3])}",
        ]
        yield _fact(doc, f"{doc.doc_id}:section:{section.heading}", asks, answers, rng)
        yield _where(doc, section.heading, sentences[0], rng)


def _where(doc: Document, heading: str, first: str, rng: random.Random) -> dict:
    """Where-to-read questions: name the document and section, then the gist."""
    topic = heading.lower()
    asks = [
        f"Where can I read about {topic}?",
        f"Which document covers {topic}?",
        f"Is there anything on file about {topic}?",
    ]
    answers = [
        f'{doc.title}, in the section "{heading}". It opens: {first}',
        f'See "{heading}" in {doc.title}. In brief: {first}',
    ]
    return _fact(doc, f"{doc.doc_id}:where:{heading}", asks, answers, rng)


def _fact(doc: Document, group: str, asks: list[str], answers: list[str], rng) -> dict:
    """One to three paraphrases of a fact, each its own wording and answer shape."""
    n = rng.choice((1, 2, 2, 3))
    picked_asks = rng.sample(asks, min(n, len(asks)))
    rows = []
    for index, ask in enumerate(picked_asks):
        answer = answers[(index + rng.randrange(len(answers))) % len(answers)]
        rows.append(
            {
                "instruction": ask,
                "response": f"{answer}\n{_source(doc)}",
                "doc_id": doc.doc_id,
                "group": group,
                "variant": index,
            }
        )
    return {"group": group, "rows": rows}


def build(root: Path) -> dict[str, int]:
    settings = load_settings(root / "params.yaml")
    kb = load_knowledge_base(settings.path(settings.data.kb_path), settings.data)
    classes = document_classes(kb.documents, settings.freshness)
    rng = random.Random(SEED)
    facts, chats = [], []
    for doc in sorted(kb.documents, key=lambda d: d.doc_id):
        label = classes.get(doc.doc_id)
        if label not in STABLE:
            continue
        makers = [_table_facts, _events, _sections]
        makers += [_definitions] if label == "domain-concept" else []
        for maker in makers:
            for fact in maker(doc, rng):
                target = chats if maker is _definitions else facts
                target += [dict(row, cls=label) for row in fact["rows"]]
    queries = read_eval_queries(root / "data/eval/queries.jsonl")
    facts, chats = (
        _unleaked(_unique(facts), queries),
        _unleaked(_unique(chats), queries),
    )
    _write(root / OUT_FACTS, [_pair(r, i) for i, r in enumerate(facts)])
    _write(root / OUT_CHAT, [_chat(r, i) for i, r in enumerate(chats)])
    return {"facts": len(facts), "chat": len(chats)}


def _unleaked(rows: list[dict], queries: tuple[str, ...]) -> list[dict]:
    """Drop questions that repeat a retrieval eval query: the eval set must stay
    unseen, or base+RAG vs fine-tuned comparisons would measure memory."""
    leaked = cross_duplicates(queries, [r["instruction"] for r in rows], 0.9)
    drop = {d.item for d in leaked}
    return [r for i, r in enumerate(rows) if i not in drop]


def _unique(rows: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = (row["instruction"], row["response"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _meta(row: dict) -> dict:
    return {
        "doc_id": row["doc_id"],
        "group": row["group"],
        "class": row["cls"],
        "variant": row["variant"],
    }


def _pair(row: dict, index: int) -> dict:
    return {
        "id": f"nw-fact-{index:05d}",
        "instruction": row["instruction"],
        "response": row["response"],
        "meta": _meta(row),
    }


def _chat(row: dict, index: int) -> dict:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": row["instruction"]},
        {"role": "assistant", "content": row["response"]},
    ]
    return {"id": f"nw-concept-{index:05d}", "messages": messages, "meta": _meta(row)}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    counts = build(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
    sys.stdout.write(json.dumps(counts) + "\n")
