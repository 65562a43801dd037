"""The report browser, rendered by a real headless Chromium (Debian's `chromium` package)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from wats_converter.server.fixture import ServerThread, local_server
from wats_converter.server.pages import REFRESH_S
from wats_converter.testing import minimal_report, rich_report

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,900",
]


def chromium(tmp_path: Path, url: str, *args: str) -> str:
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, url],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def post(server: ServerThread, body: bytes) -> None:
    request = urllib.request.Request(
        server.url + "/api/Report/WSJF",
        data=body,
        method="POST",
        headers={"Authorization": f"Basic {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def get(server: ServerThread, path: str) -> str:
    """A page, signed in as a browser does: any user name, the token as the password."""
    credentials = base64.b64encode(f"operator:{server.token}".encode()).decode()
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Basic {credentials}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def report_page_checks(page: str, rich_sn: str) -> None:
    """What a person reading the 200-step failed report must find on its page."""
    assert f"{rich_sn}: Failed" in page
    # every UUT header field
    for label, value in (
        ("Operator", "operator1"),
        ("Batch", "LOT-42"),
        ("Fixture", "FX-9"),
        ("Comment", "nightly run"),
        ("Execution time", "42.5 s"),
        ("Station", "FCT-02"),
        ("Start (UTC)", "2025-03-04T08:15:30.250000Z"),
    ):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in page, label
    assert "PSU-000778" in page and "DMM-0042" in page and "Firmware" in page
    # the failures first, each a link to its step
    summary = page[page.index('id="failures"') : page.index("</div>", page.index('id="failures"'))]
    assert "15 failed steps</b> of 198" in summary
    assert "Limits / GELE fail</a>: 2.5 V (limit 1 ≤ x ≤ 2)" in summary
    assert "Retry power</a>: error -17: PSU timeout" in summary
    links = re.findall(r'href="#(step-\d+)"', summary)
    assert len(links) == 15 and all(f'id="{target}"' in page for target in links)
    assert page.index('id="failures"') < page.index("<h2>Steps")
    # failed branches open, passed ones closed
    assert re.search(
        r'<details class="failed" open(?:="")? id="step-\d+">\s*<summary><b>Limits</b>', page
    )
    assert re.search(r'<details class="" id="step-\d+">\s*<summary><b>Block 0</b>', page)
    # numbers rounded for reading, limits in words
    assert "3.4755000000000003" not in page and "<td>3.1445 ≤ x ≤ 3.4755</td>" in page
    assert '<td class="num">70</td>' in page and '<td class="num">70.0</td>' not in page
    assert "<td>x &lt; 70</td>" in page  # an upper-only limit is not a "Low"
    assert "equals “abc”" in page
    # the chart drawn, not one number
    assert page.count("<svg") == 1 and "<polyline" in page and "Frequency (Hz)" in page
    assert page.count("<th>Step</th>") < 15  # one table per sequence, not one per step


def test_report_page_content_and_raw_wsjf() -> None:
    with local_server() as server:
        rich = rich_report("SN-RICH-3")
        body = rich.to_wsjf()
        post(server, body)
        page = get(server, f"/reports/{rich.id}")
        report_page_checks(page, "SN-RICH-3")
        assert f'href="/reports/{rich.id}/wsjf"' in page
        raw = get(server, f"/reports/{rich.id}/wsjf")
        assert json.loads(raw) == json.loads(body)  # every digit kept; only the page rounds
        assert "3.4755000000000003" in raw


def test_search_is_partial_case_insensitive_paged_and_counted() -> None:
    with local_server() as server:
        for i in range(120):
            post(server, minimal_report(f"LOT7-UNIT-{i:04d}", passed=i % 10 != 0).to_wsjf())
        post(server, rich_report("SN-RICH-3").to_wsjf())
        found = get(server, "/?sn=unit-011")
        assert "10 of 121 reports match; showing 1 to 10." in found
        assert "LOT7-UNIT-0110" in found and "LOT7-UNIT-0120" not in found
        assert "1 of 121" in get(server, "/?station=fct")
        assert "1 of 121" in get(server, "/?pn=pcba&station=FcT-0")
        failed = get(server, "/?result=Failed")
        assert "13 of 121 reports match" in failed  # 12 units and the rich report
        first = get(server, "/")
        assert "121 of 121 reports match; showing 1 to 50." in first and "page 1 of 3" in first
        assert 'href="/?page=2" rel="next"' in first
        third = get(server, "/?page=3")
        assert (
            "showing 101 to 121." in third and 'rel="prev"' in third and 'rel="next"' not in third
        )
        kept = get(server, "/?sn=unit&page=2")
        assert 'href="/?sn=unit&amp;page=1" rel="prev"' in kept  # paging keeps the filter
        assert "120 of 121" in kept and 'value="unit"' in kept
        assert "0 of 121" in get(server, "/?from=2025-03-05")
        assert "121 of 121" in get(server, "/?from=2025-03-04&to=2025-03-04")
        assert 'http-equiv="refresh"' not in first  # a reload would drop what is being typed
        assert "dirty" in first


def test_the_page_escapes_what_the_report_says() -> None:
    with local_server() as server:
        report = minimal_report("<script>alert(1)</script>")
        report.uut.comment = "<b>bold</b> & more"
        post(server, report.to_wsjf())
        listed = get(server, "/")
        page = get(server, f"/reports/{report.id}")
        for html in (listed, page):
            assert "<script>alert(1)</script>" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page


def test_first_pass_yield_by_part_number_and_station() -> None:
    with local_server() as server:
        for i in range(8):
            post(server, minimal_report(f"U{i}", passed=i not in (2, 5)).to_wsjf())
        # U2 passes its second test (same start, received later): still not a first-pass unit
        post(server, minimal_report("U2").to_wsjf())
        page = get(server, "/yield")
        rows = re.findall(
            r"<tr(?: class=\"total\")?><td>([^<]*)</td><td>([^<]*)</td>\s*"
            r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>"
            r"<td class=\"num\">([\d.]+) %</td>.*?<td class=\"num\">(\d+)</td></tr>",
            page,
            re.S,
        )
        assert ("PCBA-1001", "ST-01", "8", "6", "75.0", "9") in rows
        assert ("PCBA-1001", "all stations", "8", "6", "75.0", "9") in rows


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (`apt-get install chromium`); .ci/run installs it",
)
def test_report_pages_render_in_headless_chromium(tmp_path: Path) -> None:
    with local_server(open_access=True) as server:  # a browser without credentials
        post(server, minimal_report("SN-PASS-1").to_wsjf())
        post(server, minimal_report("SN-FAIL-2", passed=False).to_wsjf())
        rich = rich_report("SN-RICH-3")
        post(server, rich.to_wsjf())

        page = chromium(tmp_path, server.url + "/", "--dump-dom")
        assert "3 of 3 reports match" in page
        for sn in ("SN-PASS-1", "SN-FAIL-2", "SN-RICH-3"):
            assert sn in page
        assert '<tr class="F">' in page and '<tr class="P">' in page

        filtered = chromium(tmp_path, server.url + "/?result=Failed", "--dump-dom")
        assert "SN-FAIL-2" in filtered and "SN-PASS-1" not in filtered
        # a unit found by part of its serial number, in any case
        found = chromium(tmp_path, server.url + "/?sn=rich-", "--dump-dom")
        assert "1 of 3 reports match" in found and "SN-RICH-3" in found

        detail = chromium(tmp_path, f"{server.url}/reports/{rich.id}", "--dump-dom")
        report_page_checks(detail, "SN-RICH-3")
        # the browser drew the chart: the polyline has the three points of the series
        points = re.search(r'<polyline class="series" points="([^"]+)"', detail)
        assert points and len(points.group(1).split()) == 3

        chromium(tmp_path, server.url + "/", f"--screenshot={tmp_path / 'reports.png'}")
        chromium(
            tmp_path, f"{server.url}/reports/{rich.id}", f"--screenshot={tmp_path / 'report.png'}"
        )
        chromium(tmp_path, server.url + "/yield", f"--screenshot={tmp_path / 'yield.png'}")
    for shot in ("reports.png", "report.png", "yield.png"):
        png = (tmp_path / shot).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000


class DevTools:
    """A page in a real headless Chromium, driven over the DevTools protocol (aiohttp's
    websocket client): type into it, wait, read it back."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params: object) -> dict[str, object]:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return dict(message.get("result", {}))

    async def js(self, expression: str) -> object:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return dict(result["result"]).get("value")  # type: ignore[call-overload]

    async def load(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if await self.js("document.readyState") == "complete":
                return
        raise AssertionError(f"{url} did not load")


def chromium_with_devtools(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """A headless Chromium with its DevTools endpoint on a free loopback port."""
    assert CHROMIUM is not None
    browser = subprocess.Popen(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert browser.stderr is not None
    line = ""
    while "DevTools listening on" not in line:
        line = browser.stderr.readline()
        assert line, "chromium exited"
    return browser, line.split("ws://127.0.0.1:")[1].split("/")[0]


@contextlib.asynccontextmanager
async def browser_page(tmp_path: Path) -> AsyncIterator[DevTools]:
    """The first page of a headless Chromium (`chromium_with_devtools`), killed at the end."""
    browser, port = chromium_with_devtools(tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in await response.json() if t["type"] == "page"]
            async with session.ws_connect(pages[0]["webSocketDebuggerUrl"]) as ws:
                yield DevTools(ws)
    finally:
        browser.kill()
        browser.wait()


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (`apt-get install chromium`); .ci/run installs it",
)
async def test_the_refresh_keeps_the_filter_and_never_loses_typing(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    with local_server(open_access=True) as server:  # a browser without credentials
        post(server, rich_report("SN-RICH-3").to_wsjf())
        async with browser_page(tmp_path) as page:
            await page.load(server.url + "/?pn=pcba")
            await page.js("window.marker = 1")
            await asyncio.sleep(REFRESH_S + 1.5)
            # untouched: the list refreshed itself, with its filter
            assert await page.js("window.marker") is None
            assert await page.js("location.search") == "?pn=pcba"
            assert await page.js("document.querySelector('[name=pn]').value") == "pcba"
            await page.js("document.querySelector('[name=sn]').focus(); window.marker = 2")
            await page.call("Input.insertText", text="rich")
            await page.js("document.activeElement.blur()")  # typed, then looked away
            await asyncio.sleep(REFRESH_S + 1.5)
            # what was typed is still there: no refresh threw it away
            assert await page.js("window.marker") == 2
            assert await page.js("document.querySelector('[name=sn]').value") == "rich"


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (`apt-get install chromium`); .ci/run installs it",
)
async def test_the_step_tree_folds_and_the_failure_links_jump(tmp_path: Path) -> None:
    with local_server(open_access=True) as server:  # a browser without credentials
        rich = rich_report("SN-RICH-3")
        post(server, rich.to_wsjf())
        async with browser_page(tmp_path) as page:
            await page.load(f"{server.url}/reports/{rich.id}")
            closed = "[...document.querySelectorAll('details:not([open]) > summary b')]"
            shut = await page.js(f"{closed}.map(b => b.textContent)")
            assert isinstance(shut, list) and "Block 0" in shut and "Limits" not in shut
            visible = "(e => e.checkVisibility())"
            row = "document.querySelector('#step-51')"  # R0, inside Block 0
            assert await page.js(f"{visible}({row})") is False
            await page.js(f"{closed}.find(b => b.textContent == 'Block 0').parentElement.click()")
            assert await page.js(f"{visible}({row})") is True  # unfolded on a click
            await page.js("document.querySelector('#failures li:last-child a').click()")
            await asyncio.sleep(0.3)
            target = await page.js(
                "(() => { const r = document.querySelector(location.hash)"
                ".getBoundingClientRect(); return [location.hash, r.top, innerHeight] })()"
            )
            assert isinstance(target, list)
            hash_, top, height = target
            assert hash_.startswith("#step-") and 0 <= top < height  # scrolled to it
            shot = await page.call("Page.captureScreenshot", format="png")
            (tmp_path / "failure.png").write_bytes(base64.b64decode(str(shot["data"])))
    assert (tmp_path / "failure.png").read_bytes().startswith(b"\x89PNG")
