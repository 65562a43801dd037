"""Write test configs as YAML with ruamel (the same library that reads them)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def dump(data: Any) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(plain(data), out)
    return out.getvalue()
