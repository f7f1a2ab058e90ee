"""load_knowledge_base on real files: each format, each flaw, the skip rules."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest

from ragtune.errors import InputError
from ragtune.tasks.ingest import loader
from ragtune.tasks.ingest.config import DataConfig
from ragtune.tasks.ingest.loader import default_doc_id, load_knowledge_base

from .conftest import BODY, MARKDOWN, pdf_bytes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
MB = 1024 * 1024


def _docx() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document>Hello</w:document>")
    return buffer.getvalue()


def _by_path(result) -> dict[str, tuple[str, ...]]:
    return {r.source_path: r.reasons for r in result.rejected}


def test_loads_one_document_per_format_in_path_order(good_kb: Path) -> None:
    result = load_knowledge_base(good_kb, DataConfig())

    assert result.rejected == ()
    # Hidden files, sidecars and the .dvc pointer are not documents.
    assert [d.source_path for d in result.documents] == [
        "compliance/aml-policy.md",
        "products/harbour-saver-rates.html",
        "products/travel-premiums.pdf",
        "reports/board-minutes.txt",
    ]
    assert [d.format for d in result.documents] == ["markdown", "html", "pdf", "text"]


def test_markdown_keeps_headings_and_types_front_matter(good_kb: Path) -> None:
    doc = load_knowledge_base(good_kb, DataConfig()).documents[0]

    assert doc.doc_id == "aml-policy"
    assert doc.title == "AML Customer Due Diligence Policy"
    assert doc.category == "regulatory"
    assert doc.effective_date == date(2025, 1, 1)
    assert doc.last_reviewed == date(2025, 12, 4)
    assert doc.valid_until is None
    assert doc.text.startswith("# AML policy\n\n## Thresholds\n\n")
    assert "---" not in doc.text and "category:" not in doc.text
    # Unknown keys are kept as strings; owner has no field of its own.
    assert doc.metadata == {
        "owner": "Financial Crime Compliance",
        "tags": '["aml", "cdd"]',
    }
    raw = (good_kb / "compliance/aml-policy.md").read_bytes()
    assert doc.content_hash == hashlib.sha256(raw).hexdigest()
    assert doc.size_bytes == len(raw)


def test_html_drops_chrome_and_turns_headings_into_markdown(good_kb: Path) -> None:
    doc = load_knowledge_base(good_kb, DataConfig()).documents[1]

    assert doc.doc_id == "harbour-saver-rates"
    assert doc.title == "Harbour Saver Rates"
    assert (doc.category, doc.effective_date) == ("product-pricing", date(2026, 10, 1))
    assert doc.metadata == {"channel": "branch"}
    assert doc.text == (
        "# Harbour Saver\n\nThe Harbour Saver pays 3.10% AER.\n\n"
        "## Rate table\n\nBalance | AER\nEUR 1+ | 3.10%"
    )
    for chrome in ("Home", "All rates", "trackVisit", "color: red"):
        assert chrome not in doc.text


def test_pdf_pages_joined_and_sidecar_metadata_applied(good_kb: Path) -> None:
    doc = load_knowledge_base(good_kb, DataConfig()).documents[2]

    assert doc.doc_id == "products--travel-premiums"  # no id anywhere: from the path
    assert doc.title == "Travel Insurance Premiums"  # sidecar beats the PDF info title
    assert doc.category == "product-pricing"
    assert doc.last_reviewed == date(2026, 6, 30)
    assert "EUR 7,500" in doc.text and doc.text.endswith("\n\nPage two.")


def test_text_file_is_kept_verbatim_with_sidecar(good_kb: Path) -> None:
    doc = load_knowledge_base(good_kb, DataConfig()).documents[3]

    assert doc.doc_id == "board-minutes-2021"
    assert (doc.category, doc.effective_date) == ("historical", date(2021, 9, 16))
    assert doc.text == f"Board minutes extract, 16 September 2021\n\n{BODY}"


def test_sidecar_wins_over_front_matter(kb: Path, write) -> None:
    write("compliance/aml.md", MARKDOWN)
    write(
        "compliance/aml.md.meta.yaml",
        "category: historical\nlast_reviewed: 2026-01-02\n",
    )

    (doc,) = load_knowledge_base(kb, DataConfig()).documents

    assert (doc.doc_id, doc.category) == ("aml-policy", "historical")
    assert doc.last_reviewed == date(2026, 1, 2)
    assert doc.effective_date == date(2025, 1, 1)  # untouched keys survive


def test_unknown_category_is_left_for_validation(kb: Path, write) -> None:
    write("guides/x.md", f"---\ncategory: Marketing\n---\n\n{BODY}")

    (doc,) = load_knowledge_base(kb, DataConfig()).documents

    assert doc.category == "marketing"


BAD_FILES: dict[str, tuple[str | bytes, str]] = {
    "compliance/colon.md": (
        "---\ntitle: Rules: the sequel\ncategory: regulatory\n---\n\nbody text",
        "malformed front matter: mapping values are not allowed here at line 2, "
        "column 13: 'title: Rules: the sequel'",
    ),
    "compliance/unclosed.md": (
        "---\ntitle: x\n\nbody text without a closing fence",
        "malformed front matter: opened with '---' but never closed",
    ),
    "compliance/list.md": (
        "---\n- a\n- b\n---\n\nbody",
        "malformed front matter: expected a mapping of keys, not a list",
    ),
    "compliance/bad-date.md": (
        "---\neffective_date: 31/02/2026\nlast_reviewed: 2026-02-31\n---\n\nbody",
        "effective_date: cannot parse '31/02/2026' as a date (YYYY-MM-DD)",
    ),
    "guides/empty.md": (b"", "file is empty"),
    "guides/blank.txt": (b"  \n\t\n", "file contains only whitespace"),
    "guides/image.md": (PNG, "binary content (PNG image) in a .md file"),
    "guides/nul.txt": (
        b"text\x00with\x00nuls",
        "binary content (NUL bytes) in a .txt file",
    ),
    "shared-drive/letter.docx": (
        _docx(),
        "unsupported file type '.docx' (ZIP archive, e.g. an Office document); "
        "supported: .md, .markdown, .txt, .html, .htm, .pdf",
    ),
    "shared-drive/README": (b"notes", "unsupported file type (no extension)"),
    "products/broken.pdf": (b"%PDF-1.4\n1 0 obj garbage", "broken PDF"),
    "products/scan.pdf": (pdf_bytes(), "PDF has no extractable text (1 page(s)"),
    "products/fake.pdf": (b"just text", "not a PDF: the content is text"),
}


def test_each_bad_file_is_rejected_with_its_reason(kb: Path, write) -> None:
    for rel, (content, _) in BAD_FILES.items():
        write(rel, content)
    write("products/sidecar-bad.txt", BODY)
    write("products/sidecar-bad.txt.meta.yaml", "title: [unclosed\n")
    write("compliance/good.md", MARKDOWN)

    result = load_knowledge_base(kb, DataConfig())

    assert [d.source_path for d in result.documents] == ["compliance/good.md"]
    reasons = _by_path(result)
    assert set(reasons) == {*BAD_FILES, "products/sidecar-bad.txt"}
    for rel, (_, expected) in BAD_FILES.items():
        assert any(r.startswith(expected) for r in reasons[rel]), (rel, reasons[rel])
    # Every bad date is named, not just the first one.
    assert reasons["compliance/bad-date.md"][1] == (
        "last_reviewed: cannot parse '2026-02-31' as a date (YYYY-MM-DD)"
    )
    (sidecar,) = reasons["products/sidecar-bad.txt"]
    assert sidecar.startswith("malformed sidecar sidecar-bad.txt.meta.yaml: ")
    assert "line 2" in sidecar
    assert [r.source_path for r in result.rejected] == sorted(reasons)


def test_latin1_text_names_the_detected_encoding(kb: Path, write) -> None:
    text = (
        "Politique de crédit: les prêts à taux fixe sont révisés chaque année. "
        "Les frais de dossier s'élèvent à 150 euros; le délai de rétractation "
        "est de quatorze jours après la signature du contrat de prêt."
    )
    write("guides/credit-fr.txt", text.encode("latin-1"))

    (rejection,) = load_knowledge_base(kb, DataConfig()).rejected

    (reason,) = rejection.reasons
    assert reason.startswith("not valid UTF-8 (byte 0xe9 at offset 15); ")
    match = re.search(r"detected encoding: (\S+);", reason)
    # Latin-1 and its Windows superset cp1252 cannot be told apart on this text.
    assert match and match.group(1) in {"latin_1", "iso8859_15", "cp1252"}


def test_oversized_file_is_rejected_without_being_read(
    kb: Path, write, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = kb / "reports/archive.txt"
    big.parent.mkdir(parents=True)
    with big.open("wb") as handle:  # sparse: 50 MB on paper, no time to write
        handle.truncate(50 * MB)
    write("reports/small.md", MARKDOWN)
    read: list[str] = []
    real_read = loader.read_source
    monkeypatch.setattr(
        loader, "read_source", lambda p: read.append(p.name) or real_read(p)
    )

    result = load_knowledge_base(kb, DataConfig(max_file_mb=10))

    assert [d.source_path for d in result.documents] == ["reports/small.md"]
    assert _by_path(result) == {
        "reports/archive.txt": (
            "file is 50.0 MB, larger than data.max_file_mb (10 MB); "
            "split it or raise the limit",
        )
    }
    assert read == ["small.md"]
    assert os.path.getsize(big) == 50 * MB


@pytest.mark.parametrize("make", [lambda p: p / "nope", lambda p: p / "file.md"])
def test_missing_or_non_folder_root_raises_input_error(tmp_path: Path, make) -> None:
    root = make(tmp_path)
    if root.name == "file.md":
        root.write_text("x")

    with pytest.raises(InputError, match=re.escape(str(root))):
        load_knowledge_base(root, DataConfig())


def test_extensions_setting_limits_what_is_read(good_kb: Path) -> None:
    result = load_knowledge_base(good_kb, DataConfig(extensions=(".md",)))

    assert [d.source_path for d in result.documents] == ["compliance/aml-policy.md"]
    assert len(result.rejected) == 3
    assert all("supported: .md" in r.reasons[0] for r in result.rejected)


def test_reload_is_identical(good_kb: Path) -> None:
    first = load_knowledge_base(good_kb, DataConfig())
    assert load_knowledge_base(good_kb, DataConfig()) == first


@pytest.mark.parametrize(
    ("rel", "doc_id"),
    [
        ("compliance/aml-policy.md", "compliance--aml-policy"),
        ("top.txt", "top"),
        ("a/b/c.v2.html", "a--b--c.v2"),
    ],
)
def test_default_doc_id(rel: str, doc_id: str) -> None:
    assert default_doc_id(rel) == doc_id


def test_windows_line_endings_are_normalised(kb: Path, write) -> None:
    write("guides/crlf.md", MARKDOWN.replace("\n", "\r\n").encode("utf-8-sig"))

    (doc,) = load_knowledge_base(kb, DataConfig()).documents

    assert (doc.doc_id, doc.category) == ("aml-policy", "regulatory")
    assert "\r" not in doc.text and doc.text.startswith("# AML policy\n\n## Thresholds")


def test_unreadable_entry_is_rejected_and_loading_continues(kb: Path, write) -> None:
    write("guides/good.md", MARKDOWN)
    (kb / "guides" / "dangling.md").symlink_to(kb / "missing-target.md")

    result = load_knowledge_base(kb, DataConfig())

    assert [d.source_path for d in result.documents] == ["guides/good.md"]
    assert _by_path(result) == {
        "guides/dangling.md": ("cannot read the file: No such file or directory",)
    }


def test_links_out_of_the_knowledge_base_are_never_read(
    kb: Path, write, tmp_path: Path
) -> None:
    """A link to a secret elsewhere would be indexed and served: quarantined."""
    write("guides/good.md", MARKDOWN)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 5)
    (kb / "guides" / "passwd.txt").symlink_to(secret)
    (kb / "guides" / "alias.md").symlink_to(kb / "guides" / "good.md")

    result = load_knowledge_base(kb, DataConfig())

    assert [d.source_path for d in result.documents] == [
        "guides/alias.md",  # a link within the knowledge base is fine
        "guides/good.md",
    ]
    [why] = _by_path(result)["guides/passwd.txt"]
    assert why.startswith(f"symbolic link to {secret.resolve()}, outside the")
    assert all("root:x" not in d.text for d in result.documents)

    shared = DataConfig(link_roots=(secret.parent,))
    allowed = load_knowledge_base(kb, shared)
    assert "guides/passwd.txt" in {d.source_path for d in allowed.documents}
