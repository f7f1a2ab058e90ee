"""Per-format text extraction: Markdown, HTML, PDF and plain text.

Each extractor returns the text that chunking will see plus the metadata the file
carries itself. Headings survive as Markdown ``#`` lines in every format, because
chunking splits on them and search results quote them.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Comment, Tag
from pypdf import PdfReader

from ragtune.tasks.ingest.metadata import split_front_matter
from ragtune.tasks.ingest.problems import FileProblem

log = logging.getLogger(__name__)

FORMAT_BY_SUFFIX = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
META_PREFIX = "ragtune:"
DROPPED_TAGS = ("script", "style", "nav", "noscript", "template", "head")
# Paragraph-level tags are separated by a blank line, line-level ones by a newline.
PARAGRAPH_TAGS = (
    "p", "section", "article", "main", "header", "footer", "aside", "table", "ul",
    "ol", "dl", "blockquote", "pre", "h4", "h5", "h6", "figure", "address",
)  # fmt: skip
LINE_TAGS = ("div", "li", "tr", "dt", "dd", "figcaption")


@dataclass(frozen=True)
class Extracted:
    """Text and in-file metadata of one file; ``title`` is the format's own guess."""

    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None


def extract_markdown(text: str) -> Extracted:
    """Front matter -> meta; the body is kept verbatim (headings included)."""
    meta, body = split_front_matter(text)
    heading = re.search(r"^#[ \t]+(.+?)[ \t#]*$", body, re.M)
    return Extracted(body.strip(), meta, heading.group(1).strip() if heading else None)


def extract_text(text: str) -> Extracted:
    """Plain text is indexed as is; its metadata can only come from a sidecar."""
    return Extracted(text.strip())


def extract_html(html: str) -> Extracted:
    """Visible text with h1-h3 as ``#`` headings; ``ragtune:*`` meta tags -> meta."""
    soup = BeautifulSoup(html, "html.parser")
    meta = {
        str(tag["name"])[len(META_PREFIX) :]: str(tag.get("content", ""))
        for tag in soup.find_all("meta", attrs={"name": re.compile(f"^{META_PREFIX}")})
    }
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    root = soup.body or soup
    return Extracted(_html_text(root), meta, title or None)


def _html_text(root: Tag) -> str:
    # Source newlines inside a paragraph are spaces in HTML; block boundaries,
    # not the file's line breaks, decide where lines end.
    for string in root.find_all(string=True):
        if string.find_parent("pre") is None:
            string.replace_with(re.sub(r"\s+", " ", str(string)))
    for heading in root.find_all(["h1", "h2", "h3"]):
        hashes = "#" * int(heading.name[1])
        heading.replace_with(f"\n\n{hashes} {heading.get_text(' ', strip=True)}\n\n")
    for item in root.find_all("li"):
        item.insert(0, "- ")
    for row in root.find_all("tr"):
        for cell in row.find_all(["td", "th"], recursive=False)[:-1]:
            cell.append(" | ")
    for br in root.find_all("br"):
        br.replace_with("\n")
    for block in root.find_all(PARAGRAPH_TAGS):
        block.insert_before("\n\n")
        block.append("\n\n")
    for line in root.find_all(LINE_TAGS):
        line.insert_before("\n")
    lines = [line.strip() for line in root.get_text().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def extract_pdf(raw: bytes) -> Extracted:
    """Page texts joined by blank lines; the PDF info title as a title guess.

    Raises:
        FileProblem: the PDF cannot be parsed, is encrypted, or has no text layer
            (a scan needs OCR before it can be indexed).
    """
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileProblem("encrypted PDF: cannot extract text without a password")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info_title = reader.metadata.title if reader.metadata else None
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on bad input
        raise FileProblem(f"broken PDF: {type(exc).__name__}: {exc}") from None
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise FileProblem(
            f"PDF has no extractable text ({len(pages)} page(s); a scan needs OCR)"
        )
    return Extracted(text, {}, str(info_title).strip() if info_title else None)
