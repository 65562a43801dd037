"""The converter plug-in API: what a converter author subclasses and may raise.

A converter is plain synchronous code: it turns one file into one or more `UUTReport`s and has no
side effects. The service reads, schedules, submits and post-processes; the converter only parses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from wats_converter.converters.content import Recognition
from wats_converter.converters.text import decode_text, read_limited
from wats_converter.report import UUTReport

ConvertResult = UUTReport | dict[str, Any] | Sequence[UUTReport | dict[str, Any]]


class SkipFile(Exception):
    """Raise from a converter when the file is not a test result (nothing to submit).

    The file stays where it is and is not offered again until it changes.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class RetryLater(Exception):
    """Raise from a converter when the file is not complete yet (e.g. a sibling file is missing).

    The file is offered again after `after_s` seconds; it never goes to the error folder for this.
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
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str = "auto"
    fallback_encoding: str = "cp1252"
    max_file_size_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    process_code: int = Field(default=10, ge=0, le=32767)


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


class ConverterBase:
    """Base class of every converter.

    Set `name` and `supported_extensions`, override `convert` (text formats) or `convert_file`
    (binary or huge files), and optionally declare a nested `Settings(ConverterSettings)` model.

    Example:
        class Line3Converter(ConverterBase):
            name = "Line3Converter"
            supported_extensions = (".l3",)

            def convert(self, content: str, file_path: Path) -> UUTReport:
                sn, pn, volts = content.split(",")
                report = UUTReport(pn=pn, sn=sn, start=file_time(file_path))
                report.root.add_numeric_step("VCC", float(volts), 4.9, 5.1, unit="V")
                return report

    A converter must be safe to call from several threads at once (keep per-file state local).
    """

    name: ClassVar[str] = ""
    supported_extensions: ClassVar[Sequence[str]] = ()
    Settings: ClassVar[type[ConverterSettings]] = ConverterSettings

    def __init__(
        self, settings: dict[str, Any] | None = None, context: ConversionContext | None = None
    ) -> None:
        """Validate `settings` (raises pydantic's `ValidationError`; the loader names the entry)."""
        self.settings: Any = self.Settings.model_validate(settings or {})
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
