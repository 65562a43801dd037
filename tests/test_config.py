"""The YAML config: the documented example works as written; every mistake names its key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import cli
from wats_converter.config import PostProcessAction, load_config
from wats_converter.errors import ConfigError

ISSUE_EXAMPLE = """\
server:
  url: http://127.0.0.1:8080
  token: bXktdG9rZW4=            # or token_env: WATS_TOKEN
station: {name: ST-01, location: Line 1, purpose: Production}
pending_folder: data/pending
archive_folder: data/archive
max_workers: 4
converters:
  - name: JSON results
    class_name: WSJFConverter     # a built-in converter is named by its class alone
    priority: 5
    watch_folder: data/watch/json
    done_folder: data/done
    error_folder: data/error
    post_process_action: MOVE
  - name: Line 3 CSV
    module_path: my_company.converters.line3   # a user's converter: module + class
    class_name: Line3Converter
    enabled: false
    priority: 8
    watch_folder: data/watch/line3
    error_folder: data/error
    post_process_action: ZIP
    settings: {delimiter: ";"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "converters.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_documented_example_loads_with_folders_relative_to_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ISSUE_EXAMPLE))
    base = (tmp_path / "conf").resolve()
    assert config.pending_folder == base / "data/pending"
    json_entry, line3 = config.converters
    assert json_entry.watch_folder == base / "data/watch/json"
    assert json_entry.post_process_action is PostProcessAction.MOVE
    assert line3.enabled is False and line3.settings == {"delimiter": ";"}
    assert config.server.resolved_token() == "bXktdG9rZW4="
    assert config.station.name == "ST-01" and config.max_workers == 4


def test_check_config_accepts_the_example_and_creates_folders(tmp_path: Path) -> None:
    path = write(tmp_path, ISSUE_EXAMPLE)
    result = cli("check-config", "--config", str(path), "--create-folders")
    assert result.returncode == 0, result.stderr
    assert "OK, 1 of 2 converters enabled" in result.stdout
    for folder in ("data/pending", "data/archive", "data/watch/json", "data/done", "data/error"):
        assert (path.parent / folder).is_dir()


def test_token_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATS_TOKEN", "secret")
    text = ISSUE_EXAMPLE.replace(
        "token: bXktdG9rZW4=            # or token_env: WATS_TOKEN", "token_env: WATS_TOKEN"
    )
    assert load_config(write(tmp_path, text)).server.resolved_token() == "secret"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("max_workers: 4", "max_workers: 4\nmax_wrokers: 2"), "max_wrokers: unknown key"),
        (("max_workers: 4", "max_workers: many"), "max_workers: Input should be a valid integer"),
        (
            ("priority: 5", "priority: 11"),
            "converters[0].priority: Input should be less than or equal to 10 (got 11)",
        ),
        (
            ("priority: 5\n", "priority: 5\n    settings: {max_file_size_bytes: -1}\n"),
            "converters[0].settings.max_file_size_bytes: Input should be greater than 0 (got -1)",
        ),
        (
            ("post_process_action: MOVE", "post_process_action: SHRED"),
            "converters[0].post_process_action",
        ),
        (
            ("    done_folder: data/done\n", ""),
            "converters[0].done_folder: required when post_process_action is MOVE",
        ),
        (
            ("enabled: false", "enabled: true"),
            "converters[1].module_path: cannot import 'my_company.converters.line3'",
        ),
        (
            ("priority: 5\n", "priority: 5\n    settings: {delimitr: x}\n"),
            "converters[0].settings.delimitr: unknown key",  # as for the config's own keys
        ),
        (
            ("  - name: Line 3 CSV", "  - name: JSON results"),
            "converters[1].name: 'JSON results' is used by two",
        ),
        (("server:", "server: [\n"), "not valid YAML"),
    ],
)
def test_mistakes_are_one_clear_error_naming_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, ISSUE_EXAMPLE.replace(*change))
    result = cli("check-config", "--config", str(path))
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_two_converters_claiming_the_same_files_is_an_error(tmp_path: Path) -> None:
    second = """\
  - name: More JSON
    class_name: WSJFConverter
    watch_folder: data/watch/json
    post_process_action: DELETE
"""
    result = cli("check-config", "--config", str(write(tmp_path, ISSUE_EXAMPLE + second)))
    assert result.returncode == 2
    assert "converters[2] ('More JSON') watches the same files as 'JSON results'" in result.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_1_2_keeps_no_and_octal_like_strings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ISSUE_EXAMPLE.replace("location: Line 1", "location: NO")))
    assert config.station.location == "NO"
