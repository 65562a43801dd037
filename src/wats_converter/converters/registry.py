"""Routing a file to a converter, in one place: the service, its scans and `convert FILE` ask here.

A `ConverterSlot` is a converter in service: its config entry, its loaded converter and the files
it claims. `build_slots` makes them from a config (enabled entries only), `route` gives a file in
a watch folder to the first slot that claims it (patterns, then content when converters share
files), and `choose` answers the same for a file anywhere (`convert FILE`).
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from wats_converter.config import (
    Config,
    ConverterEntry,
    PostProcessAction,
    StationConfig,
    claims_overlap,
)
from wats_converter.converters.api import ConverterBase
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.converters.content import Recognition, read_head
from wats_converter.converters.loading import build_converter, use_converter_paths
from wats_converter.errors import ConfigError

# Names that are never result files: hidden, Office lock files, partial downloads, our own outputs.
IGNORED_NAMES = (
    "~$*",
    ".*",
    "*.tmp",
    "*.temp",
    "*.part",
    "*.partial",
    "*.crdownload",
    "*.filepart",
    "*.swp",
    "*.lock",
    "*.error",
    "*.queued",
)
log = logging.getLogger(__name__)
# verdicts remembered per slot, so a rescan does not open every kept file of a shared folder again
MAX_VERDICTS = 50_000


@dataclass(frozen=True)
class ConverterSlot:
    """`index` is the entry's position in the config; it is what crosses to worker processes.

    `shared_with` names the slots (by index) that claim some of the same files; all of them
    recognise files by content, and a file is this slot's only if its converter accepts it.
    `last_to_choose`: no later slot shares this one's files, so its refusal means no converter
    took the file.
    """

    index: int
    entry: ConverterEntry
    converter: ConverterBase
    patterns: tuple[str, ...]
    shared_with: tuple[int, ...] = ()
    last_to_choose: bool = True
    _verdicts: dict[tuple[str, int, int], bool] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def priority(self) -> int:
        return self.entry.priority

    @property
    def keeps(self) -> bool:
        return self.entry.post_process_action is PostProcessAction.KEEP

    def claims(self, path: Path) -> bool:
        """Whether `path` (a file) belongs to this converter's watch folder and patterns."""
        return self.watches(path) and self.wants(path.name, path.parent)

    def watches(self, path: Path) -> bool:
        """Whether `path` is in this converter's watch folder (or below it, if recursive)."""
        folder = self.entry.watch_folder
        return path.parent == folder or (self.entry.recursive and folder in path.parents)

    def wants(self, name: str, folder: Path) -> bool:
        """Whether file `name` in `folder` (inside the watch folder) is this slot's."""
        if not self.takes_name(name, folder):
            return False
        return not self.shared_with or self.accepts(folder / name)

    def takes_name(self, name: str, folder: Path) -> bool:
        """Whether the file's name is this slot's (its content aside)."""
        if not wanted_name(name, self.patterns):
            return False
        # explicit `patterns` decide alone; otherwise a converter that overrides matches_file
        # may refine its extensions (the default patterns already are its extensions)
        return not self.refines or self.converter.matches_file(folder / name)

    def accepts(self, path: Path) -> bool:
        """Whether this slot's converter recognises `path` by content (remembered per version
        of the file). An unreadable file is not accepted now; the next scan looks again."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        key = (str(path), st.st_size, st.st_mtime_ns)
        verdict = self._verdicts.get(key)
        if verdict is None:
            recognition = self.recognition(path)
            if recognition is None:
                return False
            verdict = recognition.accepted
            self._log(path, recognition)
            if len(self._verdicts) >= MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

    def recognition(self, path: Path) -> Recognition | None:
        """What the converter says of the file's first bytes; None if it cannot look now."""
        try:
            recognition = self.converter.recognizes(read_head(path), path)
        except OSError as exc:
            log.debug("%s: cannot look at it for %s: %s", path, self.name, exc)
            return None
        except Exception as exc:  # a converter's own bug must not stop the scan
            log.warning(
                "%s: %s failed to look at it (%s: %s); not taken",
                path,
                self.name,
                type(exc).__name__,
                exc,
            )
            return None
        return recognition or Recognition(True, "by name")

    def _log(self, path: Path, recognition: Recognition) -> None:
        if recognition.accepted:
            log.debug("%s: converter %r takes it: %s", path, self.name, recognition.reason)
        elif self.last_to_choose:
            log.info(
                "%s: no converter of this folder takes it (the last, %r: %s)",
                path,
                self.name,
                recognition.reason,
            )
        else:
            log.debug("%s: not for converter %r: %s", path, self.name, recognition.reason)

    @functools.cached_property
    def refines(self) -> bool:
        overridden = type(self.converter).matches_file is not ConverterBase.matches_file
        return self.entry.patterns is None and overridden


IGNORED = re.compile("|".join(fnmatch.translate(p) for p in IGNORED_NAMES))


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns))


def wanted_name(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether a file name matches the patterns and is not a temp/hidden/output name."""
    lowered = name.lower()
    return IGNORED.match(lowered) is None and _compiled(patterns).match(lowered) is not None


def default_patterns(converter: ConverterBase) -> tuple[str, ...]:
    exts = [e if e.startswith(".") else f".{e}" for e in converter.supported_extensions]
    return tuple(f"*{e.lower()}" for e in exts) or ("*",)


def build_slots(config: Config) -> list[ConverterSlot]:
    """One slot per enabled converter, in config order (worker processes rebuild the same list)."""
    use_converter_paths(config.converter_paths)
    slots: list[ConverterSlot] = []
    shared: dict[int, set[int]] = {}
    for i, entry in enumerate(config.converters):
        if not entry.enabled:
            continue
        converter = build_converter(entry, config.station, f"converters[{i}]")
        patterns = entry.patterns or default_patterns(converter)
        slot = ConverterSlot(len(slots), entry, converter, tuple(patterns))
        for other in slots:
            if not claims_overlap(other.entry, other.patterns, entry, slot.patterns):
                continue
            if not (converter.sniffs_content and other.converter.sniffs_content):
                raise ConfigError(
                    f"converters[{i}] ({entry.name!r}) watches the same files as {other.name!r} "
                    f"in {entry.watch_folder}; give them different folders or non-overlapping "
                    "`patterns` (only converters that recognise their files by content, such "
                    "as WSXF, ATML and TestStand XML, may share files)"
                )
            shared.setdefault(slot.index, set()).add(other.index)
            shared.setdefault(other.index, set()).add(slot.index)
        slots.append(slot)
    return _link_shared(slots, shared)


def builtin_slots(station: StationConfig | None = None) -> list[ConverterSlot]:
    """Every built-in converter, as `convert FILE` without a config sees them: those that
    recognise their files by content are asked first, then the first whose name matches."""
    station = station or StationConfig()
    entries = [
        ConverterEntry(name=cls, class_name=cls, watch_folder=Path("."))
        for cls in BUILTIN_CONVERTERS
    ]
    built = [(e, build_converter(e, station, f"converter {e.name!r}")) for e in entries]
    built.sort(key=lambda pair: not pair[1].sniffs_content)  # stable: built-in order otherwise
    slots = [
        ConverterSlot(i, entry, converter, default_patterns(converter))
        for i, (entry, converter) in enumerate(built)
    ]
    shared: dict[int, set[int]] = {}
    for slot in slots:
        if not slot.converter.sniffs_content:
            continue
        for other in slots:
            if other is not slot and claims_overlap(
                other.entry, other.patterns, slot.entry, slot.patterns
            ):
                shared.setdefault(slot.index, set()).add(other.index)
    return _link_shared(slots, shared)


def _link_shared(slots: list[ConverterSlot], shared: dict[int, set[int]]) -> list[ConverterSlot]:
    # slot order decides: the first converter of a shared folder that accepts a file gets it
    return [
        replace(
            s,
            shared_with=tuple(sorted(shared[s.index])),
            last_to_choose=max(shared[s.index]) < s.index,
        )
        if s.index in shared
        else s
        for s in slots
    ]


def route(slots: Sequence[ConverterSlot], path: Path) -> ConverterSlot | None:
    """The slot the service gives `path` (a file in a watch folder): the first, in config
    order, that claims it; None if none does."""
    return next((s for s in slots if s.claims(path)), None)


@dataclass(frozen=True)
class Choice:
    """The slot a file goes to, and why (for `convert FILE`)."""

    slot: ConverterSlot
    reason: str


def choose(slots: Sequence[ConverterSlot], path: Path) -> Choice:
    """The slot for `path` wherever it is, by the service's rules: in a watch folder, `route`;
    elsewhere, as if it were dropped into the first watch folder whose converters take its name.
    A `ConfigError` says why no converter takes it."""
    watched = any(s.watches(path) for s in slots)
    slot = route(slots, path) if watched else _as_if_dropped(slots, path)
    if slot is None:
        raise ConfigError(_nobody_takes(slots, path))
    if slot.shared_with:
        recognition = slot.recognition(path)
        return Choice(slot, recognition.reason if recognition else "by content")
    return Choice(slot, f"its name matches {' '.join(slot.patterns)}")


def _as_if_dropped(slots: Sequence[ConverterSlot], path: Path) -> ConverterSlot | None:
    name, here = path.name, path.parent
    folder = next((s.entry.watch_folder for s in slots if s.takes_name(name, here)), None)
    mates = [s for s in slots if s.entry.watch_folder == folder]
    return next((s for s in mates if s.wants(name, here)), None)


def _nobody_takes(slots: Sequence[ConverterSlot], path: Path) -> str:
    named = [s for s in slots if s.takes_name(path.name, path.parent)]
    if not named:
        what = path.suffix or "files without extension"
        return f"{path}: no converter handles {what}; pick one with --converter"
    refusals = []
    for slot in named:
        recognition = slot.recognition(path)
        reason = recognition.reason if recognition else "cannot read it"
        refusals.append(f"{slot.converter.display_name}: {reason}")
    return f"{path}: no converter recognises it ({'; '.join(refusals)}); pick one with --converter"


def folder_patterns(slots: Sequence[ConverterSlot], folder: Path) -> str:
    """The patterns of every converter watching `folder` (for messages about a file there)."""
    return " ".join(p for s in slots if s.entry.watch_folder == folder for p in s.patterns)


def watch_summary(slots: Sequence[ConverterSlot]) -> list[str]:
    """One line per watch folder: the file names each of its converters takes (for start-up);
    converters that share patterns (and tell their files apart by content) are named together."""
    by_folder: dict[Path, dict[str, list[str]]] = {}
    for slot in slots:
        names = by_folder.setdefault(slot.entry.watch_folder, {})
        names.setdefault(" ".join(slot.patterns), []).append(slot.name)
    return [
        f"{folder}: " + ", ".join(f"{p} ({' or '.join(n)})" for p, n in patterns.items())
        for folder, patterns in by_folder.items()
    ]
