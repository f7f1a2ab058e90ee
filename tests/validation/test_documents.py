"""validate_documents with a real GX file context: what is kept, what is
quarantined and why, and when the share gate stops the run."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from ragtune.errors import GateFailed
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import load_knowledge_base
from ragtune.tasks.ingest.models import Rejection
from ragtune.tasks.validation.config import ValidationConfig
from ragtune.tasks.validation.documents import validate_documents
from ragtune.tasks.validation.quarantine import (
    enforce_quarantine_share,
    write_quarantine_report,
)

from .conftest import CATEGORIES, TEXT, TODAY, make_doc

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + bytes(32)


def _md(front: str, body: str = TEXT) -> str:
    return f"---\n{front}\n---\n\n# Heading\n\n{body}\n"


KB_FILES: dict[str, str | bytes] = {
    "compliance/aml.md": _md(
        "id: aml-policy\ncategory: regulatory\nlast_reviewed: 2026-06-01"
    ),
    "products/rates.html": (
        "<html><head><title>Saver rates</title>"
        '<meta name="ragtune:category" content="product-pricing"></head>'
        f"<body><h1>Saver</h1><p>{TEXT}</p></body></html>"
    ),
    "reports/minutes.txt": TEXT,
    "reports/minutes.txt.meta.yaml": "category: historical\neffective_date: 2021-09-16",
    "guides/glossary.md": f"# Glossary\n\n{TEXT}\n",  # no category: allowed
    "compliance/broken.md": _md("title: Rules: the sequel"),
    "guides/marketing.md": _md("category: marketing"),
    "guides/empty.md": b"",
    "guides/logo.md": PNG,
    "shared-drive/letter.docx": DOCX,
    "shared-drive/credit-fr.txt": ("Crédit à taux révisé chaque année. " * 3).encode(
        "latin-1"
    ),
    "compliance/future.md": _md("category: regulatory\nlast_reviewed: 2027-01-10"),
    "reports/aml-copy.md": _md("id: aml-policy\ncategory: regulatory"),
}


@pytest.fixture
def bad_kb(write_kb) -> Path:
    root = write_kb(KB_FILES)
    with (root / "reports/archive.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: rejected by size, never read
    return root


def test_bad_inputs_are_quarantined_and_good_ones_kept(
    bad_kb: Path, project: Path
) -> None:
    loaded = load_knowledge_base(bad_kb, DataConfig())
    cfg = ValidationConfig()  # Data Docs on

    report = validate_documents(
        loaded.documents, loaded.rejected, cfg, CATEGORIES, TODAY, project
    )

    assert sorted(d.doc_id for d in report.documents) == [
        "guides--glossary", "products--rates", "reports--minutes",
    ]  # fmt: skip
    reasons = {r.source_path: r.reasons for r in report.rejected}
    assert reasons["guides/marketing.md"] == (
        "category 'marketing' is not one of: "
        "domain-concept, historical, product-pricing, regulatory",
    )
    assert reasons["compliance/future.md"] == (
        "last_reviewed 2027-01-10 is in the future (today is 2026-11-25)",
    )
    assert (
        reasons["reports/aml-copy.md"]
        == reasons["compliance/aml.md"]
        == (
            "duplicate doc_id 'aml-policy': claimed by compliance/aml.md, "
            "reports/aml-copy.md; give each document its own id",
        )
    )
    starts = {
        "compliance/broken.md": "malformed front matter: mapping values",
        "guides/empty.md": "file is empty",
        "guides/logo.md": "binary content (PNG image) in a .md file",
        "shared-drive/letter.docx": "unsupported file type '.docx' (ZIP archive",
        "shared-drive/credit-fr.txt": "not valid UTF-8 (byte 0xe9 at offset 2)",
        "reports/archive.txt": "file is 50.0 MB, larger than data.max_file_mb",
    }
    assert set(reasons) == set(starts) | {
        "guides/marketing.md", "compliance/future.md", "reports/aml-copy.md",
        "compliance/aml.md",
    }  # fmt: skip
    for path, start in starts.items():
        assert len(reasons[path]) == 1 and reasons[path][0].startswith(start), path
    assert report.n_files == 13
    assert report.quarantine_share == pytest.approx(10 / 13)
    assert report.passed is False
    failed = {e.name: e.unexpected_count for e in report.expectations if not e.success}
    assert failed == {
        "category-allowed": 1, "last_reviewed-not-future": 1, "doc_id-unique": 2,
    }  # fmt: skip
    assert report.data_docs_path == str(
        project / "gx/uncommitted/data_docs/local_site/index.html"
    )
    assert Path(report.data_docs_path).is_file()
    with pytest.raises(
        GateFailed, match=r"10 of 13 files quarantined \(76\.9%\).*10\.0%"
    ):
        enforce_quarantine_share(report, cfg)


def test_no_good_document_is_dropped(project: Path, vcfg: ValidationConfig) -> None:
    docs = [
        make_doc(f"guides/doc-{i}.md", category=c) for i, c in enumerate(CATEGORIES)
    ]
    docs.append(make_doc("guides/no-class.md", category=None, effective_date=None))

    report = validate_documents(docs, [], vcfg, CATEGORIES, TODAY, project)

    assert report.documents == tuple(docs)
    assert (report.rejected, report.quarantine_share, report.passed) == ((), 0.0, True)
    assert all(e.success and e.error is None for e in report.expectations)
    assert len(report.expectations) == 14
    assert report.data_docs_path is None


def test_date_horizons(project: Path, vcfg: ValidationConfig) -> None:
    docs = [
        make_doc("a/reviewed-today.md", last_reviewed=TODAY),
        make_doc("a/reviewed-tomorrow.md", last_reviewed=TODAY + timedelta(days=1)),
        make_doc("b/effective-366.md", effective_date=TODAY + timedelta(days=366)),
        make_doc("b/effective-367.md", effective_date=TODAY + timedelta(days=367)),
        make_doc("c/valid-until-future.md", valid_until=date(2030, 1, 1)),
    ]

    report = validate_documents(docs, [], vcfg, CATEGORIES, TODAY, project)

    assert {r.source_path: r.reasons for r in report.rejected} == {
        "a/reviewed-tomorrow.md": (
            "last_reviewed 2026-11-26 is in the future (today is 2026-11-25)",
        ),
        "b/effective-367.md": (
            "effective_date 2027-11-27 is more than 366 days after today "
            "(2026-11-25); rules are not announced that far ahead",
        ),
    }


def test_text_checks_give_one_reason_per_failed_expectation(
    project: Path, vcfg: ValidationConfig
) -> None:
    docs = [
        make_doc("short.md", text="Too short."),
        make_doc("debris.md", text=TEXT + " caf\ufffd\ufffd \x07bell"),
        make_doc("blank.md", text="   "),
        make_doc("fine.md"),
    ]
    cfg = vcfg.model_copy(update={"max_quarantine_share": 0.75})

    report = validate_documents(docs, [], cfg, CATEGORIES, TODAY, project)

    limits = "allowed 40 to 500000 (validation.min_chars / validation.max_chars)"
    assert {r.source_path: r.reasons for r in report.rejected} == {
        "short.md": (f"extracted text has 10 characters; {limits}",),
        "debris.md": (
            "text contains encoding debris: 2 U+FFFD replacement character(s); "
            "control character(s) U+0007 (2.22% of the text, over "
            "validation.max_debris_share 0.10%)",
        ),
        "blank.md": (
            "extracted text is empty",
            f"extracted text has 3 characters; {limits}",
        ),
    }
    assert [d.source_path for d in report.documents] == ["fine.md"]
    assert (report.quarantine_share, report.passed) == (0.75, True)
    enforce_quarantine_share(report, cfg)  # exactly at the limit: no error


def test_a_little_debris_in_a_long_document_is_a_warning_not_a_quarantine(
    project: Path, vcfg: ValidationConfig
) -> None:
    """One U+FFFD in a long statute must not take its only copy out of the index."""
    long = " ".join([TEXT] * 40)  # about 5,000 characters
    docs = [
        make_doc("one-bad-byte.md", text=long + " Ann\ufffde 2024."),
        make_doc("binary.md", text=TEXT + "\ufffd" * 20),
        make_doc("fine.md"),
    ]
    cfg = vcfg.model_copy(update={"max_quarantine_share": 0.5})

    report = validate_documents(docs, [], cfg, CATEGORIES, TODAY, project)

    assert {d.source_path for d in report.documents} == {"fine.md", "one-bad-byte.md"}
    assert [r.source_path for r in report.rejected] == ["binary.md"]
    [(path, why)] = report.warnings
    assert path == "one-bad-byte.md"
    assert why.startswith("encoding debris kept: 1 U+FFFD replacement character(s)")
    strict = cfg.model_copy(update={"max_debris_share": 0.0})
    report = validate_documents(docs, [], strict, CATEGORIES, TODAY, project)
    assert "one-bad-byte.md" in {r.source_path for r in report.rejected}


def test_duplicate_ids_are_an_error_naming_every_path(
    project: Path, vcfg: ValidationConfig
) -> None:
    from ragtune.errors import InputError
    from ragtune.tasks.validation.quarantine import enforce_quarantine_share

    docs = [
        make_doc("b/policy.md", "policy"),
        make_doc("c/policy.md", "policy"),
        make_doc("a/policy.md", "policy"),
        make_doc("a/other.md", "other"),
    ]
    cfg = vcfg.model_copy(update={"max_quarantine_share": 0.9})

    report = validate_documents(docs, [], cfg, CATEGORIES, TODAY, project)

    # which copy is the real one is not for ragtune to guess: none is kept
    assert [d.source_path for d in report.documents] == ["a/other.md"]
    claimed = "claimed by a/policy.md, b/policy.md, c/policy.md"
    for path in ("a/policy.md", "b/policy.md", "c/policy.md"):
        (rejection,) = [r for r in report.rejected if r.source_path == path]
        assert rejection.doc_id == "policy"
        assert rejection.reasons == (
            f"duplicate doc_id 'policy': {claimed}; give each document its own id",
        )
    assert report.duplicate_ids == {
        "policy": ["a/policy.md", "b/policy.md", "c/policy.md"]
    }
    assert report.passed is False
    # the refresh stops before the index could lose the live 'policy'
    with pytest.raises(InputError, match=r"'policy' by a/policy.md and b/policy.md"):
        enforce_quarantine_share(report, cfg)


def test_same_content_under_two_ids_is_flagged(
    project: Path, vcfg: ValidationConfig
) -> None:
    docs = [make_doc("a/one.md", "one"), make_doc("b/two.md", "two")]
    docs[1] = replace(docs[1], content_hash=docs[0].content_hash)
    report = validate_documents(docs, [], vcfg, CATEGORIES, TODAY, project)
    assert len(report.documents) == 2 and report.passed
    assert report.warnings == (
        (
            "b/two.md",
            "same content as a/one.md (doc_id 'one'); indexed twice under two ids",
        ),
    )


def test_share_gate_counts_load_rejections(
    project: Path, vcfg: ValidationConfig
) -> None:
    docs = [make_doc(f"d/{i}.md") for i in range(9)]
    one = (Rejection("d/bad.md", ("file is empty",)),)
    two = one + (Rejection("d/worse.md", ("file is empty",)),)

    within = validate_documents(docs, one, vcfg, CATEGORIES, TODAY, project)
    beyond = validate_documents(docs[:8], two, vcfg, CATEGORIES, TODAY, project)

    assert (within.quarantine_share, within.passed) == (0.1, True)
    enforce_quarantine_share(within, vcfg)
    assert (beyond.quarantine_share, beyond.passed) == (0.2, False)
    with pytest.raises(GateFailed) as info:
        enforce_quarantine_share(beyond, vcfg)
    assert "2 of 10 files quarantined (20.0%)" in str(info.value)
    assert "validation.max_quarantine_share (10.0%)" in str(info.value)
    assert info.value.exit_code == 1


def test_empty_knowledge_base_passes(project: Path, vcfg: ValidationConfig) -> None:
    report = validate_documents([], [], vcfg, CATEGORIES, TODAY, project)
    assert (report.documents, report.rejected, report.n_files) == ((), (), 0)
    assert report.passed is True


def test_quarantine_report_lists_every_file_with_reasons(
    project: Path, vcfg: ValidationConfig, tmp_path: Path
) -> None:
    docs = [make_doc("ok.md"), make_doc("odd.md", category="gossip")]
    report = validate_documents(docs, [], vcfg, CATEGORIES, TODAY, project)

    json_path = write_quarantine_report(report, tmp_path / "reports")

    payload = json.loads(json_path.read_text(encoding="utf-8"))
    assert payload["quarantined"] == [
        {
            "source_path": "odd.md",
            "doc_id": "odd",
            "reasons": [
                "category 'gossip' is not one of: "
                "domain-concept, historical, product-pricing, regulatory"
            ],
        }
    ]
    assert (payload["n_files"], payload["n_valid"], payload["passed"]) == (2, 1, False)
    markdown = json_path.with_suffix(".md").read_text(encoding="utf-8")
    assert (
        "Validation FAILED: 1 of 2 files quarantined (50.0%; limit 10.0%)." in markdown
    )
    assert "- `odd.md` (doc_id `odd`)\n  - category 'gossip' is not one of:" in markdown
    row = "| category-allowed | expect_column_values_to_be_in_set | category | failed |"
    assert f"{row} 1 |" in markdown
    assert sorted(os.listdir(json_path.parent)) == ["quarantine.json", "quarantine.md"]
