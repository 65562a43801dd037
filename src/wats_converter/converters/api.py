"""The converter plug-in API: what a converter author subclasses and may raise.

A converter is plain synchronous code: it turns one file into one or more `UUTReport`s and has no
side effects. The service reads, schedules, submits and post-processes; the converter only parses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, cast

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeVar

from wats_converter.converters.content import Recognition
from wats_converter.converters.text import decode_text, read_limited
from wats_converter.report import UUTReport

# A converter may return WSJF dicts as well as UUTReports: they are validated as UUTReports
# (`UUTReport.from_wsjf`), so a bad dict fails with the field named, like a bad report.
ConvertResult = UUTReport | dict[str, Any] | Sequence[UUTReport | dict[str, Any]]


class SkipFile(Exception):
    """Raise from a converter when the file is not a test result (nothing to submit).

    The file stays where it is and is not offered again until it changes.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class RetryLater(Exception):
    """Raise from a converter when the file is not complete yet: its end marker is not written
    yet (a session log the tester appends to), or a sibling file is missing.

    The file is offered again after `after_s` seconds, and again after every change. A file that
    is still not complete `incomplete_timeout_s` (a setting every converter has) after its last
    change goes to the error folder, saying so.
    """

    def __init__(self, reason: str, after_s: float = 5.0) -> None:
        self.reason = reason
        self.after_s = after_s
        super().__init__(reason)


class ConverterSettings(BaseModel):
    """Settings every converter has. Subclass it as `Settings` inside your converter to add yours.

    Attributes:
        encoding: `auto` (BOM for UTF-8/UTF-16, else UTF-8, else `fallback_encoding`) or a
            Python codec name such as `utf-8`, `utf-16`, `cp1252`.
        fallback_encoding: used by `auto` when the file is not valid UTF-8.
        max_file_size_bytes: larger files go to the error folder without being read.
        process_code: the WATS process (operation) code for reports that do not carry one.
        incomplete_timeout_s: a file that still raises `RetryLater` (or that `is_complete`
            still refuses) this long after its last change goes to the error folder: the
            tester stopped writing it without finishing it.
        max_steps: the most steps one file may make (all its reports together); a file that
            makes more goes to the error folder (`FileTooLarge`) as soon as it passes the
            limit. A step costs about 5 KB of memory while the file is converted, so this is
            what bounds a conversion's memory (the default: about 500 MB at most).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str = "auto"
    fallback_encoding: str = "cp1252"
    max_file_size_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    process_code: int = Field(default=10, ge=0, le=32767)
    incomplete_timeout_s: float = Field(default=3600.0, gt=0)
    max_steps: int = Field(default=100_000, gt=0)


@dataclass(frozen=True)
class StationDefaults:
    """Header values a report gets when its file does not say (config `station:`)."""

    name: str = "wats-converter"
    location: str = "Unknown"
    purpose: str = "Production"
    operator: str = "oper"


@dataclass(frozen=True)
class ConversionContext:
    """What a converter may use besides the file: station defaults and a logger."""

    station: StationDefaults = field(default_factory=StationDefaults)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("wats_converter"))


S = TypeVar("S", bound=ConverterSettings, default=Any)


class ConverterBase(Generic[S]):
    """Base class of every converter.

    Set `name` and `supported_extensions`, override `convert` (text formats) or `convert_file`
    (binary or huge files), and optionally declare a nested `Settings(ConverterSettings)` model.
    Name that model as the type argument too, `ConverterBase[MySettings]`, and mypy knows the
    type of `self.settings` (a plain `ConverterBase` subclass gets an untyped `self.settings`).

    Example:
        class Line3Settings(ConverterSettings):
            timezone: str = ""

        class Line3Converter(ConverterBase[Line3Settings]):
            name = "Line3Converter"
            supported_extensions = (".l3",)
            Settings = Line3Settings

            def convert(self, content: str, file_path: Path) -> UUTReport:
                sn, pn, stamp, volts = content.strip().split(",")
                start = parse_local_time(stamp, ["%Y-%m-%d %H:%M:%S"], self.settings.timezone)
                report = UUTReport(pn=pn, sn=sn, start=start.time)
                report.root.add_numeric_step("VCC", parse_si(volts), 4.9, 5.1, unit="V")
                return report

    A converter must be safe to call from several threads at once (keep per-file state local).
    """

    name: ClassVar[str] = ""
    detects_unfinished_files: ClassVar[bool] = False
    """True when the converter itself recognises a file that is still being written (its end
    marker or closing element is missing) and then raises `RetryLater` or converts only the
    finished units. The service then converts such a file even while the tester holds it open
    for writing (a session log stays open all day); otherwise it waits until it is closed."""
    supported_extensions: ClassVar[Sequence[str]] = ()
    cpu_heavy: ClassVar[bool] = False
    """True when a file costs the converter more than a few milliseconds of CPU (parsing XML or
    a large vendor log). Under `worker_mode: auto` such a converter runs in worker processes
    when the machine has more than one core, so conversions use every core; then it must be
    importable by its `module_path` (or entry point) in a fresh process, as any converter is."""
    Settings: ClassVar[type[ConverterSettings]] = ConverterSettings

    def __init__(
        self, settings: dict[str, Any] | None = None, context: ConversionContext | None = None
    ) -> None:
        """Validate `settings` (raises pydantic's `ValidationError`; the loader names the entry)."""
        # `Settings` and the type argument name the same model; a ClassVar cannot be generic
        self.settings: S = cast(S, self.Settings.model_validate(settings or {}))
        self.context = context or ConversionContext()

    @property
    def display_name(self) -> str:
        return self.name or type(self).__name__

    def matches_file(self, file_path: Path) -> bool:
        """Whether this converter handles the file (default: by extension, case-insensitive)."""
        suffixes = {
            e.lower() if e.startswith(".") else f".{e.lower()}" for e in self.supported_extensions
        }
        return file_path.suffix.lower() in suffixes

    def is_complete(self, file_path: Path) -> bool:
        """Whether the file is finished (default: always). Checked before every conversion.

        Override it for a format with an end marker that the tester writes last, for example
        by reading the file's last bytes; while it returns False the file is offered again
        later, as with `RetryLater`. Keep it cheap: it runs on every change of the file.
        """
        return True

    def recognizes(self, head: bytes, file_path: Path) -> Recognition | None:
        """Whether a file whose name matched is this converter's, judged by its first bytes.

        `head` is at most `content.HEAD_BYTES` of the file. The default (`None`) does not look:
        the name alone decides, and two such converters may not watch the same files. Override
        it (for XML, with `content.recognize_xml`) to let converters of one extension share a
        folder: the service gives each file to the first of them that accepts it. Keep it
        cheap and free of side effects; it runs for every candidate file of a shared folder.
        """
        return None

    @property
    def sniffs_content(self) -> bool:
        """Whether this converter recognises its files by content (overrides `recognizes`)."""
        return type(self).recognizes is not ConverterBase.recognizes

    def convert(self, content: str, file_path: Path) -> ConvertResult:
        """Turn the decoded text of `file_path` into report(s).

        Returns a `UUTReport`, a WSJF dict, or a list of them (one file, several units).
        Raise `ConversionError` (with `line=`/`field=`) or any exception for a bad file,
        `SkipFile` for a file that is not a result, `RetryLater` for an incomplete one.
        """
        raise NotImplementedError(f"{self.display_name} must override convert or convert_file")

    def convert_file(self, file_path: Path, context: ConversionContext) -> ConvertResult:
        """Read, decode (see `ConverterSettings.encoding`) and `convert` one file.

        Override this instead of `convert` for binary formats or to stream a huge file.
        """
        raw = read_limited(file_path, self.settings.max_file_size_bytes)
        text = decode_text(raw, self.settings.encoding, self.settings.fallback_encoding)
        return self.convert(text, file_path)
