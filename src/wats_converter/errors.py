"""The exception tree. The class of an error says what happens next.

```
WatsConverterError
├── ConfigError            bad settings; raised before anything starts; names the key
├── ReportValidationError  a report the server would reject; names the field path
├── ConversionError        the file cannot become a report -> the file goes to the error folder
│   ├── NoConverterFound
│   ├── ConversionTimedOut the converter ran past the timeout (killed) -> retried alone,
│   │                      the `retry.conversion_attempts`-th time -> error folder
│   ├── PoisonFile         every attempt crashed its conversion (see WorkerCrashed)
│   ├── FileTooLarge
│   └── FileIncomplete     still not complete `incomplete_timeout_s` after its last change
├── WorkerCrashed          the conversion's process died -> retried (an attempt), alone
├── SubmitError            a report could not be delivered
│   ├── ServerUnavailable  transient (refused, timeout, 5xx, 429) -> stays pending, retried
│   ├── ReportRejected     permanent for this report (400, 413) -> error folder
│   └── SubmissionPaused   permanent for the service (401, 403, 404, TLS) -> pause, keep everything
└── StorageError           the local disk cannot take the write (full, read-only) -> stop intake
```

The converter signals `SkipFile` and `RetryLater` live in `wats_converter.converters` and are
deliberately not part of this tree, so `except WatsConverterError` never swallows them.
"""

from __future__ import annotations


class WatsConverterError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(WatsConverterError):
    """The configuration is invalid. Raised at start-up, before any file is touched."""


class ReportValidationError(WatsConverterError, ValueError):
    """A report that the WATS server would reject.

    `problems` lists each problem as `path: message`, e.g.
    `root.steps[3].numericMeas[0].compOp: 'GTE' is not a comparison operator`.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(shown + more)

    def __reduce__(self) -> tuple[type[ReportValidationError], tuple[list[str]]]:
        # rebuilt from the problems, not from the joined message (a worker process sends it)
        return type(self), (self.problems,)


class ConversionError(WatsConverterError):
    """The source file cannot be turned into a report; it belongs in the error folder.

    `line` and `field` locate the problem in the source file when the converter knows them.
    """

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.line = line
        self.field = field
        where = []
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class NoConverterFound(ConversionError):
    """No configured converter accepts the file."""


class ConversionTimedOut(ConversionError):
    """The converter ran longer than the per-file timeout."""


class PoisonFile(ConversionError):
    """Every attempt at this file crashed its conversion: the worker process died, or the
    service itself stopped while converting it (`retry.conversion_attempts` times)."""


class FileTooLarge(ConversionError):
    """The file is larger than the converter's `max_file_size_bytes`."""


class FileIncomplete(ConversionError):
    """The file was still not complete `incomplete_timeout_s` after its last change."""


class WorkerCrashed(WatsConverterError):
    """The process converting the file died (a crash in native code, `os._exit`, the OOM
    killer). The file is retried on its own, and counts an attempt: after
    `retry.conversion_attempts` it is a `PoisonFile`."""


class SubmitError(WatsConverterError):
    """A report could not be delivered to the server."""


class ServerUnavailable(SubmitError):
    """Transient: try again later. `retry_after_s` carries a server's Retry-After hint."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class ReportRejected(SubmitError):
    """The server refused this report for good (400, 413): retrying cannot help."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)


class SubmissionPaused(SubmitError):
    """The server refuses the whole client (bad token, no permission, wrong URL, TLS trust).

    Every report stays pending; an operator has to fix the configuration.
    """


class StorageError(WatsConverterError):
    """A durable write failed (disk full, read-only, permission). Intake stops until it clears."""
