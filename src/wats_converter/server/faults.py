"""Fault injection for tests and benchmarks; inert unless a plan is loaded.

A plan is a list of rules, consumed in order by the report POSTs they apply to:

    [{"mode": "status", "status": 503, "count": 3},
     {"mode": "status", "status": 429, "retry_after": 2, "count": 1},
     {"mode": "delay", "ms": 5000, "count": 1},
     {"mode": "drop_after_store", "count": 2},
     {"mode": "reset", "count": 1},
     {"mode": "refuse", "seconds": 10}]

`status` answers with that code; `delay` reads the request, waits, then stores and answers
(it stores even if the client gave up meanwhile, as a slow real server does);
`drop_after_store` stores the report and then closes the connection without an answer;
`reset` closes the connection without storing; `refuse` stops listening for `seconds`.
"""

from __future__ import annotations

import threading
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["status", "delay", "drop_after_store", "reset", "refuse"]
    count: Annotated[int, Field(ge=1)] = 1
    status: int | None = Field(default=None, ge=100, le=599)
    retry_after: float | None = Field(default=None, ge=0)
    ms: float = Field(default=0, ge=0)
    seconds: float = Field(default=0, ge=0)


FaultPlan = TypeAdapter(list[FaultRule])


class Faults:
    """The current plan; thread-safe so a test thread can arm faults while the server runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def load(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = [r.model_copy() for r in rules]

    def add(self, **rule: object) -> None:
        with self._lock:
            self._rules.append(FaultRule.model_validate(rule))

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def take(self) -> FaultRule | None:
        """The rule for the next report request, if any (consumes one of its count)."""
        with self._lock:
            if not self._rules:
                return None
            rule = self._rules[0]
            rule.count -= 1
            if rule.count <= 0 or rule.mode == "refuse":
                self._rules.pop(0)
            return rule

    def pending(self) -> list[dict[str, object]]:
        with self._lock:
            return [r.model_dump(exclude_none=True) for r in self._rules]
