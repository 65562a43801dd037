"""Loading converters by built-in name, entry point, or module_path + class_name."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import cli
from wats_converter.converters.api import ConversionContext
from wats_converter.converters.builtin import CSVConverter, WSJFConverter
from wats_converter.converters.loading import (
    create_converter,
    known_converter_names,
    load_converter_class,
)
from wats_converter.errors import ConfigError

USER_CONVERTER = """
from pathlib import Path
from wats_converter.converters import ConverterBase, ConverterSettings
from wats_converter.report import UUTReport
from datetime import datetime, timezone


class Settings(ConverterSettings):
    unit: str = "V"


class Line3Converter(ConverterBase):
    name = "Line3Converter"
    supported_extensions = (".l3",)
    Settings = Settings

    def convert(self, content: str, file_path: Path) -> UUTReport:
        sn, pn, volts = content.strip().split(",")
        report = UUTReport(pn=pn, sn=sn, start=datetime(2025, 1, 1, tzinfo=timezone.utc))
        report.root.add_numeric_step("VCC", float(volts), 4.9, 5.1, unit=self.settings.unit)
        return report
"""


@pytest.fixture
def user_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "my_company" / "converters"
    pkg.mkdir(parents=True)
    (tmp_path / "my_company" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "line3.py").write_text(USER_CONVERTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("my_company")]:
        del sys.modules[name]


def test_builtins_by_class_name() -> None:
    assert load_converter_class("WSJFConverter", None, "c") is WSJFConverter
    assert load_converter_class("CSVConverter", None, "c") is CSVConverter


def installed_distribution(folder: Path, entry_points: str) -> Path:
    """A distribution as pip leaves it: a `.dist-info` beside its module, on `sys.path`."""
    dist = folder / "acme_converters-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-converters\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)
    (folder / "acme_line3.py").write_text(USER_CONVERTER)
    return folder


def test_a_third_party_converter_is_found_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = "[wats_converter.converters]\n"
    site = installed_distribution(tmp_path, f"{group}Line3Converter = acme_line3:Line3Converter\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "acme_line3", raising=False)
    assert "Line3Converter" in known_converter_names()
    cls = load_converter_class("Line3Converter", None, "converters[0]")
    assert cls.__module__ == "acme_line3" and cls.name == "Line3Converter"
    converter = create_converter(cls, {"unit": "mV"}, ConversionContext(), "converters[0]")
    assert converter.settings.unit == "mV"


def test_an_entry_point_that_fails_to_load_names_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = "[wats_converter.converters]\n"
    site = installed_distribution(tmp_path, f"{group}Broken = acme_line3:NoSuchClass\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "acme_line3", raising=False)
    with pytest.raises(ConfigError, match=r"converters\[0\]: entry point 'acme_line3:NoSuch"):
        load_converter_class("Broken", None, "converters[0]")


def test_the_built_in_converters_are_not_declared_as_entry_points_again() -> None:
    # the loader takes built-ins by name before it looks at entry points: such a declaration
    # could never be loaded, and an old one in an installed wheel is ignored
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '[project.entry-points."wats_converter.converters"]' not in pyproject


def test_user_converter_by_module_path(user_package: Path) -> None:
    cls = load_converter_class("Line3Converter", "my_company.converters.line3", "converters[1]")
    converter = create_converter(cls, {"unit": "mV"}, ConversionContext(), "converters[1]")
    assert converter.settings.unit == "mV"
    assert converter.matches_file(Path("x.L3"))


def test_user_converter_works_through_convert_with_a_config(user_package: Path) -> None:
    elsewhere = user_package / "elsewhere"
    elsewhere.mkdir()
    (user_package / "r.l3").write_text("SN9,PN9,5.0\n")
    (user_package / "c.yaml").write_text(
        textwrap.dedent("""\
        converter_paths: [.]
        converters:
          - name: Line 3
            module_path: my_company.converters.line3
            class_name: Line3Converter
            watch_folder: watch
            post_process_action: DELETE
            settings: {unit: mV}
        """)
    )
    result = cli(
        "convert",
        str(user_package / "r.l3"),
        "--config",
        str(user_package / "c.yaml"),
        cwd=str(elsewhere),  # the config's converter_paths find the module, not the cwd
    )
    assert result.returncode == 0, result.stderr
    assert '"unit": "mV"' in result.stdout.replace(
        '":"', '": "'
    ) and '"sn": "SN9"' in result.stdout.replace('":"', '": "')


@pytest.mark.parametrize(
    ("class_name", "module", "message"),
    [
        (
            "Nope",
            None,
            "converters[0].class_name: no converter named 'Nope'; built-in and installed converters are ATMLConverter, CSVConverter",
        ),
        (
            "X",
            "no_such_module_xyz",
            "converters[0].module_path: cannot import 'no_such_module_xyz'",
        ),
        ("Missing", "json", "converters[0].class_name: module 'json' has no 'Missing'"),
        ("JSONDecoder", "json", "is not a ConverterBase subclass"),
    ],
)
def test_load_errors_name_the_entry(class_name: str, module: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_converter_class(class_name, module, "converters[0]")


def test_bad_settings_name_the_setting() -> None:
    with pytest.raises(
        ConfigError, match=r"converters\[2\].settings.delimiter: String should have at most 1"
    ):
        create_converter(CSVConverter, {"delimiter": ";;"}, ConversionContext(), "converters[2]")
