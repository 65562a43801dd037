"""IsolationGate: conversions run side by side, except a suspect's, which runs alone.

A file that was in work when a conversion crashed or hung is converted on its own, so the
next crash points at the culprit, not at whatever ran beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType


class IsolationGate:
    """Conversions run side by side (`shared`) unless one must run on its own (`alone`)."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._running = 0
        self._alone = False
        self._shared = _Shared(self)

    def shared(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Enter beside the others (every file's conversion: one context, reused)."""
        return self._shared

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        async with self._changed:
            await self._changed.wait_for(lambda: not self._alone)
            self._alone = True  # no new conversion starts from now on
            await self._changed.wait_for(lambda: self._running == 0)
        try:
            yield
        finally:
            async with self._changed:
                self._alone = False
                self._changed.notify_all()

    async def enter_shared(self) -> None:
        # the usual case, nobody alone and nobody waiting to be: no lock to take (this runs on
        # one event loop, so nothing can change between the check and the count)
        if self._alone or self._changed.locked():
            async with self._changed:
                await self._changed.wait_for(lambda: not self._alone)
                self._running += 1
        else:
            self._running += 1

    async def exit_shared(self) -> None:
        self._running -= 1
        if self._alone and not self._running:  # only `alone` waits for the count to drop
            async with self._changed:
                self._changed.notify_all()


class _Shared(contextlib.AbstractAsyncContextManager[None]):
    """`IsolationGate.shared` as a plain class: no generator per file, as a decorated one has."""

    def __init__(self, gate: IsolationGate) -> None:
        self.gate = gate

    async def __aenter__(self) -> None:
        await self.gate.enter_shared()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.gate.exit_shared()
