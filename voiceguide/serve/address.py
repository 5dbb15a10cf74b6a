"""What the terminal shows: the address a phone on the same network can reach, and its QR
code."""

from __future__ import annotations

import contextlib
import socket

__all__ = ["lan_address", "qr_lines"]


def lan_address() -> str:
    """This machine's address on its local network: the one its default route leaves from
    (no packet is sent), else 127.0.0.1."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only, nothing is sent
        address = str(probe.getsockname()[0])
        if not address.startswith("0."):
            return address
    return "127.0.0.1"


def qr_lines(url: str, color: bool) -> list[str]:
    """The URL's QR code (segno, error correction M) for a terminal, two modules per
    character cell. With ``color`` it paints both colors (ANSI black on white), so it reads
    on dark and light terminals alike; without, light modules are drawn (full blocks) on
    the terminal's background, for a dark background or a file."""
    import segno

    code = segno.make(url, error="m", micro=False)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=2)]
    if len(rows) % 2:
        rows.append([0] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        cells = []
        for upper, lower in zip(top, bottom, strict=True):
            if color:  # the upper half in the foreground color, the lower in the background
                cells.append(f"\x1b[{30 if upper else 97}m\x1b[{40 if lower else 107}m\u2580")
            else:
                cells.append(
                    {(0, 0): "\u2588", (0, 1): "\u2580", (1, 0): "\u2584", (1, 1): " "}[
                        (int(bool(upper)), int(bool(lower)))
                    ]
                )
        lines.append("".join(cells) + ("\x1b[0m" if color else ""))
    return lines
