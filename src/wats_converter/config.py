"""The YAML configuration, validated into typed, frozen settings before anything starts.

Relative folders resolve against the config file's folder. Every problem is one `ConfigError`
that names the key (`converters[1].priority: ...`) and the file.
"""

from __future__ import annotations

import fnmatch
import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from wats_converter.cluster.settings import ClusterConfig
from wats_converter.errors import ConfigError
from wats_converter.validation import format_path, validation_problems

EMBEDDED = "embedded"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PostProcessAction(StrEnum):
    """What happens to a source file once its report is safe in the pending folder."""

    DELETE = "DELETE"
    MOVE = "MOVE"
    ZIP = "ZIP"
    KEEP = "KEEP"


class ServerConfig(Strict):
    """Where reports go. `url: embedded` (the default) runs the local server in-process."""

    url: str = EMBEDDED
    token: str | None = Field(default=None, repr=False)
    token_env: str | None = None
    connect_timeout_s: float = Field(default=10.0, gt=0)
    timeout_s: float = Field(default=60.0, gt=0)
    max_concurrent: int = Field(default=64, ge=1, le=256)
    """The most reports in flight to the server at once. Delivery adapts below it (starting at
    4, growing while answers come back as fast as before, shrinking when they slow down or the
    server answers 429/503); one keep-alive connection each."""
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        """A URL that cannot work is refused here, not after every post has failed."""
        value = value.strip()
        if value == EMBEDDED:
            return value
        hint = "write it as https://host or http://host:port (or `embedded`)"
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port that is not a number up to 65535
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid URL ({exc}); {hint}") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"{value!r} does not start with http:// or https://; {hint}")
        if not parts.hostname:
            raise ValueError(f"{value!r} names no host; {hint}")
        if port == 0:
            raise ValueError(f"{value!r}: port 0 is not a port a server listens on; {hint}")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: a server URL has no ?query or #fragment; {hint}")
        return value

    def resolved_token(self) -> str | None:
        if self.token_env:
            return os.environ.get(self.token_env) or self.token
        return self.token


class StationConfig(Strict):
    name: str = Field(
        default_factory=lambda: (
            os.uname().nodename
            if hasattr(os, "uname")
            else os.environ.get("COMPUTERNAME", "station")
        ),
        max_length=100,
    )
    location: str = Field(default="Unknown", max_length=100)
    purpose: str = Field(default="Production", max_length=100)
    operator: str = Field(default="oper", max_length=100)


class RetryConfig(Strict):
    """Backoff for reports the server could not take yet, and the poison-file limit."""

    initial_s: float = Field(default=1.0, gt=0)
    max_s: float = Field(default=300.0, gt=0)
    max_age_s: float | None = Field(default=None, gt=0)
    """Move a report to error/ after this long pending; `null` (default) retries forever."""
    conversion_attempts: int = Field(default=3, ge=1)
    """A file whose conversion crashes or times out this often is quarantined in error/."""


class HealthConfig(Strict):
    """The optional /health, /ready and /metrics endpoint (off by default, loopback by default)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)
    ready_max_pending: int = Field(default=1000, ge=0)


class ConverterEntry(Strict):
    """One `converters:` entry: which converter watches which folder, and what follows."""

    name: str
    class_name: str
    module_path: str | None = None
    enabled: bool = True
    priority: int = Field(default=5, ge=1, le=10)
    watch_folder: Path
    done_folder: Path | None = None
    error_folder: Path | None = None
    post_process_action: PostProcessAction = PostProcessAction.MOVE
    patterns: tuple[str, ...] | None = None
    recursive: bool = True
    unmatched: Literal["keep", "error"] = "keep"
    """Files in the watch folder no converter claims: `keep` leaves them (logged once, counted
    in `status` and /metrics), `error` moves them to the error folder with a `.error` file."""
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("post_process_action", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Config(Strict):
    """The whole configuration. Build it with `load_config` or `embedded_config`."""

    server: ServerConfig = ServerConfig()
    station: StationConfig = StationConfig()
    pending_folder: Path = Path("pending")
    archive_folder: Path = Path("archive")
    error_folder: Path = Path("error")
    """Where rejected pending reports go when their converter has no error folder."""
    state_folder: Path | None = None
    """Journal and lock; default: the pending folder's parent."""
    max_workers: int = Field(default=4, ge=1, le=64)
    worker_mode: str = Field(default="auto", pattern="^(auto|thread|process)$")
    """Where conversions run: `thread` (in the service), `process` (worker processes, one
    per core at most), or `auto`: worker processes for `cpu_heavy` converters (the vendor and
    XML formats) on a machine with more than one core, threads for the others."""
    conversion_timeout_s: float = Field(default=120.0, gt=0)
    settle_s: float = Field(default=2.0, ge=0)  # plus: not while open for writing (Linux)
    scan_interval_s: float = Field(default=10.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    """On a stop, how long files in work and reports being sent may take to finish (their POST
    answered, the source post-processed) before they are cancelled; what is cancelled stays on
    disk and is converted or sent again by the next start."""
    min_free_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    retry: RetryConfig = RetryConfig()
    health: HealthConfig = HealthConfig()
    log_file: bool = True
    """Also log to a rotating file `wats-converter.log` in the state folder."""
    converter_paths: tuple[Path, ...] = ()
    """Folders (relative to the config file) put on the import path before converters load,
    so `module_path` names a module in them; the working directory is never searched."""
    converters: tuple[ConverterEntry, ...] = ()
    cluster: ClusterConfig | None = None
    """Cluster mode (docs/cluster.md): nodes share the watch folders through NATS JetStream."""
    base_dir: Path = Field(default=Path("."), exclude=True)

    @property
    def state_dir(self) -> Path:
        return self.state_folder or self.pending_folder.parent

    def enabled_converters(self) -> list[ConverterEntry]:
        return [c for c in self.converters if c.enabled]


def load_config(path: Path) -> Config:
    """Read, validate and resolve a YAML config file; `${NAME}` comes from the environment."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys (server:, converters:, ...)"
        )
    return build_config(expand_variables(data, str(path)), path.resolve().parent, source=str(path))


VARIABLE = re.compile(r"\$\{([^}]*)\}")


def expand_variables(value: Any, source: str, where: tuple[str | int, ...] = ()) -> Any:
    """Replace `${NAME}` in every string by the environment variable NAME.

    A variable that is not set is an error naming the key, never an empty string: an empty
    URL or folder would fail much later and far from its cause. `$${NAME}` keeps the text.
    """
    if isinstance(value, dict):
        return {k: expand_variables(v, source, (*where, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_variables(v, source, (*where, i)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def variable(match: re.Match[str]) -> str:
        start = match.start()
        if start > 0 and value[start - 1] == "$":
            return match.group(0)
        name = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{source}: {format_path(where)}: ${{{name}}} is not a variable name")
        if name not in os.environ:
            raise ConfigError(
                f"{source}: {format_path(where)}: ${{{name}}} is not set in the environment"
            )
        return os.environ[name]

    return VARIABLE.sub(variable, value).replace("$${", "${")


def build_config(data: dict[str, Any], base_dir: Path, source: str = "config") -> Config:
    """Validate a config mapping, resolve folders against `base_dir`, check cross-field rules."""
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise ConfigError("; ".join(f"{source}: {p}" for p in problems)) from None
    config = _resolve_folders(config, base_dir)
    _check_converters(config, source)
    return config


def _resolve(base: Path, folder: Path | None) -> Path | None:
    if folder is None:
        return None
    folder = folder.expanduser()
    # absolute ones too: `..` and symlinks spelled differently must compare equal (a done/
    # inside the watch folder, two converters on one folder)
    return (folder if folder.is_absolute() else base / folder).resolve()


def _resolve_folders(config: Config, base: Path) -> Config:
    top = {
        k: _resolve(base, getattr(config, k))
        for k in ("pending_folder", "archive_folder", "error_folder", "state_folder")
    }
    entries = tuple(
        c.model_copy(
            update={
                k: _resolve(base, getattr(c, k))
                for k in ("watch_folder", "done_folder", "error_folder")
            }
        )
        for c in config.converters
    )
    paths = tuple(p for p in (_resolve(base, p) for p in config.converter_paths) if p)
    return config.model_copy(update={**top, "converters": entries, "converter_paths": paths})


def _check_converters(config: Config, source: str) -> None:
    names: set[str] = set()
    for i, entry in enumerate(config.converters):
        where = f"{source}: converters[{i}]"
        if entry.name in names:
            raise ConfigError(f"{where}.name: {entry.name!r} is used by two converters")
        names.add(entry.name)
        if entry.post_process_action is PostProcessAction.MOVE and entry.done_folder is None:
            raise ConfigError(f"{where}.done_folder: required when post_process_action is MOVE")


def claims_overlap(
    a: ConverterEntry, a_patterns: tuple[str, ...], b: ConverterEntry, b_patterns: tuple[str, ...]
) -> bool:
    """Whether two converters could claim the same file (same or nested folder, patterns meet)."""
    if a.watch_folder != b.watch_folder:
        inner, outer = (a, b) if b.watch_folder in a.watch_folder.parents else (b, a)
        if not (outer.watch_folder in inner.watch_folder.parents and outer.recursive):
            return False
    return any(
        fnmatch.fnmatch(p.lower(), q.lower()) or fnmatch.fnmatch(q.lower(), p.lower())
        for p in a_patterns
        for q in b_patterns
    )


def check_runnable(config: Config, source: str = "config") -> None:
    """What `run` needs beyond a valid file: a converter to run and the token it names.

    Kept out of `load_config` so that `status`, `errors` and `pending` still work for an
    operator whose shell lacks the service's token variable.
    """
    if not config.enabled_converters():
        raise ConfigError(
            f"{source}: converters: no converter is enabled, so nothing would be watched; "
            "add one (see `wats-converter init`) or set `enabled: true`"
        )
    server = config.server
    if server.token_env and not os.environ.get(server.token_env) and not server.token:
        raise ConfigError(
            f"{source}: server.token_env: the environment variable {server.token_env} is not set "
            "(or empty); set it for the service (systemd: EnvironmentFile=) or use server.token"
        )


def missing_watch_folders(config: Config) -> list[Path]:
    """Watch folders of enabled converters that do not exist (a typo is watched for ever)."""
    folders = {e.watch_folder for e in config.enabled_converters()}
    return sorted(f for f in folders if not f.is_dir())


def ensure_folders(config: Config) -> list[Path]:
    """Create every folder the config names; a folder that cannot be made is a ConfigError.

    Returns the watch folders that had to be created, for the caller to report.
    """
    created = missing_watch_folders(config)
    folders = [config.pending_folder, config.archive_folder, config.error_folder, config.state_dir]
    for entry in config.enabled_converters():
        folders += [f for f in (entry.watch_folder, entry.done_folder, entry.error_folder) if f]
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create folder {folder}: {exc.strerror}") from None
    for folder, role in (
        (config.pending_folder, "pending reports"),
        (config.state_dir, "the journal and the lock"),
    ):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(
                f"cannot write to {folder} (it holds {role}); make it writable "
                "for the user that runs wats-converter"
            )
    return created


def embedded_config(data_dir: Path) -> Config:
    """The zero-config default: ./wats-data with every built-in converter and the local server."""
    data_dir = data_dir.resolve()
    watch = data_dir / "watch"
    converters = [
        {
            "name": f"{fmt} files",
            "class_name": cls,
            "watch_folder": str(watch),
            "patterns": [pattern],
            "done_folder": str(data_dir / "done"),
            "error_folder": str(data_dir / "error"),
            "post_process_action": "MOVE",
        }
        for fmt, cls, pattern in (
            ("WSJF", "WSJFConverter", "*.json"),
            ("CSV", "CSVConverter", "*.csv"),
            ("WSXF", "WSXFConverter", "*.xml"),
            # the three XML converters share *.xml: each file goes to the one that recognises it
            ("ATML", "ATMLConverter", "*.xml"),
            ("TestStand XML", "TestStandXMLConverter", "*.xml"),
            ("WSTF", "WSTFConverter", "*.txt"),
        )
    ]
    return build_config(
        {
            "pending_folder": "pending",
            "archive_folder": "archive",
            "error_folder": "error",
            "converters": converters,
            "health": {"enabled": True},  # metrics on from the first try (any free port)
        },
        data_dir,
        source="embedded defaults",
    )
