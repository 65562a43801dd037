"""Validated construction of report parts: a model built from a converter's values, or a
`ReportValidationError` whose lines say `path: message` (pydantic's errors made readable)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wats_converter.errors import ReportValidationError
from wats_converter.report.parts import LIMIT_RULES

M = TypeVar("M", bound=BaseModel)


def build(model: type[M], where: str, **fields: Any) -> M:
    """`model(**fields)`, or `ReportValidationError` with `where` before each field path."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise ReportValidationError(describe_validation_error(exc, prefix=where)) from None


def format_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('root', 'steps', 3, 'compOp') -> 'root.steps[3].compOp'."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "report"


def describe_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    """Turn pydantic's errors into `path: message` lines a user can act on."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (not part of the WSJF schema)"
        elif err["type"] == "missing":
            message = "missing required field"
        elif err["type"] != "value_error" and "input" in err:
            message = f"{message} (got {_short(err['input'])})"
        if err["type"] in ("string_too_long", "too_long"):
            field = next((p for p in reversed(loc) if isinstance(p, str)), "")
            if field in LIMIT_RULES:  # the schema has no lengths: say where the limit comes from
                message += f"; project limit: {LIMIT_RULES[field]}"
        problems.append(f"{format_path(loc, prefix)}: {message}")
    return problems


def _is_union_tag(part: int | str) -> bool:
    # pydantic puts the union member it tried ("float", "function-after[...]") into locations
    return isinstance(part, str) and (part in {"float", "int", "str", "bool"} or "[" in part)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
