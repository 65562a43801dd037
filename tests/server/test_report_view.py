"""How the report page writes numbers, limits and charts (the stored report is untouched)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from wats_converter.server.charts import chart_svg
from wats_converter.server.report_view import number, numeric_limit, string_limit


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3.4755000000000003, "3.4755"),
        (50.0, "50"),
        (50, "50"),
        (-0.000012345678, "-1.23457e-05"),
        (123456789.0, "1.23457e+08"),
        (float("nan"), "NaN"),
        (None, ""),
        ("text", "text"),
    ],
)
def test_numbers_are_rounded_for_reading(value: object, shown: str) -> None:
    assert number(value) == shown


@pytest.mark.parametrize(
    ("meas", "label"),
    [
        ({"compOp": "LT", "lowLimit": 70.0}, "x < 70"),  # an upper limit, though stored as low
        ({"compOp": "GE", "lowLimit": 1}, "x ≥ 1"),
        ({"compOp": "EQ", "lowLimit": 5.0}, "x = 5"),
        (
            {"compOp": "GELE", "lowLimit": 3.1445, "highLimit": 3.4755000000000003},
            "3.1445 ≤ x ≤ 3.4755",
        ),
        ({"compOp": "LTGT", "lowLimit": 1, "highLimit": 2}, "x < 1 or x > 2"),
        ({"compOp": "GELT", "lowLimit": 1}, "1 ≤ x < ?"),
        ({"compOp": "LOG"}, "logged, no limit"),
    ],
)
def test_numeric_limits_say_what_they_test(meas: dict[str, object], label: str) -> None:
    assert numeric_limit(meas) == label


def test_string_limits_say_what_they_expect() -> None:
    assert string_limit({"compOp": "EQ", "limit": "abc"}) == "equals “abc”"
    assert string_limit({"compOp": "IGNORECASE", "limit": "OK"}) == "equals “OK” (any case)"
    assert string_limit({"compOp": "NE", "limit": "x"}) == "differs from “x”"


def test_a_chart_is_valid_svg_with_its_points_and_escaped_labels() -> None:
    svg = chart_svg(
        {
            "chartType": "LineLogX",
            "label": "<script>x</script>",
            "xLabel": "Frequency",
            "xUnit": "Hz",
            "yLabel": "Gain",
            "yUnit": "dB",
            "series": [
                {"name": "A & B", "xdata": "10;100;1000", "ydata": "0;-1;-3"},
                {"name": "short", "xdata": "10;100", "ydata": "1"},
            ],
        }
    )
    root = ET.fromstring(svg)  # well-formed: labels are escaped
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f"{ns}polyline")
    assert [len(p.get("points", "").split()) for p in lines] == [3, 1]
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "<script>x</script>" in texts and "A & B" in texts and "Frequency (Hz)" in texts
    assert {"10", "100", "1000"} <= set(texts)  # a log axis marks the decades
