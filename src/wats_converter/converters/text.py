"""Reading source files safely: a size limit and encoding detection every converter gets."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from wats_converter.errors import ConversionError, FileTooLarge

READ_SLACK_BYTES = 64 * 1024
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """Read a whole file, refusing (without reading) one larger than `max_bytes`."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        # read what is there (plus slack for a file still growing), never a max-size buffer
        data = f.read(min(size + READ_SLACK_BYTES, max_bytes + 1)) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        raise too_large(max_bytes)
    return data


def too_large(max_bytes: int) -> FileTooLarge:
    return FileTooLarge(
        f"file is larger than max_file_size_bytes ({max_bytes} bytes); raise the converter's "
        "max_file_size_bytes setting if this file is genuine"
    )


def decode_text(raw: bytes, encoding: str = "auto", fallback: str = "cp1252") -> str:
    """Decode file bytes: a BOM wins, then UTF-8, then `fallback` (when `encoding` is `auto`)."""
    if encoding != "auto":
        return _decode(raw, encoding)
    for bom, codec in BOMS:
        if raw.startswith(bom):
            return _decode(raw, codec)
    guessed = _guess_bomless_utf16(raw)
    if guessed:
        return _decode(raw, guessed)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode(raw, fallback)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ConversionError("file contains NUL bytes: it is binary or damaged", line=line)
    return text


def _guess_bomless_utf16(raw: bytes) -> str | None:
    """Recognise UTF-16 text without a BOM (every other byte NUL for ASCII-range text)."""
    sample = raw[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    if sample[1::2].count(0) > len(sample) * 0.45:
        return "utf-16-le"
    if sample[0::2].count(0) > len(sample) * 0.45:
        return "utf-16-be"
    return None


def _decode(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except LookupError:
        raise ConversionError(
            f"unknown encoding {codec!r} (converter setting `encoding`)"
        ) from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConversionError(
            f"not valid {codec} text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "set the converter's `encoding` setting to the station's encoding",
            line=line,
        ) from None
