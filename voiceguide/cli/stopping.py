"""How a command stops: the signals that end it (Ctrl-C, SIGTERM, SIGHUP) as errors that
unwind every clean-up, an interrupt found under a clean-up's own failure, and messages made
safe for one terminal line."""

from __future__ import annotations

import signal

from voiceguide.errors import Interrupted, Terminated

__all__ = ["interrupt", "interrupt_under", "one_line"]


def interrupt(signum: int, frame: object) -> None:
    raise Interrupted() if signum == signal.SIGINT else Terminated(signum)


def interrupt_under(error: BaseException) -> Interrupted | None:
    """The interrupt ``error`` was raised while handling, if any."""
    seen: BaseException | None = error.__context__
    for _ in range(50):
        if seen is None or isinstance(seen, Interrupted):
            return seen
        seen = seen.__context__
    return None


def one_line(message: str) -> str:
    """A message as one terminal line: control characters (from a file name, a field name or
    a value) are shown escaped, never interpreted by the terminal."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in message
    )
