"""Recognise binary content and undecodable text before any format parser sees it.

Parsers given a PNG or a Latin-1 file either crash or, worse, index mojibake; a
plain reason ("PNG image in a .md file") is what an operator can act on.
"""

from __future__ import annotations

from charset_normalizer import from_bytes

from ragtune.tasks.ingest.problems import FileProblem

# Leading bytes of formats that turn up in shared drives; checked in this order.
MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive, e.g. an Office document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office (OLE2) document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x7fELF", "ELF executable"),
    (b"RIFF", "RIFF media file"),
)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SNIFF_BYTES = 8192


def describe_binary(raw: bytes) -> str | None:
    """Name the binary format of ``raw``, or None when it may be text.

    UTF-16 text (BOM first) is not reported here: it is text in the wrong
    encoding, which :func:`decode_utf8` explains better.
    """
    for magic, name in MAGIC_NUMBERS:
        if raw.startswith(magic):
            return name
    if raw.startswith(UTF16_BOMS):
        return None
    if b"\x00" in raw[:SNIFF_BYTES]:
        return "NUL bytes"
    return None


def detect_encoding(raw: bytes) -> str:
    """Best guess of the encoding of ``raw`` (charset-normalizer), or 'unknown'."""
    best = from_bytes(raw[: 64 * 1024]).best()
    return best.encoding if best is not None else "unknown"


def decode_utf8(raw: bytes) -> str:
    """Decode ``raw`` as UTF-8 (a leading BOM is dropped).

    Raises:
        FileProblem: the bytes are not UTF-8; the message names the first bad
            byte and the encoding the file most likely uses, so it can be
            re-saved rather than guessed at silently.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise FileProblem(
            f"not valid UTF-8 (byte 0x{bad} at offset {exc.start}); "
            f"detected encoding: {detect_encoding(raw)}; re-save the file as UTF-8"
        ) from None
