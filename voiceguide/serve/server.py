"""The HTTP server: the page, its state, the settings form and the export's files, all
behind a random token in the path; nothing else, and nothing written but a render and the
practice log.

Every request's first path segment must be the token (403 otherwise, whatever the rest
is). After it, only fixed routes exist: the page and its two assets, ``api/state``,
``api/form`` (the settings' declaration the page builds its form from), ``api/settings``,
``api/session`` and ``api/pain`` (POST; GET: the chart's scores), ``files/GEN/NAME`` (a file
the export's manifest lists, opened when the export was published), ``cover/GEN.png`` and
``zip/GEN/NAME``. A path with ``..``, a backslash, an encoded slash or dot, or a NUL is
refused and logged before any lookup.
Connections are served by threads (at most ``MAX_CONNECTIONS`` at once), each with a
socket timeout, so a slow or hostile client holds one thread, never the server.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, unquote

from voiceguide.errors import RuntimeFailure
from voiceguide.plan.catalog import form_json
from voiceguide.serve.limits import MAX_CONNECTIONS, HeaderDeadline, Slots, parse_range
from voiceguide.serve.service import Service
from voiceguide.serve.sessions import PhoneSessions
from voiceguide.serve.snapshot import ServedFile, Snapshot
from voiceguide.serve.web import WRONG_LINK, attachment, bind_error, gzipped

__all__ = ["MAX_CONNECTIONS", "Server", "new_token", "parse_range"]

TIMEOUT_S = 15.0  # a connection that sends or takes nothing for this long is closed
_CHUNK = 256 * 1024
_MAX_FORM_BYTES = 16 * 1024
_ASSETS = {
    "": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "app.css": ("app.css", "text/css; charset=utf-8"),
    "icon.svg": ("icon.svg", "image/svg+xml"),
}
_GENERATION = re.compile(r"[0-9]{1,9}")  # ASCII digits: "²" is a digit to str.isdigit()
_SUSPICIOUS = re.compile(r"\\|%2f|%5c|%00|\x00|//", re.IGNORECASE)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it elsewhere
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
}


def new_token() -> str:
    """128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], family: socket.AddressFamily, service: Service, token: str
    ) -> None:
        self.address_family = family
        self.service = service
        self.sessions = PhoneSessions(service)
        self.token = token
        self.slots = Slots()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        refused = self.slots.take(client_address[0])
        if refused is not None:
            self.service.log(f"refused a connection from {client_address[0]}: {refused}")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.give_back(client_address[0])
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.give_back(client_address[0])

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away, or timed out: nothing to say


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT_S
    server_version = "voiceguide"
    sys_version = ""

    # ------------------------------------------------------------ plumbing

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are not logged; refusals are, by _refuse

    def handle_one_request(self) -> None:
        self._deadline = HeaderDeadline(self.connection)
        try:
            super().handle_one_request()
        finally:
            self._deadline.met()

    def parse_request(self) -> bool:
        ok = super().parse_request()  # reads the headers
        self._deadline.met()
        return ok

    def _refuse(self, status: HTTPStatus, why: str, page: str | None = None) -> None:
        if self.path == "/favicon.ico":  # asked by every browser, by itself: not logged
            self._send_text(status, f"{status.value} {status.phrase}\n")
            return
        # no part of the token is ever logged: a first segment that is not the token may be
        # a mistyped one, one character short
        first, slash, rest = self.path.removeprefix("/").partition("/")
        valid = hmac.compare_digest(first.encode("utf-8", "replace"), self.server.token.encode())
        path = f"/{'TOKEN' if valid else '(not the token)'}{slash}{rest}"
        path = path if len(path) <= 200 else path[:200] + "..."
        printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)
        printable = printable.replace(self.server.token, "TOKEN")
        self.server.service.log(
            f"refused {self.command} {printable} from {self.client_address[0]}: {why}"
        )
        if page is not None and self.command == "GET":
            self._send_bytes(page.encode("utf-8"), "text/html; charset=utf-8", status=status)
        else:
            self._send_text(status, f"{status.value} {status.phrase}\n")

    def _send_text(
        self, status: HTTPStatus, text: str, headers: dict[str, str] | None = None
    ) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        for name, value in {**_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_bytes(
        self,
        body: bytes,
        content_type: str,
        cache: str = "no-store",
        status: HTTPStatus = HTTPStatus.OK,
    ) -> None:
        packed = gzipped(body, content_type, self.headers.get("Accept-Encoding"))
        self.send_response(status)
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        if packed is not None:  # text, polled every few seconds over a phone's Wi-Fi
            body = packed
            self.send_header("Content-Encoding", "gzip")
        if content_type.startswith(("text/", "application/json")):
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any) -> None:
        self._send_bytes(
            json.dumps(data).encode("utf-8"), "application/json", status=HTTPStatus(status)
        )

    def _route(self) -> list[str] | None:
        """The path's segments after the token, or None when the request was answered
        (refused)."""
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        segments = raw.split("/")
        token = segments[1] if raw.startswith("/") and len(segments) > 1 else ""
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self.server.token.encode()):
            self._refuse(HTTPStatus.FORBIDDEN, "no valid token", WRONG_LINK)
            return None
        try:
            decoded = [unquote(segment, errors="strict") for segment in segments[2:]]
        except UnicodeDecodeError:
            decoded = ["\x00"]
        if _SUSPICIOUS.search(raw) or any(
            segment in (".", "..") or "/" in segment or "\\" in segment or "\x00" in segment
            for segment in decoded
        ):
            self._refuse(HTTPStatus.NOT_FOUND, "a path that tries to leave the export")
            return None
        if len(segments) == 2:  # /TOKEN: the page is /TOKEN/
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", f"/{self.server.token}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return decoded

    # ------------------------------------------------------------ methods

    def do_GET(self) -> None:
        route = self._route()
        if route is None:
            return
        service = self.server.service
        if len(route) == 1 and route[0] in _ASSETS:
            name, kind = _ASSETS[route[0]]
            body = resources.files("voiceguide.serve").joinpath("static", name).read_bytes()
            self._send_bytes(body, kind)
        elif route == ["api", "state"]:
            self._send_json(HTTPStatus.OK, service.state())
        elif route == ["api", "pain"]:
            self._send_json(*self.server.sessions.trend())
        elif route == ["api", "form"]:  # the settings the page builds its form from
            self._send_json(HTTPStatus.OK, {"settings": form_json()})
        elif len(route) == 3 and route[0] in ("files", "zip") and _GENERATION.fullmatch(route[1]):
            self._serve_export_file(route[0], int(route[1]), route[2])
        elif len(route) == 2 and route[0] == "audio" and re.fullmatch(r"[0-9]{1,9}\.mp3", route[1]):
            self._serve_export_file("audio", int(route[1].removesuffix(".mp3")), "")
        elif (
            len(route) == 2
            and route[0] == "cover"
            and re.fullmatch(r"[0-9]{1,9}\.(png|jpg)", route[1])
        ):
            generation, _, kind = route[1].partition(".")
            snapshot = service.snapshot(int(generation))
            if snapshot is None or not snapshot.cover_png:
                self._send_text(HTTPStatus.NOT_FOUND, "404 Not Found\n")
                return
            if kind == "png":
                self._send_bytes(snapshot.cover_png, "image/png", "private, max-age=86400")
            else:
                self._send_bytes(snapshot.thumbnail(), "image/jpeg", "private, max-age=86400")
        else:
            self._refuse(HTTPStatus.NOT_FOUND, "no such page or file")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        route = self._route()
        if route is None:
            return
        if route not in (["api", "settings"], ["api", "session"], ["api", "pain"]):
            self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "POST is for the settings and sessions")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send_text(HTTPStatus.LENGTH_REQUIRED, "411 Length Required\n")
            return
        if not 0 <= length <= _MAX_FORM_BYTES:
            self.close_connection = True
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a form of {length} bytes")
            return
        body = self.rfile.read(length)
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=300,
            )
        except (UnicodeDecodeError, ValueError):
            self._send_json(
                HTTPStatus.BAD_REQUEST, {"errors": [{"field": None, "message": "not a form"}]}
            )
            return
        if route[1] == "session":
            status, data = self.server.sessions.report(dict(pairs))
        elif route[1] == "pain":
            status, data = self.server.sessions.score(dict(pairs))
        else:
            status, data = self.server.service.submit(dict(pairs))
        self._send_json(status, data)

    def _refuse_method(self) -> None:
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "read-only server")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse_method

    # ------------------------------------------------------------ the export's files

    def _serve_export_file(self, kind: str, generation: int, name: str) -> None:
        snapshot = self.server.service.snapshot(generation)
        if snapshot is None:
            self._send_text(HTTPStatus.NOT_FOUND, "404 Not Found: an export no longer served\n")
            return
        with snapshot.use() as usable:
            if not usable:
                self._send_text(HTTPStatus.NOT_FOUND, "404 Not Found: an export no longer served\n")
            elif kind == "zip" and name == snapshot.zip_name:
                self._send_file(snapshot, None, snapshot.zip_bytes())
            elif kind == "files" and name in snapshot.files:
                self._send_file(snapshot, snapshot.files[name], None)
            elif kind == "audio":  # the full track without its tag: the sound comes first
                self._send_file(
                    snapshot, snapshot.files[snapshot.full], None, snapshot.audio_offset
                )
            else:
                self._refuse(HTTPStatus.NOT_FOUND, "not a file of the export")

    def _send_file(
        self,
        snapshot: Snapshot,
        served: ServedFile | None,
        data: bytes | None,
        skip: int = 0,
    ) -> None:
        """A file of the export, or ``data``, with ranges; ``skip``: its first bytes left out
        (the page's audio: the full track from its first frame)."""
        if served is not None:
            size, kind, name = served.size - skip, served.content_type, served.name
            etag = f'"{snapshot.generation}-{size}-{served.mtime_ns}{"-audio" if skip else ""}"'
        else:
            assert data is not None
            size, kind, name = len(data), "application/zip", snapshot.zip_name
            etag = f'"{snapshot.generation}-zip-{size}"'
        wanted = parse_range(self.headers.get("Range"), size)
        if wanted == "unsatisfiable":
            self._send_text(
                HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                "416 Range Not Satisfiable\n",
                {"Content-Range": f"bytes */{size}"},
            )
            return
        if_range = self.headers.get("If-Range")
        if isinstance(wanted, tuple) and if_range is not None and if_range != etag:
            wanted = None
        first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
        partial = isinstance(wanted, tuple)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK)
        for header, value in _HEADERS.items():
            self.send_header(header, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "private, max-age=86400")
        if isinstance(wanted, tuple):
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        query = dict(parse_qsl(self.path.partition("?")[2]))
        if not skip and ("download" in query or served is None or not name.endswith(".mp3")):
            self.send_header("Content-Disposition", attachment(name))
        self.end_headers()
        if self.command == "HEAD":
            return
        position = first
        while position <= last:
            count = min(_CHUNK, last + 1 - position)
            if data is not None:
                chunk = data[position : position + count]
            else:
                assert served is not None
                chunk = snapshot.read(served.name, skip + position, count)
            if not chunk:  # the file shrank: it is no longer the export's (never expected)
                self.close_connection = True
                return
            self.wfile.write(chunk)
            position += len(chunk)


class Server:
    """The listening server. ``bind`` fails at once (one line, exit 1) when the address
    cannot be had; ``serve_forever`` runs until ``shutdown`` or Ctrl-C."""

    def __init__(self, service: Service, host: str, port: int, token: str | None = None) -> None:
        self.token = token or new_token()
        self.service = service
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._server = _Server((host, port), family, service, self.token)
        except OSError as error:
            raise RuntimeFailure(bind_error(host, port, error)) from None
        self.host, self.port = self._server.server_address[:2]

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self._server.shutdown()

    def close(self) -> None:
        self._server.server_close()
        self._server.sessions.close()
