"""The server's WSJF schema as a JSON Schema that refuses unknown properties.

`wsjf-schema.json` (next to this module) is the `definitions` of a WATS 2025.3 server's
swagger document, unchanged: the contract. `json_schema()` turns it into a JSON Schema (draft 7)
for one report: every class refuses properties it does not declare, `int32` numbers are range
checked and `uuid` / `date-time` strings are format checked. `schema_problems()` validates with
the `jsonschema` package, which is imported only when it is called (install the `testing`
extra: `pip install wats-converter[testing]`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from importlib import resources
from typing import Any

PREFIX = "Virinco.WATS.Schemas.WSJF."
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)", re.ASCII)


@functools.cache
def swagger_definitions() -> dict[str, Any]:
    """The schema file as shipped: `{"definitions": {...}, "source": ..., "title": ...}`."""
    text = resources.files("wats_converter.report").joinpath("wsjf-schema.json").read_text()
    return dict(json.loads(text))


@functools.cache
def json_schema() -> dict[str, Any]:
    """A JSON Schema for one WSJF report, built from the swagger definitions."""
    definitions = copy.deepcopy(swagger_definitions()["definitions"])
    for definition in definitions.values():
        definition["additionalProperties"] = False
        for prop in definition.get("properties", {}).values():
            _tighten(prop)
            if "items" in prop:
                _tighten(prop["items"])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": definitions,
        "$ref": f"#/definitions/{PREFIX}Report",
    }


def _tighten(prop: dict[str, Any]) -> None:
    if prop.get("format") == "int32":
        prop.update(minimum=-(2**31), maximum=2**31 - 1)


def schema_problems(document: dict[str, Any]) -> list[str]:
    """Every way `document` breaks the schema, as `path: message` lines (empty when valid)."""
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "checking reports against the WSJF schema needs the jsonschema package: "
            "pip install 'wats-converter[testing]'"
        ) from None
    checker = jsonschema.FormatChecker(formats=("uuid",))
    checker.checks("date-time")(lambda v: not isinstance(v, str) or bool(_DATE_TIME.fullmatch(v)))
    validator = jsonschema.Draft7Validator(json_schema(), format_checker=checker)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"{path.lstrip('.') or 'report'}: {error.message}")
    return problems
