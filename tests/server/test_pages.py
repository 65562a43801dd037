"""The report browser, rendered by a real headless Chromium (Debian's `chromium` package)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from wats_converter.server.fixture import ServerThread, local_server
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
        assert "3 reports stored" in page
        for sn in ("SN-PASS-1", "SN-FAIL-2", "SN-RICH-3"):
            assert sn in page
        assert '<tr class="F">' in page and '<tr class="P">' in page
        assert 'http-equiv="refresh"' in page

        filtered = chromium(tmp_path, server.url + "/?result=Failed", "--dump-dom")
        assert "SN-FAIL-2" in filtered and "SN-PASS-1" not in filtered

        detail = chromium(tmp_path, f"{server.url}/reports/{rich.id}", "--dump-dom")
        assert "SN-RICH-3: Failed" in detail
        assert "GELE pass" in detail and "Frequency response" in detail
        assert "<td>V</td>" in detail and "Passed" in detail

        chromium(tmp_path, server.url + "/", f"--screenshot={tmp_path / 'reports.png'}")
        chromium(
            tmp_path, f"{server.url}/reports/{rich.id}", f"--screenshot={tmp_path / 'report.png'}"
        )
    for shot in ("reports.png", "report.png"):
        png = (tmp_path / shot).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
