"""One HTTP/1.x answer, parsed from its bytes as they arrive: the status line, the headers and a
body framed by `Content-Length`, chunked transfer-encoding or the close of the connection."""

from __future__ import annotations

from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # the status line and headers; more is not an answer from a WATS server
MAX_CHUNK_LINE = 1024
CHUNKED = -1
UNTIL_CLOSE = -2
NO_BODY_STATUS = (204, 304)


class HttpError(Exception):
    """No complete HTTP answer: the message says what came instead."""


@dataclass(slots=True)
class Response:
    """A complete answer; `body` holds at most the pool's `max_body` bytes (`truncated`)."""

    status: int
    reason: str
    headers: dict[str, str]
    """Lower-case names; repeated headers joined with `, `."""
    body: bytes
    keep_alive: bool
    truncated: bool = False

    @property
    def content_type(self) -> str:
        """The media type without its parameters, lower case; empty without one."""
        return self.headers.get("content-type", "").partition(";")[0].strip().lower()


def not_http(data: bytes | bytearray | str) -> HttpError:
    raw = data.encode("latin-1") if isinstance(data, str) else bytes(data)
    return HttpError(f"the server's answer is not HTTP: {raw[:80]!r}")


def parse_head(text: str) -> tuple[str, int, str, dict[str, str]]:
    """(version, status, reason, headers) of a head without its final blank line."""
    lines = text.split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if (
        not version.startswith("HTTP/1.")
        or len(code) != 3
        or not code.isascii()
        or not code.isdigit()
    ):
        raise not_http(text)
    headers: dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last:  # an obsolete folded continuation line
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        last = name.strip().lower()
        if not colon or not last:
            raise HttpError(f"a malformed header line in the server's answer: {line[:80]!r}")
        value = value.strip()
        headers[last] = f"{headers[last]}, {value}" if last in headers else value
    return version, int(code), reason, headers


class Framing:
    """The parser of one answer: `feed` it what arrives until it returns the `Response`."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.received = 0
        self.buffer = bytearray()
        self.head: tuple[int, str, dict[str, str]] | None = None
        self.keep_alive = False
        self.length = UNTIL_CLOSE  # body bytes to come, or CHUNKED, or UNTIL_CLOSE
        self.body = bytearray()  # a chunked body so far
        self.chunk = -1  # bytes left of the current chunk; -1 while its size line is awaited
        self.trailers = False

    def feed(self, data: bytes) -> Response | None:
        """Take the next bytes; the answer once it is complete (or cut off at `max_body`)."""
        self.received += len(data)
        self.buffer += data
        if self.head is None and not self._read_head():
            return None
        if self.length >= 0:
            return self._fixed()
        if self.length == CHUNKED:
            return self._chunks()
        return self._cut(self.buffer) if len(self.buffer) > self.max_body else None

    def closed(self) -> Response:
        """The connection closed: the answer if it was delimited by the close; `HttpError`
        otherwise (an answer cut short)."""
        if self.head is not None and self.length == UNTIL_CLOSE:
            return self._response(bytes(self.buffer))
        if self.head is None:
            where = "in its status line and headers"
        elif self.length == CHUNKED:
            where = "in its chunked body"
        else:
            where = f"with {len(self.buffer)} of its {self.length} body bytes"
        raise HttpError(f"the server closed the connection {where} ({self.received} bytes)")

    def _read_head(self) -> bool:
        buffer = self.buffer
        while True:  # informational (1xx) answers precede the real one
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if not buffer.startswith(b"HTTP/"[: len(buffer)]):
                    raise not_http(buffer)  # at once: garbage does not wait for the deadline
                if len(buffer) > MAX_HEAD:
                    raise HttpError(f"the server's answer has over {MAX_HEAD} bytes of headers")
                return False
            version, status, reason, headers = parse_head(buffer[:end].decode("latin-1"))
            del buffer[: end + 4]
            if status >= 200 or status == 101:
                self._start(version, status, reason, headers)
                return True

    def _start(self, version: str, status: int, reason: str, headers: dict[str, str]) -> None:
        self.head = (status, reason, headers)
        tokens = headers.get("connection", "").lower()
        self.keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        coding = headers.get("transfer-encoding")
        if status in NO_BODY_STATUS or status < 200:  # (no HEAD requests are sent)
            self.length = 0
        elif coding is not None:
            if coding.rpartition(",")[2].strip().lower() == "chunked":
                self.length = CHUNKED
            else:  # another coding last: only the close ends the body (RFC 9112, 6.3)
                self.length, self.keep_alive = UNTIL_CLOSE, False
        elif "content-length" in headers:
            values = {v.strip() for v in headers["content-length"].split(",")}
            length = values.pop() if len(values) == 1 else ""
            if not (length.isascii() and length.isdigit()):  # `isdigit` alone takes "²"
                raise HttpError(
                    f"a bad Content-Length in the answer: {headers['content-length']!r}"
                )
            self.length = int(length)
        else:
            self.length, self.keep_alive = UNTIL_CLOSE, False

    def _fixed(self) -> Response | None:
        buffer, want = self.buffer, min(self.length, self.max_body)
        if len(buffer) < want:
            return None
        if want < self.length:
            return self._cut(buffer)
        body = bytes(buffer) if len(buffer) == want else bytes(buffer[:want])
        return self._whole(body, len(buffer) - want)

    def _chunks(self) -> Response | None:
        buffer = self.buffer
        while True:
            if self.chunk < 0:  # a size line, or after the last chunk a trailer line
                line = self._line()
                if line is None:
                    return None
                if self.trailers:
                    if not line:
                        return self._whole(bytes(self.body), len(buffer))
                    continue
                self.chunk = _chunk_size(line)
                if self.chunk == 0:
                    self.chunk, self.trailers = -1, True
                continue
            if len(self.body) + min(len(buffer), self.chunk) > self.max_body:
                return self._cut(self.body + buffer[: self.chunk])
            if len(buffer) < self.chunk + 2:
                return None
            if buffer[self.chunk : self.chunk + 2] != b"\r\n":
                raise HttpError("a chunk of the answer does not end where its size says")
            self.body += buffer[: self.chunk]
            del buffer[: self.chunk + 2]
            self.chunk = -1

    def _line(self) -> bytes | None:
        end = self.buffer.find(b"\r\n")
        if end < 0:
            if len(self.buffer) > MAX_CHUNK_LINE:
                raise HttpError("a chunk size or trailer line of the answer is too long")
            return None
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return line

    def _whole(self, body: bytes, after: int) -> Response:
        """The complete answer, with `after` more bytes behind it: more than the answer means
        the stream is confused (requests are not pipelined), so the connection is not reused."""
        if after:
            self.keep_alive = False
        return self._response(body)

    def _cut(self, body: bytearray) -> Response:
        """The first `max_body` bytes; the rest is never read, so the connection is closed."""
        self.keep_alive = False
        return self._response(bytes(body[: self.max_body]), truncated=True)

    def _response(self, body: bytes, truncated: bool = False) -> Response:
        assert self.head is not None
        status, reason, headers = self.head
        return Response(status, reason, headers, body, self.keep_alive, truncated)


def _chunk_size(line: bytes) -> int:
    text = line.partition(b";")[0].strip()  # chunk extensions are ignored
    if not text or any(c not in b"0123456789abcdefABCDEF" for c in text):
        raise HttpError(f"a bad chunk size in the answer: {line[:40]!r}")
    return int(text, 16)
