"""``voiceguide serve``: the export, served to a phone on the local network.

A page (plain HTML, CSS and JavaScript shipped in this package, no build step) plays the
full-routine track with its chapters and timed lyrics, gives lock-screen controls through
the Media Session API, offers every file for download, and re-renders with new settings
from a form that goes through the command line's own checks. The server only reads: the
page, its state and the files of the export it published, behind a random token in the URL.
"""

from voiceguide.serve.address import lan_address, qr_lines
from voiceguide.serve.run import DEFAULT_PORT, Options, export_render, kept_token, run, url_of
from voiceguide.serve.server import MAX_CONNECTIONS, Server, new_token, parse_range
from voiceguide.serve.service import Prepare, Render, Service
from voiceguide.serve.snapshot import Snapshot, open_snapshot

__all__ = [
    "DEFAULT_PORT",
    "MAX_CONNECTIONS",
    "Options",
    "Prepare",
    "Render",
    "Server",
    "Service",
    "Snapshot",
    "export_render",
    "kept_token",
    "lan_address",
    "new_token",
    "open_snapshot",
    "parse_range",
    "qr_lines",
    "run",
    "url_of",
]
