"""Validated construction of report parts: a model built from a converter's values, or a
`ReportValidationError` whose lines say `path: message` (pydantic's errors made readable by the
package's one formatter, `wats_converter.validation`)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wats_converter.errors import ReportValidationError
from wats_converter.report.parts import LIMIT_RULES
from wats_converter.validation import format_path as format_path
from wats_converter.validation import validation_problems

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], where: str, **fields: Any) -> M:
    """`model(**fields)`, or `ReportValidationError` with `where` before each field path."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise ReportValidationError(describe_validation_error(exc, prefix=where)) from None


def describe_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """Pydantic's errors about a report as `path: message` lines a user can act on."""
    return validation_problems(
        exc,
        prefix,
        unknown="unknown field (not part of the WSJF schema)",
        limits=LIMIT_RULES,  # the schema has no lengths: say where the limit comes from
    )
