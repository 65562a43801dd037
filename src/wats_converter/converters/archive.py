"""Reading the members of a ZIP archive as hostile input: bounded, in memory, never on disk.

Some testers write a result as a ZIP container (XJTAG `.xjlog`; zipped logs, measurement
folders). An archive is the easiest place to hide an attack: a few kilobytes that inflate to
gigabytes (a zip bomb), thousands of tiny entries, names like `../../etc/cron.d/x` or
`C:\\Windows\\...` that would escape a folder if anything were extracted. `read_members` reads
the members a converter asks for into memory and refuses the archive, with one clear
`ConversionError`, when any of the `ArchiveLimits` is exceeded:

- the archive file itself is larger than `max_archive_bytes` (refused before it is read);
- it has more than `max_entries` entries;
- an entry name is absolute, has a drive letter, a `..` part, a NUL or control character, or is
  longer than `max_name_length`, or two entries share a name;
- a member inflates to more than `max_member_bytes`, all members together to more than
  `max_total_bytes`, or a member inflates more than `max_ratio` times its compressed size.

Sizes are checked twice: first as the archive declares them (cheap, before inflating), then as
the bytes come out of the decompressor, and reading stops as soon as a limit is passed, so
memory stays bounded by the limits. A header that understates a member's size does not get
around this: inflating stops at the declared size, and the member's CRC then fails (refused as
damaged).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wats_converter.converters.text import read_limited
from wats_converter.errors import ConversionError

READ_CHUNK_BYTES = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may hold before `read_members` refuses it (see the module docstring)."""

    max_archive_bytes: int = 64 * 1024 * 1024
    max_entries: int = 1000
    max_member_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 128 * 1024 * 1024
    max_ratio: float = 200.0
    max_name_length: int = 255


def read_members(
    path: Path,
    limits: ArchiveLimits | None = None,
    wanted: Callable[[str], bool] | None = None,
) -> dict[str, bytes]:
    """The uncompressed bytes of the members of ZIP archive `path` that `wanted` selects.

    Every entry's name is checked (even of members not read); directories are left out. The
    result maps entry names (as stored, `/`-separated) to their bytes. Raises `ConversionError`
    for an archive that is not a ZIP, is damaged or truncated, is encrypted, or passes a limit.
    """
    limits = limits or ArchiveLimits()
    raw = read_limited(path, limits.max_archive_bytes)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise ConversionError(
            "not a ZIP archive (or a truncated one: its central directory is missing)"
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise ConversionError(
                f"archive has {len(entries)} entries, more than the limit of {limits.max_entries}"
            )
        seen: set[str] = set()
        for info in entries:
            check_member_name(info.filename, limits.max_name_length)
            if info.filename in seen:
                raise ConversionError(f"archive has two entries named {info.filename!r}")
            seen.add(info.filename)
        chosen = [
            info
            for info in entries
            if not info.is_dir() and (wanted is None or wanted(info.filename))
        ]
        declared = 0
        for info in chosen:
            _check_declared(info, limits)
            declared += info.file_size
        if declared > limits.max_total_bytes:
            raise ConversionError(
                f"archive members inflate to {declared} bytes, more than the limit of "
                f"{limits.max_total_bytes}"
            )
        members: dict[str, bytes] = {}
        total = 0
        for info in chosen:
            data = _read_member(archive, info, limits, limits.max_total_bytes - total)
            total += len(data)
            members[info.filename] = data
        return members


def check_member_name(name: str, max_length: int = 255) -> None:
    """Refuse an entry name that could point outside a folder or hide what it is."""
    if not name:
        raise ConversionError("archive has an entry with an empty name")
    if len(name) > max_length:
        raise ConversionError(
            f"archive entry name is {len(name)} characters long, more than {max_length}"
        )
    shown = name.encode("unicode_escape").decode("ascii")[:120]
    if _CONTROL.search(name):
        raise ConversionError(f"archive entry name {shown!r} contains control characters")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise ConversionError(f"archive entry name {shown!r} is an absolute path")
    if ".." in re.split(r"[/\\]", name):
        raise ConversionError(f"archive entry name {shown!r} points outside the archive (..)")


def _check_declared(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    if info.flag_bits & 0x1:
        raise ConversionError(f"archive member {info.filename!r} is encrypted")
    if info.file_size > limits.max_member_bytes:
        raise ConversionError(
            f"archive member {info.filename!r} inflates to {info.file_size} bytes, more than "
            f"the limit of {limits.max_member_bytes}"
        )
    if info.file_size > _ratio_bound(info, limits):
        raise ConversionError(_ratio_message(info, info.file_size, limits))


def _ratio_bound(info: zipfile.ZipInfo, limits: ArchiveLimits) -> float:
    # a tiny member may legitimately compress well (all blanks): allow one chunk regardless
    return max(info.compress_size * limits.max_ratio, READ_CHUNK_BYTES)


def _ratio_message(info: zipfile.ZipInfo, size: int, limits: ArchiveLimits) -> str:
    return (
        f"archive member {info.filename!r} inflates from {info.compress_size} to at least "
        f"{size} bytes, more than {limits.max_ratio:g} times: refused as a zip bomb"
    )


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ArchiveLimits, room: int
) -> bytes:
    """The member's bytes, stopping as soon as a size or ratio limit is passed."""
    bound = min(limits.max_member_bytes, room)
    ratio_bound = _ratio_bound(info, limits)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(READ_CHUNK_BYTES):
                size += len(chunk)
                if size > ratio_bound:
                    raise ConversionError(_ratio_message(info, size, limits))
                if size > bound:
                    raise ConversionError(
                        f"archive member {info.filename!r} inflates to more than {bound} bytes "
                        "(member or total limit)"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
        raise ConversionError(
            f"archive member {info.filename!r} is damaged or truncated ({exc})"
        ) from None
    except NotImplementedError as exc:
        raise ConversionError(
            f"archive member {info.filename!r} uses an unsupported compression ({exc})"
        ) from None
    return b"".join(chunks)
