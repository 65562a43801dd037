"""Shared fixtures: a clean environment for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.service.harness import kill_live_stations
from wats_converter.server.fixture import ServerThread, local_server


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("WATS_"):
            monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def _no_service_outlives_its_test() -> Iterator[None]:
    yield
    kill_live_stations()


@pytest.fixture
def server() -> Iterator[ServerThread]:
    """The local WATS-compatible server on a free loopback port, for one test."""
    with local_server() as s:
        yield s
