"""The comparison-operator table of the spec, property-tested against an independent oracle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wats_converter.report import CompOp, numeric_passes, string_passes
from wats_converter.report.compare import parse_comp_op

# The spec's table (§1.4.1), written out literally: x = value, L = lowLimit, H = highLimit.
SPEC = {
    "EQ": lambda x, L, H: x == L,
    "NE": lambda x, L, H: x != L,
    "GT": lambda x, L, H: x > L,
    "GE": lambda x, L, H: x >= L,
    "LT": lambda x, L, H: x < L,
    "LE": lambda x, L, H: x <= L,
    "GTLT": lambda x, L, H: L < x < H,
    "GELE": lambda x, L, H: L <= x <= H,
    "GELT": lambda x, L, H: L <= x < H,
    "GTLE": lambda x, L, H: L < x <= H,
    "LTGT": lambda x, L, H: x < L or x > H,
    "LEGE": lambda x, L, H: x <= L or x >= H,
    "LEGT": lambda x, L, H: x <= L or x > H,
    "LTGE": lambda x, L, H: x < L or x >= H,
    "LOG": lambda x, L, H: True,
}
# Small integers make equality and boundary cases common, which is where operators differ.
numbers = st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6, allow_nan=False))


@given(op=st.sampled_from(sorted(SPEC)), x=numbers, low=numbers, high=numbers)
def test_numeric_operator_matches_the_spec_table(
    op: str, x: float, low: float, high: float
) -> None:
    assert numeric_passes(CompOp(op), x, low, high) is SPEC[op](x, low, high)


@given(op=st.sampled_from(["EQ", "NE", "GT", "GE", "LT", "LE"]), x=numbers, low=numbers)
def test_single_limit_operators_use_low_limit_and_ignore_high(
    op: str, x: float, low: float
) -> None:
    assert numeric_passes(CompOp(op), x, low, None) is SPEC[op](x, low, None)


@given(value=st.text(max_size=8), limit=st.text(max_size=8))
def test_string_operators(value: str, limit: str) -> None:
    assert string_passes(CompOp.CASESENSIT, value, limit) is (value == limit)
    assert string_passes(CompOp.EQ, value, limit) is (value == limit)
    assert string_passes(CompOp.NE, value, limit) is (value != limit)
    assert string_passes(CompOp.IGNORECASE, value, limit) is (value.casefold() == limit.casefold())
    assert string_passes(CompOp.LOG, value, None) is True


def test_ignorecase_matches_different_case() -> None:
    assert string_passes(CompOp.IGNORECASE, "v1.4.2", "V1.4.2")
    assert not string_passes(CompOp.CASESENSIT, "v1.4.2", "V1.4.2")


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("gele", CompOp.GELE),
        ("IgnoreCase", CompOp.IGNORECASE),
        (None, CompOp.LOG),
        ("", CompOp.LOG),
        (" lt ", CompOp.LT),
    ],
)
def test_operators_are_read_case_insensitively_and_missing_means_log(
    text: str | None, op: CompOp
) -> None:
    assert parse_comp_op(text) is op


@pytest.mark.parametrize("text", ["GTE", "EQT", "LOG DATA", "=", 5])
def test_unknown_operator_is_an_error(text: object) -> None:
    with pytest.raises(ValueError, match="is not a comparison operator"):
        parse_comp_op(text)


def test_dual_operator_without_high_limit_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs lowLimit and highLimit"):
        numeric_passes(CompOp.GELE, 1.0, 0.0, None)
