"""A converter in service: its config entry, its loaded converter and the files it claims."""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from wats_converter.config import Config, ConverterEntry, PostProcessAction, claims_overlap
from wats_converter.converters.api import ConverterBase
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
        folder = self.entry.watch_folder
        if path.parent != folder and not (self.entry.recursive and folder in path.parents):
            return False
        return self.wants(path.name, path.parent)

    def wants(self, name: str, folder: Path) -> bool:
        """Whether file `name` in `folder` (inside the watch folder) is this slot's."""
        if not wanted_name(name, self.patterns):
            return False
        # explicit `patterns` decide alone; otherwise a converter that overrides matches_file
        # may refine its extensions (the default patterns already are its extensions)
        if self.refines and not self.converter.matches_file(folder / name):
            return False
        return not self.shared_with or self.accepts(folder / name)

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
            try:
                recognition = self.converter.recognizes(read_head(path), path)
            except OSError as exc:
                log.debug("%s: cannot look at it for %s: %s", path, self.name, exc)
                return False
            except Exception as exc:  # a converter's own bug must not stop the scan
                log.warning(
                    "%s: %s failed to look at it (%s: %s); not taken",
                    path,
                    self.name,
                    type(exc).__name__,
                    exc,
                )
                return False
            recognition = recognition or Recognition(True, "by name")
            verdict = recognition.accepted
            self._log(path, recognition)
            if len(self._verdicts) >= MAX_VERDICTS:
                self._verdicts.clear()
            self._verdicts[key] = verdict
        return verdict

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
    # config order decides: the first converter of a shared folder that accepts a file gets it
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
