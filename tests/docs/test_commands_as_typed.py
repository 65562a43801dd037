"""Every command the README and the operations guide show exists with the options they show,
and `make run` installs only what running needs."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from wats_converter.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/**/*.md")))


def shown_commands() -> list[tuple[str, str]]:
    """(doc, command line) for every `wats-converter ...` line inside a code block."""
    found = []
    for doc in DOCS:
        inside = False
        for line in (ROOT / doc).read_text().splitlines():
            if line.startswith("```"):
                inside = not inside
                continue
            match = re.search(r"(?:^|\s|/bin/|\\Scripts\\)wats-converter(\.exe)? ([^#(]*)", line)
            if inside and match and not line.lstrip().startswith(("ln ", "journalctl", "<")):
                found.append((doc, match.group(2).strip()))
            if not inside:  # `wats-converter errors list\|show NAME` in a table: the first form
                for span in re.findall(r"`wats-converter ([^`]*)`", line):
                    if span == "note":  # the misc-info description of a conversion note
                        continue
                    found.append((doc, span.split("\\|")[0].split("|")[0]))
    return found


@pytest.mark.parametrize(("doc", "line"), shown_commands())
def test_each_documented_command_and_option_exists(doc: str, line: str) -> None:
    text = line.replace("[", "").replace("]", "").rstrip(" \\")  # a continued line ends in \\
    words = shlex.split(text)
    command: click.Command = main
    path = []
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        path.append(words[0])
        command = command.commands[words.pop(0)]
    assert path, f"{doc}: `wats-converter {line}`: no such command"
    known = {opt for p in command.params for opt in getattr(p, "opts", [])}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{doc}: `{line}`: {word} is not an option"


def test_the_docs_show_commands() -> None:
    assert len(shown_commands()) >= 20


def test_make_run_installs_the_runtime_only_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    def plan(target: str) -> str:
        return subprocess.run(
            ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    run = plan("run")
    assert "pip install --quiet -e .\n" in run and "[dev]" not in run
    assert "wats-converter run" in run
    assert "pip install --quiet -e '.[dev]'" in plan("test")
    assert "wats-converter status" in plan("status")
