"""Validity in time: clause markers, what amendments close, and search as of a day
on a real LanceDB index of the sample complaints procedure and its amendment."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from ragtune.tasks.index.chunking import chunk_document, split_clauses
from ragtune.tasks.index.clauses import clause_at, clauses_in, split_at_clauses
from ragtune.tasks.index.config import ChunkingConfig, IndexConfig
from ragtune.tasks.index.corpus import chunk_corpus, document_hash, plan_refresh
from ragtune.tasks.index.search import doc_ranking, hybrid_search
from ragtune.tasks.index.store import IndexStore
from ragtune.tasks.index.validity import derive_validity
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.ingest.metadata import to_doc_meta
from ragtune.tasks.ingest.models import Document
from ragtune.tasks.ingest.problems import FileProblem

PROCEDURE = "complaints-handling-procedure"
AMENDMENT = "complaints-response-deadline-amendment-2026"
QUESTION = "How long do we have to send a final response to a complaint?"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("**Clause 2.3 Final response.** A final response", "2.3"),
        ("**16.2.2** The maximum reimbursement", "16.2.2"),
        ("7.3.2 The representative APR must be", "7.3.2"),
        ("Rule 12.2: Early contact and charges", "12.2"),
        ("### Clause 3.1(b): occasional transactions", "3.1(b)"),
        ("Article 12", "12"),
        ("Article 12 of the Act protects", ""),  # a mention, not a marker
        ("1.5 million members joined", ""),  # an amount
        ("## 1. What counts as a complaint", ""),  # a numbered heading
        ("3.25% of risk-weighted assets", ""),
    ],
)
def test_clause_markers(text: str, number: str) -> None:
    assert clause_at(text) == number


def test_markers_inside_a_paragraph_start_pieces_of_their_own() -> None:
    pdf_line = (
        "3.3.1 The minimum leverage ratio is 3.25%. 3.3.2 The LCR must be at least "
        "100%.\nReporting calendar\n12.3.2 The borrower is told in writing."
    )
    assert [clause_at(p) for p in split_at_clauses(pdf_line)] == [
        "3.3.1",
        "3.3.2",
        "12.3.2",
    ]
    assert clauses_in(pdf_line) == {"3.3.1", "3.3.2", "12.3.2"}


def test_a_title_line_goes_with_the_clause_under_it() -> None:
    text = (
        "## 2. Deadlines\n\n**Clause 2.1 Ack.** Within 3 days.\n\n"
        "**Clause 2.2 Final.** Within 8 weeks.\n\nRule 2.9: Review\n12.4.1 Then."
    )
    blocks = split_clauses(text)
    assert [n for n, _ in blocks] == ["2.1", "2.2", "12.4.1"]
    assert blocks[0][1].startswith("## 2. Deadlines\n\n**Clause 2.1")
    assert blocks[2][1].startswith("Rule 2.9: Review")
    assert split_clauses("No markers here.\n\nAt all.") == [
        ("", "No markers here.\n\nAt all.")
    ]


def _doc(doc_id: str, text: str, **meta: object) -> Document:
    return Document(
        doc_id=doc_id,
        source_path=f"{doc_id}.md",
        format="markdown",
        title=doc_id,
        text=text,
        content_hash=doc_id,
        size_bytes=len(text),
        **meta,  # type: ignore[arg-type]
    )


POLICY = _doc(
    "policy",
    "# Policy\n\nScope of the policy.\n\n**Clause 3.1.** Due diligence applies to:\n"
    "- (b) transactions of EUR 10,000\n\n**Clause 4.2.** Files are refreshed every "
    "3 years.\n\n**Clause 5.1.** Enhanced checks for PEPs.",
    effective_date=date(2024, 1, 1),
)


def _chunks(doc: Document, *others: Document) -> dict[str, tuple]:
    validity = derive_validity([doc, *others])
    chunks = chunk_document(
        doc, "regulatory", ChunkingConfig(), "h", validity.of(doc.doc_id)
    )
    return {c.clause: (c.valid_until, c.superseded_by, c.amended_by) for c in chunks}


def test_an_amendment_closes_the_clauses_it_names_and_marks_a_sub_clause() -> None:
    amendment = _doc(
        "amend",
        "Clause 4.2 now reads: every 2 years.",
        effective_date=date(2026, 7, 1),
        amends="policy",
        clauses=("3.1(b)", "4.2"),
    )
    by_clause = _chunks(POLICY, amendment)
    assert by_clause["4.2"] == (date(2026, 6, 30), "amend", "")
    # 3.1(b) has no marker of its own: clause 3.1 stays in force, marked
    assert by_clause["3.1"] == (None, None, "amend@2026-07-01#3.1(b)")
    assert by_clause["5.1"] == (None, None, "")
    assert by_clause[""] == (None, None, "")
    assert derive_validity([POLICY, amendment]).warnings == []


def test_supersedes_closes_the_whole_document_and_the_earliest_closure_wins() -> None:
    successor = _doc(
        "policy-2027",
        "New policy.",
        effective_date=date(2027, 1, 1),
        supersedes="policy",
    )
    amendment = _doc(
        "amend", "x", effective_date=date(2026, 7, 1), amends="policy", clauses=("4.2",)
    )
    by_clause = _chunks(POLICY, successor, amendment)
    assert by_clause["5.1"] == (date(2026, 12, 31), "policy-2027", "")
    assert by_clause["4.2"] == (date(2026, 6, 30), "amend", "")


def test_an_own_valid_until_earlier_than_any_closure_is_kept() -> None:
    ended = replace(POLICY, valid_until=date(2025, 3, 31))
    amendment = _doc(
        "amend", "x", effective_date=date(2026, 7, 1), amends="policy", clauses=("4.2",)
    )
    by_clause = _chunks(ended, amendment)
    assert by_clause["4.2"] == (date(2025, 3, 31), None, "")


def test_what_cannot_be_applied_is_a_warning_naming_it() -> None:
    docs = [
        POLICY,
        _doc("erratum", "x", effective_date=date(2026, 1, 1), amends="policy"),
        _doc("orphan", "x", effective_date=date(2026, 1, 1), amends="gone"),
        _doc("undated", "x", supersedes="policy"),
        _doc("unknown", "x", effective_date=date(2026, 1, 1), amends="policy",
             clauses=("9.9",)),
    ]  # fmt: skip
    validity = derive_validity(docs)
    reasons = dict(validity.warnings)
    assert reasons["orphan.md"].startswith("amends gone, which is not in the knowledge")
    assert "no effective_date" in reasons["undated.md"]
    assert (
        "clause 9.9 of policy, which has no clause marked so" in reasons["unknown.md"]
    )
    assert "erratum.md" not in reasons  # an erratum marks, it does not close
    policy = validity.of("policy")
    assert policy.whole is None and policy.clauses == {}
    assert [a.by for a in policy.amended] == ["erratum", "unknown"]


def test_clauses_metadata_is_read_as_written_and_needs_amends() -> None:
    meta = to_doc_meta({"amends": "x", "clauses": ["2.10", "3.1(b)"]})
    assert meta.clauses == ("2.10", "3.1(b)")
    assert to_doc_meta({"amends": "x", "clauses": "7.3.2, 7.3.3"}).clauses == (
        "7.3.2",
        "7.3.3",
    )
    with pytest.raises(FileProblem, match="no 'amends' says of which document"):
        to_doc_meta({"clauses": ["2.3"]})


def test_a_new_amendment_changes_the_amended_documents_hash_only() -> None:
    amendment = _doc(
        "amend", "x", effective_date=date(2026, 7, 1), amends="policy", clauses=("4.2",)
    )
    other = _doc("other", "Unrelated.")
    before = derive_validity([POLICY, other])
    after = derive_validity([POLICY, other, amendment])
    assert document_hash(other, "r", before.of("other")) == document_hash(
        other, "r", after.of("other")
    )
    assert document_hash(POLICY, "r", before.of("policy")) != document_hash(
        POLICY, "r", after.of("policy")
    )
    # documents nothing amends keep the hash they had before validity existed
    assert document_hash(other, "r") == document_hash(other, "r", after.of("other"))


@pytest.fixture(scope="module")
def complaints_kb(tmp_path_factory, repo_root: Path) -> Path:  # noqa: ANN001
    kb = tmp_path_factory.mktemp("kb") / "compliance"
    kb.mkdir()
    for name in (PROCEDURE, AMENDMENT):
        shutil.copy(repo_root / "data/kb/compliance" / f"{name}.md", kb)
    return kb.parent


def _refresh(store: IndexStore, documents: list[Document]):  # noqa: ANN202
    """Refresh ``store`` to exactly ``documents`` (the whole knowledge base), the
    way the flow does: validity derived from all of them, only changed ones chunked."""
    labels = {d.doc_id: "regulatory" for d in documents}
    validity = derive_validity(documents)
    plan = plan_refresh(documents, labels, store.live_documents(), None, validity)
    chunks, hashes = chunk_corpus(
        plan.documents, labels, ChunkingConfig(), "kb", validity
    )
    live = {d: h for d, h in store.live_documents().items() if d in labels}
    stats = store.refresh(chunks, {**live, **hashes})
    return plan, stats


def _indexed(kb: Path, tmp_path: Path, embedder):  # noqa: ANN001, ANN202
    """The knowledge base's documents and a store refreshed from all of them."""
    documents = list(load_knowledge_base(kb, DataConfig()).documents)
    store = IndexStore(str(tmp_path / "index"), "chunks", embedder, cache=False)
    _refresh(store, documents)
    return documents, store


def test_search_answers_with_the_rule_in_force_on_each_day(
    complaints_kb: Path,
    tmp_path: Path,
    embedder,  # noqa: ANN001
) -> None:
    _, store = _indexed(complaints_kb, tmp_path, embedder)
    table = store.candidate()

    def ranked(day: date | None, **kw: object) -> list:
        return hybrid_search(table, embedder, QUESTION, k=5, in_force_on=day, **kw)

    today = ranked(date(2026, 12, 6))
    assert today[0].doc_id == AMENDMENT and "6 weeks" in today[0].text
    assert not any("**8 weeks**" in h.text for h in today)  # never as current
    before = ranked(date(2026, 8, 1))
    assert before[0].doc_id == PROCEDURE and "**8 weeks**" in before[0].text
    assert AMENDMENT not in doc_ranking(before)  # not in force yet
    assert before[0].amended_by == ()  # not amended yet on that day
    # the last day of the old clause still has it; the first day of the new one not
    assert "**8 weeks**" in ranked(date(2026, 8, 31))[0].text
    assert "**8 weeks**" not in ranked(date(2026, 9, 1))[0].text
    marked = ranked(date(2026, 12, 6), include_superseded=True)
    old = next(h for h in marked if "**8 weeks**" in h.text)
    assert old.clause == "2.3" and old.superseded_by == AMENDMENT
    assert old.valid_until == date(2026, 8, 31) and not old.in_force_on(
        date(2026, 12, 6)
    )
    # the procedure's other clauses stay in force, unmarked: 2.3 was named
    others = [h for h in marked if h.doc_id == PROCEDURE and h.clause != "2.3"]
    assert others and all(h.valid_until is None and not h.amended_by for h in others)


def test_withdrawing_the_amendment_reopens_the_clause_without_re_embedding(
    complaints_kb: Path,
    tmp_path: Path,
    embedder,  # noqa: ANN001
) -> None:
    documents, store = _indexed(complaints_kb, tmp_path, embedder)
    procedure = [d for d in documents if d.doc_id == PROCEDURE]
    plan, stats = _refresh(store, procedure)  # the amendment withdrawn
    assert [d.doc_id for d in plan.documents] == [PROCEDURE]  # its validity moved
    assert stats.removed == [AMENDMENT]
    assert stats.chunks_embedded == 0 and stats.chunks_upserted >= 1  # restamped
    hits = hybrid_search(
        store.candidate(), embedder, QUESTION, k=3, in_force_on=date(2026, 12, 6)
    )
    assert hits[0].doc_id == PROCEDURE and "**8 weeks**" in hits[0].text
    assert hits[0].valid_until is None and hits[0].superseded_by is None


def test_an_index_written_before_validity_gets_its_columns(
    tmp_path: Path,
    embedder,  # noqa: ANN001
) -> None:
    import lancedb

    from ragtune.tasks.index import tables as tb
    from ragtune.tasks.index.schema import VALIDITY_DEFAULTS

    doc = _doc("a", "Alpha text about deposits.")
    chunks, hashes = chunk_corpus([doc], {"a": "regulatory"}, ChunkingConfig(), "kb")
    store = IndexStore(str(tmp_path / "index"), "chunks", embedder, cache=False)
    store.refresh(chunks, hashes)
    table = lancedb.connect(tmp_path / "index").open_table("chunks")
    table.drop_columns(list(VALIDITY_DEFAULTS))  # what an older release wrote
    assert "clause" not in table.schema.names
    old = hybrid_search(table, embedder, "deposits", in_force_on=date(2026, 1, 1))
    assert old[0].doc_id == "a" and old[0].clause == ""  # search reads it as is
    # planning (the Dask fan-out's, before the store migrates) reads it too
    (print_,) = tb.read_fingerprints(table).values()
    assert print_[-3:] == ("", None, "")
    store = IndexStore(str(tmp_path / "index"), "chunks", embedder, cache=False)
    stats = store.refresh(chunks, hashes)
    assert stats.chunks_embedded == 0
    assert set(VALIDITY_DEFAULTS) <= set(store.candidate().schema.names)
    assert tb.embedder_info(store.candidate().schema) is not None
    assert IndexConfig().in_force_floor == 1.0
