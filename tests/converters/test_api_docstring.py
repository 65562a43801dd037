"""The example in `ConverterBase`'s docstring (what `help(ConverterBase)` shows an author) runs:
every name it uses is public, and the converter it defines converts a file the service's way."""

from __future__ import annotations

import inspect
import itertools
import textwrap
from pathlib import Path

import wats_converter.converters as api
from wats_converter.converters import ConverterBase
from wats_converter.report import UUTReport
from wats_converter.testing import convert_file


def docstring_example() -> str:
    """The indented block after `Example:` (it ends where the prose starts again)."""
    example = (inspect.getdoc(ConverterBase) or "").split("Example:\n", 1)[1]
    code = itertools.takewhile(lambda line: not line or line[0] == " ", example.splitlines())
    return textwrap.dedent("\n".join(code))


def test_the_converter_base_docstring_example_runs(tmp_path: Path) -> None:
    namespace: dict[str, object] = {
        **{name: getattr(api, name) for name in api.__all__},
        "Path": Path,
        "UUTReport": UUTReport,
    }
    exec(compile(docstring_example(), "ConverterBase docstring", "exec"), namespace)
    converter = namespace["Line3Converter"]
    sample = tmp_path / "board.l3"
    sample.write_text("SN-1,PN-9,2025-03-04 09:15:30,5.02m\n")
    (report,) = convert_file(converter, sample, {"timezone": "Europe/Oslo"})  # type: ignore[arg-type]
    assert (report.sn, report.pn) == ("SN-1", "PN-9")
    assert report.start is not None and report.start.isoformat() == "2025-03-04T09:15:30+01:00"
    (step,) = report.root.steps or []
    (vcc,) = step.numericMeas or []
    assert (step.name, vcc.value, vcc.unit, step.status) == ("VCC", 0.00502, "V", "F")
