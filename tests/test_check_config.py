"""`check-config` is the gate: each mistake that would only show once the service runs is
refused here with one line and its own exit code; `--connect` reaches the real server."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.helpers import cli
from wats_converter.server.fixture import ServerThread

GOOD = """\
server:
  url: {url}
  {token}
pending_folder: data/pending
converters:
  - name: csv
    class_name: CSVConverter
    watch_folder: data/watch
    post_process_action: DELETE
"""


def write(tmp_path: Path, url: str = "embedded", token: str = "", text: str = GOOD) -> Path:
    path = tmp_path / "converters.yaml"
    path.write_text(textwrap.dedent(text.format(url=url, token=token)))
    (tmp_path / "data" / "watch").mkdir(parents=True, exist_ok=True)
    return path


def check(path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        result = cli("check-config", "--config", str(path), *args)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("htp//host:8080", "'htp//host:8080' does not start with http:// or https://"),
        ("host:8080", "'host:8080' does not start with http:// or https://"),
        ("ftp://host", "does not start with http:// or https://"),
        ("http://", "names no host"),
        ("http://host:99999", "is not a valid URL"),
        ("http://host:80x", "is not a valid URL"),
        ("http://host:0", "port 0 is not a port"),
        ("https://host/?x=1", "has no ?query"),
    ],
)
def test_a_url_that_cannot_work_is_refused(tmp_path: Path, url: str, message: str) -> None:
    code, _, err = check(write(tmp_path, url))
    assert code == 2
    assert "server.url" in err and message in err, err
    assert len(err.strip().splitlines()) == 1


def test_an_unset_token_variable_is_refused_and_a_set_one_passes(tmp_path: Path) -> None:
    path = write(tmp_path, "https://wats.example.com", "token_env: WATS_TEST_TOKEN")
    code, _, err = check(path)
    assert code == 2
    assert "server.token_env: the environment variable WATS_TEST_TOKEN is not set" in err
    assert check(path, env={"WATS_TEST_TOKEN": "abc"})[0] == 0


def test_variables_in_the_config_are_expanded_and_unknown_ones_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "${WATS_TEST_URL}")
    code, _, err = check(path)
    assert code == 2 and "server.url: ${WATS_TEST_URL} is not set in the environment" in err
    code, _, err = check(path, env={"WATS_TEST_URL": "https://wats.example.com"})
    assert code == 0, err


def test_a_missing_watch_folder_is_reported_and_created_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, text=GOOD.replace("data/watch", "data/wacth"))
    code, _, err = check(path)
    assert code == 4
    assert (
        "watch folder" in err and "data/wacth does not exist" in err and "--create-folders" in err
    )
    assert not (tmp_path / "data" / "wacth").exists()
    code, out, _ = check(path, "--create-folders")
    assert code == 0 and "created watch folder" in out
    assert (tmp_path / "data" / "wacth").is_dir()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "server:\n  url: embedded\n",
        GOOD.replace("post_process_action", "enabled: false\n    post_process_action"),
    ],
)
def test_a_config_without_an_enabled_converter_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "converters.yaml"
    path.write_text(text.format(url="embedded", token=""))
    code, _, err = check(path)
    assert code == 2 and "no converter is enabled" in err, err


def test_run_refuses_what_check_config_refuses(tmp_path: Path) -> None:
    path = write(tmp_path, "https://wats.example.com", "token_env: WATS_TEST_TOKEN")
    result = cli("run", "--once", "--config", str(path))
    assert result.returncode == 2 and "WATS_TEST_TOKEN is not set" in result.stderr


def test_connect_reaches_the_server_checks_the_token_and_the_clock(
    tmp_path: Path, server: ServerThread
) -> None:
    path = write(tmp_path, server.url, f"token: {server.token}")
    code, out, err = check(path, "--connect")
    assert code == 0, err
    assert f"server {server.url}: version" in out and "token accepted" in out
    assert "clock: within 2 s of the server" in out


def test_connect_with_a_wrong_token_is_refused(tmp_path: Path, server: ServerThread) -> None:
    code, _, err = check(write(tmp_path, server.url, "token: not-the-token"), "--connect")
    assert code == 6
    assert "refuses this client" in err and "HTTP 401" in err and "token is wrong" in err


def test_connect_to_a_server_that_is_down_says_so(tmp_path: Path, server: ServerThread) -> None:
    path = write(tmp_path, server.url, f"token: {server.token}")
    server.stop_listening()
    code, _, err = check(path, "--connect")
    assert code == 5 and "cannot be reached" in err, err


def test_connect_to_a_url_that_is_not_a_wats_server(tmp_path: Path, server: ServerThread) -> None:
    code, _, err = check(
        write(tmp_path, server.url + "/nowhere", f"token: {server.token}"), "--connect"
    )
    assert code == 6 and "HTTP 404" in err, err
