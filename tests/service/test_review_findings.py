"""Bugs found by an independent review of this wave, each reproduced (they failed before)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.converters.test_content_choice import SAMPLES, xml_converters
from tests.service.harness import Station, wait_until
from wats_converter.server.fixture import ServerThread


def test_a_file_created_empty_then_written_goes_to_the_converter_of_its_content(
    tmp_path: Path, server: ServerThread
) -> None:
    station = Station(
        tmp_path,
        server,
        xml_converters(done_folder="done", error_folder="error", post_process_action="MOVE"),
        settle_s=2.0,
    )
    watch = station.folder("watch")
    station.start()
    wait_until(lambda: "startup scan" in station.log(), 30, "startup scan", station)
    target = watch / "ts.xml"
    target.touch()  # the tester opens its report file ...
    time.sleep(0.5)
    target.write_bytes(SAMPLES["ts-with.xml"].read_bytes())  # ... and writes it
    wait_until(
        lambda: server.store.count() == 1 or station.files("error"), 60, "an outcome", station
    )
    time.sleep(1)
    station.stop()
    assert [p.name for p in station.files("error")] == [], station.log()[-3000:]
    assert server.store.count() == 1


def test_a_session_log_idle_for_an_hour_is_not_taken_from_the_tester(
    tmp_path: Path, server: ServerThread
) -> None:
    import os

    station = Station(
        tmp_path,
        server,
        [
            {
                "name": "gr",
                "class_name": "GR228XConverter",
                "watch_folder": "watch",
                "post_process_action": "MOVE",
                "done_folder": "done",
                "settings": {"timezone": "Europe/Oslo", "part_number": "PN"},
            }
        ],
    )
    log = station.folder("watch") / "session.LOG"
    log.write_text(
        "F:\\BOARDS\\P\\P.obc[30-JUL-25  08:00:00\n"
        '@30-JUL-25  08:01:00 SN 1\nR1=100.0(90,110)R\n"30-JUL-25  08:02:00\n'
    )  # a session still open: the tester writes the next board after lunch
    two_hours_ago = time.time() - 7200
    os.utime(log, (two_hours_ago, two_hours_ago))
    station.run_once()
    assert log.exists(), "the open session log was taken out of the watch folder"


def test_exec_time_across_the_spring_dst_change_is_the_real_duration(tmp_path: Path) -> None:
    from wats_converter.converters.builtin.gr228x import GR228XConverter

    log = tmp_path / "dst.LOG"
    log.write_text(
        "F:\\BOARDS\\P\\P.obc[30-MAR-25  01:50:00\n"
        '@30-MAR-25  01:55:00 SN 1\nR1=100.0(90,110)R\n"30-MAR-25  03:05:00\n'
        "]30-MAR-25  03:10:00\n"
    )
    converter = GR228XConverter({"timezone": "Europe/Oslo", "part_number": "PN"})
    (report,) = converter.convert(log.read_text(), log)
    assert report.uut.execTime == 600.0  # 01:55+01:00 to 03:05+02:00


def test_the_report_page_draws_a_chart_with_a_nan_or_infinite_reading() -> None:
    from wats_converter.server.charts import chart_svg

    for ydata in ("nan;1;2", "1;inf;3"):
        chart_svg(
            {"chartType": "Line", "series": [{"name": "a", "xdata": "0;1;2", "ydata": ydata}]}
        )


def test_a_chart_without_x_values_draws_its_y_values() -> None:
    from wats_converter.server.charts import chart_svg

    svg = chart_svg({"chartType": "Line", "series": [{"name": "a", "ydata": "1;2;3"}]})
    assert 'points=""' not in svg
