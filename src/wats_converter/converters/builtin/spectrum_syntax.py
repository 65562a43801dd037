"""The `(KEY: value (CHILD: ...) ...)` expressions of Teradyne Spectrum result files.

A small recursive-descent reader: every `(` followed by a `KEY:` opens a node; its text is what
stands between its children (quotes removed), and `)` closes it. A `(` that does not start a
key (as in `C:\\Program Files (x86)`) is text. Nesting deeper than `max_depth` is refused, so a
hostile file cannot exhaust the stack, and an expression still open at the end of the text
is reported as unfinished (the tester may still be writing the file).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from wats_converter.errors import ConversionError

MAX_DEPTH = 32
_KEY = re.compile(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")
_KEY_SO_FAR = re.compile(r"\(\s*[A-Za-z0-9_]*\s*\Z")
_SPECIAL = re.compile(r'[()"]')


class Unfinished(ConversionError):
    """The text ends inside an expression."""


@dataclass
class Node:
    """One `(KEY: ...)` expression: its text, its children and the line it starts on."""

    key: str
    line: int
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def first(self, key: str) -> Node | None:
        """The first child called `key`, or None."""
        return next((c for c in self.children if c.key == key), None)

    def all(self, key: str) -> Iterator[Node]:
        """Every child called `key`, in order."""
        return (c for c in self.children if c.key == key)

    def value(self, key: str) -> str | None:
        """The text of the first child called `key`, or None."""
        child = self.first(key)
        return None if child is None else child.text


def parse(text: str, max_depth: int = MAX_DEPTH) -> tuple[list[Node], bool]:
    """The complete top-level expressions of `text`, and whether the text ends outside an
    expression (False: the last one is unfinished and left out). Raises `ConversionError`
    with the line on bad syntax."""
    return _Reader(text, max_depth).top_level()


class _Reader:
    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.pos = 0
        self.max_depth = max_depth
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)

    def top_level(self) -> tuple[list[Node], bool]:
        nodes: list[Node] = []
        while True:
            match = _SPECIAL.search(self.text, self.pos)
            stray = self.text[self.pos : match.start() if match else len(self.text)]
            if stray.strip():
                at = self.pos + len(stray) - len(stray.lstrip())
                raise ConversionError(
                    f"text outside a (KEY: ...) expression: {stray.strip()[:40]!r}",
                    line=self.line(at),
                )
            if match is None:
                return nodes, True
            key = _KEY.match(self.text, match.start())
            if key is None and _KEY_SO_FAR.match(self.text, match.start()):
                return nodes, False  # the key itself is still being written
            if key is None:
                raise ConversionError(
                    f"expected `(KEY:` here, found {self.text[match.start() :][:20]!r}",
                    line=self.line(match.start()),
                )
            try:
                nodes.append(self.node(key, 1))
            except Unfinished:
                return nodes, False

    def node(self, key: re.Match[str], depth: int) -> Node:
        start = key.start()
        if depth > self.max_depth:
            raise ConversionError(
                f"expressions nested deeper than {self.max_depth} levels", line=self.line(start)
            )
        node = Node(key.group(1), self.line(start))
        self.pos = key.end()
        parts: list[str] = []
        loose = 0  # `(` that were text, waiting for their `)`
        while True:
            match = _SPECIAL.search(self.text, self.pos)
            if match is None:
                raise Unfinished(f"({node.key}: ...) opened here is not closed", line=node.line)
            parts.append(self.text[self.pos : match.start()])
            char = match.group()
            if char == '"':
                end = self.text.find('"', match.end())
                if end < 0:
                    raise Unfinished("a quoted text is not closed", line=self.line(match.start()))
                parts.append(self.text[match.end() : end])
                self.pos = end + 1
            elif char == ")" and loose:
                loose -= 1
                parts.append(char)
                self.pos = match.end()
            elif char == ")":
                self.pos = match.end()
                node.text = " ".join("".join(parts).split())
                return node
            elif (child := _KEY.match(self.text, match.start())) is not None:
                node.children.append(self.node(child, depth + 1))
            else:
                loose += 1
                parts.append(char)
                self.pos = match.end()
