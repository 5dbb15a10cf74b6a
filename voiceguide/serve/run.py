"""Serving from start to Ctrl-C: bind, export (or reuse), show the address, serve."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from voiceguide import pipeline
from voiceguide.files import atomic_write, read_regular
from voiceguide.plan.preferences import Resolved
from voiceguide.practice.schema import data_dir
from voiceguide.routine.model import Routine
from voiceguide.serve.address import lan_address, qr_lines
from voiceguide.serve.server import Server, new_token
from voiceguide.serve.service import Prepare, Service

__all__ = ["DEFAULT_PORT", "Options", "export_render", "kept_token", "run", "url_of"]

DEFAULT_PORT = 8765
TOKEN_FILE = "serve-token"
Progress = Callable[[int, int], None]


def kept_token(folder: Path, new: bool = False) -> str:
    """The page's token, kept in ``folder`` (the data folder) so that a restart serves the
    same link; a new one when there is none, when it is unreadable, or when ``new``. The
    file is readable by its owner only. A folder that cannot be written gives a token for
    this run only (the link then changes with the next start)."""
    path = folder / TOKEN_FILE
    if not new:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            token = read_regular(path, 1024).decode("ascii").strip()
            if re.fullmatch(r"[A-Za-z0-9_-]{22,64}", token):
                return token
    token = new_token()
    with contextlib.suppress(OSError):
        atomic_write(path, token.encode("ascii") + b"\n", mode=0o600)
    return token


@dataclass(frozen=True)
class Options:
    routine: str | None
    args: tuple[str, ...]  # the settings options, as typed: ("--hold=45", "--voice=gmw/en")
    out_dir: Path
    host: str | None = None  # None: every address of this machine
    port: int = DEFAULT_PORT
    token: str | None = None  # None: the one kept in the data folder (made the first time)
    new_link: bool = False  # a new token (the old link stops working), kept from then on


def url_of(server: Server, host: str | None) -> str:
    """The page's address: this machine's LAN address when listening on all of them."""
    shown = lan_address() if host in (None, "", "0.0.0.0", "::") else str(server.host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{server.port}/{server.token}/"


def export_render(routine: Routine, resolved: Resolved, out_dir: Path, progress: Progress) -> None:
    """What ``voiceguide export`` does with these settings, into ``out_dir``."""
    settings = resolved.settings
    pipeline.export(
        routine,
        settings,
        pipeline.make_cache(settings),
        out_dir,
        resolved.bitrate,
        progress=progress,
    )


def run(
    options: Options,
    prepare: Prepare,
    echo: Callable[[str], None],
    out: Callable[[str], None],
    color: bool = False,
    progress: Callable[[], AbstractContextManager[Progress | None]] | None = None,
) -> None:
    """Bind (a busy port fails here, before any work), export or reuse an up-to-date export,
    print the QR code and the URL (``out``), then serve until Ctrl-C; the port is freed on
    the way out. Refusals and renders are logged with ``echo``."""
    service = Service(options.routine, options.args, prepare, export_render, options.out_dir, echo)
    host = options.host if options.host is not None else "0.0.0.0"
    token = options.token or kept_token(data_dir(), options.new_link)
    server = Server(service, host, options.port, token)
    try:
        made_from = pipeline.fingerprint(
            service.routine, service.resolved.settings, service.resolved.bitrate
        )

        def is_current() -> bool:
            return pipeline.current_export(options.out_dir, made_from)

        with progress() if progress is not None else contextlib.nullcontext() as report:
            reused = service.start(report or (lambda done, total: None), is_current)
        snapshot = service.current
        url = url_of(server, options.host)
        echo(
            f"{'Serving the export in' if reused else 'Exported into'} "
            f"{options.out_dir}: {snapshot.album} ({len(snapshot.files)} files)"
        )
        for line in qr_lines(url, color):
            out(line)
        out(url)
        echo(
            "Scan the code with your phone's camera (same network), or open the address. "
            "Ctrl-C stops."
        )
        server.serve_forever()
    finally:
        server.close()
        service.close()
