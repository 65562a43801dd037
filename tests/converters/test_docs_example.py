"""docs/converters/writing-a-converter.md is true: its example files are shown verbatim, every
Python block in it runs, and its converter works in `convert`, `check-config`, `run` and under
the systemd unit `install-service` writes, with no PYTHONPATH."""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
DOC = ROOT / "docs" / "converters" / "writing-a-converter.md"
EXAMPLES = ROOT / "examples" / "my_converters"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)


def test_the_doc_shows_the_example_files_verbatim() -> None:
    example = (EXAMPLES / "line3.py").read_text().split('"""', 2)[2].lstrip("\n")
    assert _blocks("python")[0] == example
    assert _blocks("yaml")[0] == (EXAMPLES / "line3.yaml").read_text()
    assert _blocks("")[0] == (EXAMPLES / "sample.l3").read_text()


def test_every_python_block_of_the_doc_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the blocks name the example files relative to the repository
    monkeypatch.syspath_prepend(str(ROOT / "examples"))  # as pytest's `pythonpath` setting
    namespace: dict[str, object] = {"__name__": "writing_a_converter"}
    blocks = _blocks("python")
    assert len(blocks) >= 7
    for number, block in enumerate(blocks, 1):
        try:
            exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"python block {number} of {DOC.name} fails: {exc!r}") from exc
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert len(tests) >= 2
    for n, test in enumerate(tests):
        folder = tmp_path / str(n)
        folder.mkdir()
        kwargs = {"tmp_path": folder} if "tmp_path" in inspect.signature(test).parameters else {}
        test(**kwargs)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing set by hand
    return subprocess.run(
        list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False
    )


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "wats_converter", *args, cwd=cwd)


def test_the_doc_converter_runs_in_convert_run_and_the_systemd_unit(tmp_path: Path) -> None:
    # a station laid out as the doc says: the package next to its config
    shutil.copytree(EXAMPLES, tmp_path / "examples" / "my_converters")
    config = tmp_path / "examples" / "my_converters" / "line3.yaml"
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()

    converted = _cli(
        "convert", str(config.parent / "sample.l3"), "--config", str(config), cwd=elsewhere
    )
    assert converted.returncode == 0, converted.stderr
    reports = json.loads(converted.stdout)
    assert [(r["sn"], r["result"]) for r in reports] == [("SN000777", "P"), ("SN000778", "F")]
    assert reports[0]["start"] == "2026-03-04T09:15:30+01:00"  # the timezone setting

    checked = _cli(
        "check-config", "--config", str(config), "--create-folders", cwd=elsewhere
    )  # as the doc types it
    assert checked.returncode == 0, checked.stderr
    assert "Line 3: Line3Converter" in checked.stdout

    watch = tmp_path / "wats-data" / "watch" / "line3"
    shutil.copy(config.parent / "sample.l3", watch / "session1.l3")
    once = _cli("run", "--once", "--config", str(config), cwd=elsewhere)
    assert once.returncode == 0, once.stderr[-3000:]
    assert "done: 1 converted, 0 failed, 0 still pending" in once.stderr
    assert f"{watch}: *.l3 (Line 3)" in once.stdout

    unit = _cli("install-service", "--config", str(config), "--print", cwd=elsewhere)
    assert unit.returncode == 0, unit.stderr
    fields = dict(
        line.split("=", 1) for line in unit.stdout.splitlines() if "=" in line and line[0] != "#"
    )
    assert "PYTHONPATH" not in unit.stdout
    shutil.copy(config.parent / "sample.l3", watch / "session2.l3")
    (watch / "notes.dat").write_text("not a Line 3 file\n")
    # what systemd would start, in the unit's working directory, without PYTHONPATH
    service = _run(
        *shlex.split(fields["ExecStart"]), "--once", cwd=Path(fields["WorkingDirectory"])
    )
    assert service.returncode == 0, service.stderr[-3000:]
    assert "done: 1 converted, 0 failed, 0 still pending, 1 unmatched" in service.stderr
    with sqlite3.connect(config.parent / "server.sqlite") as db:
        stored = sorted(r[0] for r in db.execute("SELECT sn FROM reports"))
    assert stored == ["SN000777", "SN000778"]  # session2 repeats session1: same ids, no duplicates


def test_convert_without_a_config_says_how_to_register_a_converter(tmp_path: Path) -> None:
    sample = tmp_path / "sample.l3"
    shutil.copy(EXAMPLES / "sample.l3", sample)
    result = _cli("convert", str(sample), "--converter", "Line3Converter", cwd=tmp_path)
    assert result.returncode == 2
    assert "no converter named 'Line3Converter'" in result.stderr
    assert "CSVConverter" in result.stderr and "WSJFConverter" in result.stderr  # the known names
    assert "converter_paths" in result.stderr and "module_path" in result.stderr
    assert "entry point" in result.stderr


def test_the_base_class_docstring_example_runs(tmp_path: Path) -> None:
    from wats_converter.converters import ConverterBase

    doc = inspect.getdoc(ConverterBase) or ""
    example = doc.split("Example:\n", 1)[1].split("\n\nA converter must", 1)[0]
    code = "\n".join(line[4:] for line in example.splitlines())  # its 4-space indent
    namespace: dict[str, object] = {}
    exec(
        "from pathlib import Path\nfrom wats_converter.converters import *\n"
        "from wats_converter.report import UUTReport\n" + code,
        namespace,
    )
    from wats_converter.testing import convert_file

    path = tmp_path / "u.l3"
    path.write_text("SN1,PN1,2026-03-04 09:15:30,5.02\n")
    (report,) = convert_file(namespace["Line3Converter"], path, {"timezone": "UTC"})  # type: ignore[arg-type]
    assert (report.sn, report.result, report.start.isoformat()) == (  # type: ignore[union-attr]
        "SN1",
        "P",
        "2026-03-04T09:15:30+00:00",
    )


def test_the_doc_converter_is_typed_for_mypy_strict() -> None:
    # `ConverterBase[Line3Settings]`: mypy knows `self.settings.timezone` is a str
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(EXAMPLES / "line3.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout
