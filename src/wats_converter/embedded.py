"""The embedded local server's address, kept across restarts and reloads.

Zero-config mode runs a local WATS server in-process. Its port and token are written to
`embedded-server.json` in the state folder and reused at the next start, so the reports page
stays at the same URL (even when the first start had to pick another port than 8080) and
another instance on the same PC can keep delivering to it with the same token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from wats_converter.server.app import LocalServer
from wats_converter.server.store import ReportStore
from wats_converter.storage.durable import write_private

log = logging.getLogger(__name__)
ADDRESS_FILE = "embedded-server.json"
DEFAULT_PORT = 8080
HOST = "127.0.0.1"


@dataclass(frozen=True)
class EmbeddedAddress:
    """Where the embedded server listens and the token it accepts."""

    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def load_address(state_dir: Path) -> EmbeddedAddress | None:
    """The address of the last start, or None (never started, or the file is unreadable)."""
    try:
        data = json.loads((state_dir / ADDRESS_FILE).read_text(encoding="utf-8"))
        return EmbeddedAddress(port=int(data["port"]), token=str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_address(state_dir: Path, address: EmbeddedAddress) -> None:
    """Write the address atomically, readable by this user only (it holds the token)."""
    data = json.dumps({**asdict(address), "url": address.url}, indent=1)
    write_private(state_dir / ADDRESS_FILE, data.encode())


def choose_token(configured: str | None, saved: EmbeddedAddress | None) -> str:
    """The configured token, else the one of the last start, else a new one."""
    return configured or (saved.token if saved else None) or secrets.token_urlsafe(16)


async def start_embedded(
    server: LocalServer, saved: EmbeddedAddress | None, default_port: int = DEFAULT_PORT
) -> str:
    """Listen on the port of the last start, else `default_port`, else any free port."""
    ports = [saved.port] if saved else []
    ports += [p for p in (default_port, 0) if p not in ports]
    for port in ports[:-1]:
        with contextlib.suppress(OSError):  # taken by something else: the next choice
            return await server.start(HOST, port)
    return await server.start(HOST, ports[-1])


@dataclass(frozen=True)
class RunningEmbedded:
    """The embedded server once it listens: where, and the token the client sends it."""

    server: LocalServer
    url: str
    token: str


async def open_embedded(
    stack: contextlib.AsyncExitStack,
    state_dir: Path,
    configured_token: str | None,
    default_port: int = DEFAULT_PORT,
) -> RunningEmbedded:
    """Start the embedded server at the address of the last start (its stop pushed on `stack`)
    and save the address for the next start and for `status`."""
    # One loop in the service's own process, never `serve --processes`: a station's service
    # wants the cores for converting and delivering, it produces a few reports a minute, and
    # extra processes would need supervising; a line that needs more runs `serve` itself.
    saved = load_address(state_dir)  # the same page and token as the last start
    token = choose_token(configured_token, saved)
    server = LocalServer(ReportStore(state_dir / "server.sqlite"), token=token)
    stack.callback(server.store.close)
    stack.push_async_callback(server.stop)
    url = await start_embedded(server, saved, default_port)
    save_address(state_dir, EmbeddedAddress(server.port, token))
    log.info(
        "embedded local WATS server: reports page %s/ (sign in with any user name and the "
        "token in %s as the password)",
        url,
        state_dir / ADDRESS_FILE,
    )
    return RunningEmbedded(server, url, token)
