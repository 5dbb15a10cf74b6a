"""What one client may take of the server: connections (in all, and from one address), the
time to send a request's headers, and one bounded byte range."""

from __future__ import annotations

import contextlib
import re
import socket
import threading

__all__ = [
    "HEADERS_S",
    "MAX_CONNECTIONS",
    "MAX_PER_CLIENT",
    "HeaderDeadline",
    "Slots",
    "parse_range",
]

MAX_CONNECTIONS = 100
MAX_PER_CLIENT = 20  # one address never holds all the slots: the others still get theirs
HEADERS_S = 10.0  # a request line and headers not all in by then: the connection is dropped
_MAX_RANGE_HEADER = 100


class Slots:
    """Connections open now, in all and per client address."""

    def __init__(self, total: int = MAX_CONNECTIONS, per_client: int = MAX_PER_CLIENT) -> None:
        self.total = total
        self.per_client = per_client
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def take(self, address: str) -> str | None:
        """A slot for a connection from ``address``, or why there is none."""
        with self._lock:
            if sum(self._open.values()) >= self.total:
                return f"{self.total} already open"
            if self._open.get(address, 0) >= self.per_client:
                return f"{self.per_client} already open from that address"
            self._open[address] = self._open.get(address, 0) + 1
        return None

    def give_back(self, address: str) -> None:
        with self._lock:
            left = self._open.get(address, 0) - 1
            if left > 0:
                self._open[address] = left
            else:
                self._open.pop(address, None)


class HeaderDeadline:
    """Drops a connection whose request (line and headers) is not all in by a deadline,
    however it trickles in: the socket's timeout only bounds each wait for a byte."""

    def __init__(self, connection: socket.socket, seconds: float | None = None) -> None:
        self._connection = connection
        self._timer = threading.Timer(HEADERS_S if seconds is None else seconds, self._drop)
        self._timer.daemon = True
        self._timer.start()

    def met(self) -> None:
        """The headers are in: the request now takes as long as it takes."""
        self._timer.cancel()

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.shutdown(socket.SHUT_RDWR)


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range as (first, last) inclusive; None: serve the whole file (no
    header, or one this server ignores: several ranges, another unit, bad syntax, as RFC
    9110 allows); "unsatisfiable": a range that starts past the end (416)."""
    if header is None or len(header) > _MAX_RANGE_HEADER:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*([0-9]{0,18})\s*-\s*([0-9]{0,18})\s*", header)
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":  # the last N bytes
        length = int(last_text)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1)
