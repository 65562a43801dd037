"""ServerGate: whether the server may be sent to now, learned from the outcome of every send.

- A few transient failures in a row (`OUTAGE_AFTER_FAILURES`) mean an outage: the whole
  delivery waits behind one gate with its own backoff, and only one send at a time (the probe)
  asks whether the server is back; the first success releases every pending report at once.
- A pause (401, 403, 404, untrusted TLS, not a WATS answer) stops every send until the probe
  (`GET /api/App/Version`) succeeds. The probe runs in `run`, inside delivery's task group: it is
  cancelled with delivery (a reload never leaves an old probe polling on an old client).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from wats_converter.clock import Clock
from wats_converter.config import RetryConfig
from wats_converter.errors import ServerUnavailable, SubmissionPaused, SubmitError
from wats_converter.pipeline.retry_schedule import backoff_s
from wats_converter.stats import ServiceStats
from wats_converter.wats_client import WatsClient

log = logging.getLogger(__name__)
OUTAGE_AFTER_FAILURES = 3
PROBE_INTERVAL_MAX_S = 60.0


class Outcome(StrEnum):
    """What one POST of a report came to (the keys of `stats.submit_attempts`)."""

    ACCEPTED = "ok"
    REJECTED = "rejected"
    """This report can never be accepted (400, 413, ...): error folder."""
    UNAVAILABLE = "transient"
    """Refused, timed out, 5xx, 429: try again later."""
    PAUSED = "paused"
    """The server refuses this client (401, 403, 404, TLS): stop until the probe succeeds."""


@dataclass(frozen=True)
class Attempt:
    """One POST, classified."""

    outcome: Outcome
    error: SubmitError | None = None


class ServerGate:
    """Failures in a row, the outage gate, the pause and its probe."""

    def __init__(
        self, client: WatsClient, retry: RetryConfig, stats: ServiceStats, clock: Clock
    ) -> None:
        self.client = client
        self.retry = retry
        self.stats = stats
        self.clock = clock
        self.on_release: Callable[[], object] = lambda: None
        """Called when the server answers again after an outage or a pause."""
        self.failures_in_row = 0
        self.held_until = 0.0
        self._probing = False
        self._paused = asyncio.Event()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def in_outage(self) -> bool:
        return self.failures_in_row >= OUTAGE_AFTER_FAILURES

    def blocked(self) -> bool:
        """Nothing may be sent until woken: paused, or the one probe of an outage is out."""
        return self.paused or (self.in_outage and self._probing)

    def open_now(self) -> bool:
        """Whether a report may be sent straight away."""
        return not self.blocked() and self.held_until <= self.clock.now()

    def begin_send(self) -> bool:
        """A send starts; True if it is the outage's probe (then nobody else sends meanwhile)."""
        if self.in_outage:
            self._probing = True
            return True
        return False

    def end_send(self, probe: bool) -> None:
        if probe:
            self._probing = False

    def lift(self) -> None:
        """An operator asked to send now: forget the backoff gate."""
        self.held_until = 0.0

    def note(self, attempt: Attempt, pending: int) -> None:
        """Learn from one send's outcome (`pending`: how many reports wait, for the log)."""
        outcome, error = attempt.outcome, attempt.error
        self.stats.submit_attempts[outcome] += 1
        self.stats.last_submit_at = time.time()
        if outcome is Outcome.UNAVAILABLE:
            assert isinstance(error, ServerUnavailable)
            self._unavailable(error, pending)
            return
        self.stats.last_submit_result = outcome
        released = self.in_outage
        self.failures_in_row = 0
        self.held_until = 0.0
        if outcome is Outcome.PAUSED:
            self._pause(str(error))
        elif released:
            log.info("server reachable again: sending %d pending reports", pending)
            self.on_release()  # every report at once, not each on its own backoff

    def _unavailable(self, exc: ServerUnavailable, pending: int) -> None:
        self.failures_in_row += 1
        self.stats.last_submit_result = f"failed: {exc}"
        if self.failures_in_row == OUTAGE_AFTER_FAILURES:
            log.warning("server unavailable (%s); %d reports wait", exc, pending)
        wait = exc.retry_after_s or 0.0
        if self.in_outage:
            # the server, not this report, is the problem: back off the whole delivery
            steps = self.failures_in_row - OUTAGE_AFTER_FAILURES + 1
            wait = max(wait, backoff_s(self.retry, steps))
        if wait:
            self.held_until = max(self.held_until, self.clock.now() + wait)

    def _pause(self, reason: str) -> None:
        if self.paused:
            return
        log.error(
            "SUBMISSION PAUSED: %s. Reports stay pending until this is fixed; checking again in "
            "%g s, then less often (at most every %g s).",
            reason,
            self.probe_interval_s(),
            PROBE_INTERVAL_MAX_S,
        )
        self.stats.paused_reason = reason
        self._paused.set()

    def probe_interval_s(self) -> float:
        return min(PROBE_INTERVAL_MAX_S, max(self.retry.initial_s, 1.0))

    async def run(self) -> None:
        """Probe while paused, for ever (cancel to stop)."""
        while True:
            await self._paused.wait()
            await self._probe_until_resumed()

    async def _probe_until_resumed(self) -> None:
        delay = self.probe_interval_s()
        while True:
            await self.clock.sleep(delay)
            try:
                await self.client.version()
            except SubmissionPaused as exc:
                self.stats.paused_reason = str(exc)
            except ServerUnavailable:
                pass  # still paused for the last reason the server gave
            else:
                log.info("submission resumed: the server accepts this client again")
                self.stats.paused_reason = ""
                self._paused.clear()
                self.on_release()
                return
            delay = min(PROBE_INTERVAL_MAX_S, delay * 2)
