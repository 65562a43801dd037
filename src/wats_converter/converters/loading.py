"""Find converter classes by name: built-ins, the `wats_converter.converters` entry point group,
or `module_path` + `class_name` from the config. Every failure is a `ConfigError` naming the entry.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wats_converter.config import ConverterEntry, StationConfig
from wats_converter.converters.api import ConversionContext, ConverterBase, StationDefaults
from wats_converter.converters.builtin import BUILTIN_CONVERTERS
from wats_converter.errors import ConfigError
from wats_converter.validation import validation_problems

ENTRY_POINT_GROUP = "wats_converter.converters"


def load_converter_class(
    class_name: str, module_path: str | None, where: str
) -> type[ConverterBase]:
    """Resolve a converter class; `where` names the config entry for error messages."""
    if module_path:
        return _from_module(module_path, class_name, where)
    if class_name in BUILTIN_CONVERTERS:
        return BUILTIN_CONVERTERS[class_name]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == class_name:
            try:
                loaded = ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"{where}: entry point {ep.value!r} failed to load: {exc}"
                ) from exc
            return _ensure_converter(loaded, where)
    raise ConfigError(
        f"{where}.class_name: no converter named {class_name!r}; built-in and installed converters "
        f"are {', '.join(known_converter_names())}. A converter of your own needs `module_path` "
        "too (and its folder in `converter_paths`)."
    )


def use_converter_paths(paths: Sequence[Path], where: str = "converter_paths") -> None:
    """Put the config's `converter_paths` first on the import path (once each).

    Every command that loads converters (`convert`, `check-config`, `run`, worker processes)
    calls this with the same resolved folders, so a `module_path` resolves the same way in all
    of them, whatever the working directory.
    """
    for i, folder in enumerate(paths):
        if not folder.is_dir():
            raise ConfigError(f"{where}[{i}]: {folder} is not a folder")
    for folder in reversed(paths):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    importlib.invalidate_caches()


def known_converter_names() -> list[str]:
    """The built-in and installed (entry point) converter class names."""
    return sorted({*BUILTIN_CONVERTERS, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def _from_module(module_path: str, class_name: str, where: str) -> type[ConverterBase]:
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ConfigError(
            f"{where}.module_path: cannot import {module_path!r} ({exc}); list the folder that "
            "holds it in the config's `converter_paths` (relative to the config file), or "
            "install its package in this Python environment"
        ) from exc
    except Exception as exc:
        raise ConfigError(
            f"{where}.module_path: importing {module_path!r} failed: {exc!r}"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigError(f"{where}.class_name: module {module_path!r} has no {class_name!r}")
    return _ensure_converter(cls, where)


def _ensure_converter(cls: Any, where: str) -> type[ConverterBase]:
    if not (isinstance(cls, type) and issubclass(cls, ConverterBase)):
        raise ConfigError(f"{where}.class_name: {cls!r} is not a ConverterBase subclass")
    return cls


def create_converter(
    cls: type[ConverterBase], settings: dict[str, Any], context: ConversionContext, where: str
) -> ConverterBase:
    """Instantiate with validated settings; a bad setting names `where.settings.key`."""
    try:
        return cls(settings, context)
    except ValidationError as exc:
        raise ConfigError("; ".join(validation_problems(exc, f"{where}.settings"))) from None
    except Exception as exc:
        raise ConfigError(f"{where}: {cls.__name__}() failed: {exc!r}") from exc


def build_converter(entry: ConverterEntry, station: StationConfig, where: str) -> ConverterBase:
    """Load and instantiate the converter of one config entry."""
    cls = load_converter_class(entry.class_name, entry.module_path, where)
    defaults = StationDefaults(
        name=station.name,
        location=station.location,
        purpose=station.purpose,
        operator=station.operator,
    )
    return create_converter(cls, entry.settings, ConversionContext(station=defaults), where)
