"""Tiny knowledge bases written into tmp_path, one file per format and per flaw."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fpdf import FPDF

Writer = Callable[[str, str | bytes], Path]

BODY = (
    "Members must be identified before an account is opened. The threshold for "
    "occasional transactions is EUR 7,500."
)


def pdf_bytes(*pages: str, title: str | None = None) -> bytes:
    """A real PDF (fpdf2) with one text page per argument; no text -> a blank page."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages or ("",):
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    return root


@pytest.fixture
def write(kb: Path) -> Writer:
    """write("compliance/x.md", text_or_bytes) -> the file's path under ``kb``."""

    def _write(rel: str, content: str | bytes) -> Path:
        path = kb / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


MARKDOWN = f"""---
id: aml-policy
title: AML Customer Due Diligence Policy
category: regulatory
effective_date: 2025-01-01
last_reviewed: 2025-12-04
owner: Financial Crime Compliance
tags: [aml, cdd]
---

# AML policy

## Thresholds

{BODY}
"""

HTML = """<!doctype html>
<html><head>
<title>Harbour Saver Rates</title>
<meta name="ragtune:id" content="harbour-saver-rates">
<meta name="ragtune:category" content="product-pricing">
<meta name="ragtune:effective_date" content="2026-10-01">
<meta name="ragtune:channel" content="branch">
<style>body { color: red; }</style>
</head><body>
<nav><a href="/">Home</a> | <a href="/rates">All rates</a></nav>
<h1>Harbour Saver</h1>
<p>The Harbour Saver pays
   <b>3.10%</b> AER.</p>
<h2>Rate table</h2>
<table><tr><th>Balance</th><th>AER</th></tr>
<tr><td>EUR 1+</td><td>3.10%</td></tr></table>
<script>trackVisit("saver");</script>
</body></html>
"""

TEXT = f"""Board minutes extract, 16 September 2021

{BODY}
"""

TEXT_SIDECAR = """id: board-minutes-2021
title: Board minutes extract, 16 September 2021
category: historical
effective_date: 2021-09-16
"""

PDF_SIDECAR = """title: Travel Insurance Premiums
category: product-pricing
last_reviewed: 2026-06-30
"""


@pytest.fixture
def good_kb(kb: Path, write: Writer) -> Path:
    """One valid file per format, plus hidden files and pointers to be skipped."""
    write("compliance/aml-policy.md", MARKDOWN)
    write("products/harbour-saver-rates.html", HTML)
    write("reports/board-minutes.txt", TEXT)
    write("reports/board-minutes.txt.meta.yaml", TEXT_SIDECAR)
    write("products/travel-premiums.pdf", pdf_bytes(BODY, "Page two.", title="Info"))
    write("products/travel-premiums.pdf.meta.yaml", PDF_SIDECAR)
    write(".gitignore", "/secret\n")
    write(".hidden/notes.md", "# hidden\n\nnot part of the knowledge base at all")
    write("reports/.draft.md", "# draft\n\nnot ready for anyone to read yet")
    write("reports.dvc", "outs:\n- md5: abc\n  path: reports\n")
    return kb
