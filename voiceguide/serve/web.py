"""The server's plain helpers: download names, the page for a wrong link, and the words
for an address that cannot be had."""

from __future__ import annotations

import errno
import socket

__all__ = ["WRONG_LINK", "attachment", "bind_error"]

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
