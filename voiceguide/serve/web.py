"""The server's plain helpers: download names, the page for a wrong link, the words for an
address that cannot be had, and text compressed for a client that takes it."""

from __future__ import annotations

import errno
import gzip
import socket

__all__ = ["WRONG_LINK", "attachment", "bind_error", "gzipped"]

_GZIP_MIN_BYTES = 1024  # smaller bodies gain less than the header costs


def gzipped(body: bytes, content_type: str, accept_encoding: str | None) -> bytes | None:
    """``body`` compressed with gzip when it is text (the page, its script and style, the
    state) worth compressing and the client takes gzip; else None. Audio, images and zips
    are sent as they are (already compressed; ranges of them are asked for)."""
    if len(body) < _GZIP_MIN_BYTES or not content_type.startswith(("text/", "application/json")):
        return None
    for offer in (accept_encoding or "").split(","):
        name, _, weight = offer.partition(";")
        if name.strip().lower() == "gzip":
            weight = weight.strip().lower()
            try:
                wanted = not weight.startswith("q=") or float(weight[2:]) > 0
            except ValueError:
                wanted = False
            return gzip.compress(body, compresslevel=6, mtime=0) if wanted else None
    return None


# a wrong or old link: where to get the right one, and nothing else
WRONG_LINK = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not valid</title></head>
<body style="font: 20px/1.4 system-ui, sans-serif; margin: 2rem;">
<h1 style="font-size: 1.3rem;">This link does not open the player</h1>
<p>Scan the code that the computer running voiceguide shows, or type the address it prints.</p>
</body></html>
"""


def attachment(name: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def bind_error(host: str, port: int, error: OSError) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is in use; choose another with --port"
    if error.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: not allowed (ports below 1024 need root); "
            "choose another with --port"
        )
    unknown = isinstance(error, socket.gaierror)
    if unknown or error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return (
            f"cannot listen on {where}: this machine has no such address; leave out --host "
            "(all its addresses) or give one of its own"
        )
    return f"cannot listen on {where}: {error.strerror or error}"
