"""The judge: after faults stop and the service drains, check every dropped file's fate.

Invariants (docs/reliability.md): no loss (its report is stored), no duplicate effect (stored
once), exactly one terminal place per source (by its post-process action, or the error folder
with a `.error` file), no leftovers (temp files, half archives), pending/ empty, journal clean.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wats_converter.server.fixture import ServerThread


@dataclass(frozen=True)
class Dropped:
    """A file the test dropped, what it should become, and its serial number."""

    name: str
    content: bytes
    sn: str
    action: str  # MOVE, ZIP, DELETE, KEEP, or ERROR for a file that must be quarantined


class Judge:
    def __init__(self, root: Path, server: ServerThread) -> None:
        self.root = root
        self.server = server

    def problems(self, dropped: list[Dropped]) -> list[str]:
        problems: list[str] = []
        counts = self.server.store.serial_counts()
        places = self._places()
        for d in dropped:
            if d.action != "ERROR":
                stored = counts.get(d.sn, 0)
                if stored != 1:
                    problems.append(f"{d.name} ({d.sn}): stored {stored} times, expected once")
            where = [p for p, content in places.items() if content == d.content]
            expected = {"MOVE": "done", "ZIP": "archive", "KEEP": "watch", "ERROR": "error"}
            if d.action == "DELETE":
                if where:
                    problems.append(f"{d.name}: DELETE but still at {where}")
            elif len(where) != 1 or self._folder(where[0]) != expected[d.action]:
                problems.append(
                    f"{d.name}: expected once in {expected[d.action]}/, found at {where}"
                )
            elif d.action == "ERROR" and not Path(where[0].split("!")[0] + ".error").exists():
                problems.append(f"{d.name}: in error/ without a .error file")
        problems += [f"leftover temp file {p}" for p in self.root.rglob("*.tmp")]
        problems += [
            f"pending not empty: {p.name}" for p in (self.root / "pending").glob("*") if p.is_file()
        ]
        problems += self._journal()
        return problems

    def _folder(self, place: str) -> str:
        """The station folder (watch, done, archive, error) a place is in."""
        return Path(place.split("!")[0]).relative_to(self.root).parts[0]

    def _places(self) -> dict[str, bytes]:
        """Every copy of a source file the service could have left: path -> content."""
        out: dict[str, bytes] = {}
        for folder in ("watch", "done", "error"):
            for path in (self.root / folder).rglob("*"):
                if path.is_file() and path.suffix != ".error":
                    # a file moved away while we look is seen where it lands on the next look
                    with contextlib.suppress(FileNotFoundError):
                        out[str(path)] = path.read_bytes()
        for archive in (self.root / "archive").glob("*.zip"):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    out[f"{archive}!{name}"] = z.read(name)
        return out

    def _journal(self) -> list[str]:
        db = self.root / "journal.sqlite"
        if not db.exists():
            return []
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            attempts = conn.execute("SELECT path, count FROM attempts").fetchall()
        except sqlite3.OperationalError as exc:  # the service is still creating it
            return [f"journal not readable yet: {exc}"]
        finally:
            conn.close()
        return [f"journal: unfinished conversion attempt {p} ({n})" for p, n in attempts]
