"""FileWatcher: file-system events (inotify, ReadDirectoryChangesW, FSEvents) as latency hints.

Events can be lost (queue overflow, network shares); the periodic rescan is the source of truth.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from watchfiles import Change, awatch

log = logging.getLogger(__name__)
RESTART_DELAY_S = 5.0


class FileWatcher:
    """Calls `on_paths` with paths that were added or modified under `roots`."""

    def __init__(
        self,
        roots: Sequence[Path],
        on_paths: Callable[[list[Path]], None],
        *,
        on_error: Callable[[], None],
    ) -> None:
        self.roots = list(roots)
        self.on_paths = on_paths
        self.on_error = on_error

    async def run(self) -> None:
        """Watch until cancelled; restart (and ask for a rescan) after any watcher failure."""
        while True:
            try:
                await self._watch()
            except Exception as exc:  # a cancel (BaseException) ends the watch
                log.warning(
                    "file watcher failed (%s); rescanning and restarting in %g s",
                    exc,
                    RESTART_DELAY_S,
                )
                self.on_error()
                await asyncio.sleep(RESTART_DELAY_S)

    async def _watch(self) -> None:
        roots = [r for r in self.roots if r.is_dir()]
        if not roots:
            await asyncio.Event().wait()
        watch = awatch(
            *roots,
            debounce=200,
            step=20,
            recursive=True,
            ignore_permission_denied=True,
            force_polling=False,
            watch_filter=None,
            yield_on_timeout=False,
            rust_timeout=1000,
        )
        async for changes in watch:
            paths = [Path(p) for change, p in changes if change != Change.deleted]
            if paths:
                self.on_paths(paths)
