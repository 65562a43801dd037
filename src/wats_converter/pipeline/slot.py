"""A converter in service: its config entry, its loaded converter and the files it claims."""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wats_converter.config import Config, ConverterEntry, PostProcessAction, claims_overlap
from wats_converter.converters.api import ConverterBase
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


@dataclass(frozen=True)
class ConverterSlot:
    """`index` is the entry's position in the config; it is what crosses to worker processes."""

    index: int
    entry: ConverterEntry
    converter: ConverterBase
    patterns: tuple[str, ...]

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
        return not self.refines or self.converter.matches_file(folder / name)

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
    for i, entry in enumerate(config.converters):
        if not entry.enabled:
            continue
        converter = build_converter(entry, config.station, f"converters[{i}]")
        patterns = entry.patterns or default_patterns(converter)
        slot = ConverterSlot(len(slots), entry, converter, tuple(patterns))
        for other in slots:
            if claims_overlap(other.entry, other.patterns, entry, slot.patterns):
                raise ConfigError(
                    f"converters[{i}] ({entry.name!r}) watches the same files as {other.name!r} "
                    f"in {entry.watch_folder}; give them different folders or non-overlapping "
                    "`patterns`"
                )
        slots.append(slot)
    return slots


def folder_patterns(slots: Sequence[ConverterSlot], folder: Path) -> str:
    """The patterns of every converter watching `folder` (for messages about a file there)."""
    return " ".join(p for s in slots if s.entry.watch_folder == folder for p in s.patterns)


def watch_summary(slots: Sequence[ConverterSlot]) -> list[str]:
    """One line per watch folder: the file names each of its converters takes (for start-up)."""
    by_folder: dict[Path, list[str]] = {}
    for slot in slots:
        by_folder.setdefault(slot.entry.watch_folder, []).append(
            f"{' '.join(slot.patterns)} ({slot.name})"
        )
    return [f"{folder}: {', '.join(parts)}" for folder, parts in by_folder.items()]
