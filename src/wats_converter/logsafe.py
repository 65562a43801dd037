"""Log lines that name files safely: a file name is data from whoever wrote the file.

A newline in a name would forge a log line, a terminal escape would rewrite the operator's
screen, and a name that is not valid UTF-8 (surrogate-escaped by Python) would make a strict
handler fail. `EscapeControls` rewrites each record's message once, before any handler formats
it: control characters become `\\n`, `\\x1b`, ..., undecodable bytes `\\xe9`.
"""

from __future__ import annotations

import logging
import re

_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 in a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with control characters and undecodable bytes spelled out."""
    return _UNSAFE.sub(_escape_one, text)


class EscapeControls(logging.Filter):
    """A handler filter: the record's message, with its arguments filled in, escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        name = getattr(record, "file", None)  # the `file` field of a structured record
        if isinstance(name, str):
            record.file = escape_controls(name)
        return True
