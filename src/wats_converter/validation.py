"""Pydantic's validation errors as `path: message` lines a user can act on, one way everywhere:
the config file, a converter's settings and a report.

`converters[1].priority: Input should be less than or equal to 10 (got 11)`,
`root.steps[3].compOp: missing required field`.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError


def format_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('root', 'steps', 3, 'compOp') -> 'root.steps[3].compOp' (after `prefix`)."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "report"


def validation_problems(
    exc: ValidationError,
    prefix: str = "",
    *,
    unknown: str = "unknown key",
    limits: Mapping[str, str] | None = None,
) -> list[str]:
    """One `path: message` line per problem. `unknown` is what an extra key is called; `limits`
    says, per field name, where a length limit comes from."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = unknown
        elif err["type"] == "missing":
            message = "missing required field"
        elif err["type"] != "value_error" and "input" in err:
            message = f"{message} (got {_short(err['input'])})"
        if limits and err["type"] in ("string_too_long", "too_long"):
            field = next((p for p in reversed(loc) if isinstance(p, str)), "")
            if field in limits:
                message += f"; project limit: {limits[field]}"
        problems.append(f"{format_path(loc, prefix)}: {message}")
    return problems


def _is_union_tag(part: int | str) -> bool:
    # pydantic puts the union member it tried ("float", "function-after[...]") into locations
    return isinstance(part, str) and (part in {"float", "int", "str", "bool"} or "[" in part)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
