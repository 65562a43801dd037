"""Filing a failed file in error/ under the cluster's post-processing claim: two nodes that
fail the same version of a file at the same moment (beyond the duplicate window, after an
ack-wait expiry) leave one copy in error/ with one `.error`, against a real JetStream server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wats_converter.cluster.jetstream import connect
from wats_converter.cluster.local_nats import LocalNats
from wats_converter.cluster.node import ClaimingPostProcessor
from wats_converter.cluster.settings import ClusterConfig
from wats_converter.converters.registry import build_slots
from wats_converter.errors import ConversionError
from wats_converter.pipeline import error_folder
from wats_converter.pipeline.failure_filing import FailureFiling
from wats_converter.stats import ServiceStats
from wats_converter.storage.journal import Journal
from wats_converter.testing import station_config


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNats]:
    with LocalNats(tmp_path_factory.mktemp("nats"), nodes=1) as server:
        yield server


async def test_two_nodes_failing_one_file_file_it_once(
    nats: LocalNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = station_config(
        tmp_path, {"name": "csv", "class_name": "CSVConverter", "watch_folder": "in"}
    )
    [slot] = build_slots(config)
    slot.entry.watch_folder.mkdir(parents=True)
    source = slot.entry.watch_folder / "unit.csv"
    source.write_text("not a csv report\n")

    # the fault: both nodes' moves start together (a shared folder, two machines), so without
    # a claim both link the file into error/ before either removes the source
    together = threading.Barrier(2, timeout=2.0)
    real_move = error_folder.move_no_overwrite

    def move_together(*args: object, **kwargs: object) -> Path:
        # the other node may never come: it found the claim taken
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait()
        return real_move(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(error_folder, "move_no_overwrite", move_together)

    tag = tmp_path.name.replace(".", "_")[-20:]
    cfg = ClusterConfig(
        servers=nats.urls,
        node="a",
        replicas=1,
        work_stream=f"W_{tag}",
        subject_prefix=f"w.{tag}",
        handled_bucket=f"h_{tag}",
        claims_bucket=f"c_{tag}",
        nodes_bucket=f"n_{tag}",
    )
    filings, connections = [], []
    for node in ("a", "b"):
        js = await connect(cfg)
        connections.append(js)
        journal = Journal(tmp_path / f"journal-{node}.sqlite")
        post = ClaimingPostProcessor(journal, config.archive_folder, js, node)
        filings.append(FailureFiling(post, ServiceStats(), config.error_folder))
    try:
        exc = ConversionError("no header line", line=1)
        results = await asyncio.gather(*(f.fail(source, slot, exc, 1) for f in filings))
    finally:
        for js in connections:
            await js.close()

    filed = sorted(p.name for p in config.error_folder.iterdir())
    assert filed == ["unit.csv", "unit.csv.error"]
    assert not source.exists()
    assert (config.error_folder / "unit.csv").read_text() == "not a csv report\n"
    # one node filed it; the other was told it cannot now, so it stays with that node's
    # retry, which then finds it gone
    assert sorted(results) == [False, True]
    assert sum(f.stats.counts("csv").failed for f in filings) == 1
    assert await filings[0].fail(source, slot, exc, 1) is True
