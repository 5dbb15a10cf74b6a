"""The terminal side of ``voiceguide play``: keys in, a live display out.

Keys are read in cbreak mode (no echo, one key at a time; Ctrl-C still interrupts) by a
thread of their own that sleeps in ``select`` until a key comes, and the terminal's previous
mode is always restored on the way out, also on Ctrl-C and on errors. The display (rich)
redraws from rich's own thread and only reads the player's status: it never touches the
audio, so it cannot disturb its timing. Without a terminal on stdin there are no controls;
without one on stderr, no display.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from voiceguide.play import Command, LivePlayback, State, Status
from voiceguide.routine.text import clock

__all__ = ["KEY_HELP", "KeyReader", "ScoreKeys", "ask_score", "controls", "parse_keys", "summary"]

_KEYS: dict[bytes, Command] = {
    b" ": Command.TOGGLE,
    b"n": Command.NEXT,
    b"N": Command.NEXT,
    b"\x1b[C": Command.NEXT,  # right arrow
    b"\x1bOC": Command.NEXT,  # right arrow (application cursor mode)
    b"b": Command.BACK,
    b"B": Command.BACK,
    b"\x1b[D": Command.BACK,  # left arrow
    b"\x1bOD": Command.BACK,
    b"q": Command.STOP,
    b"Q": Command.STOP,
    b"\x1b": Command.STOP,  # Esc on its own
}
_ESC_WAIT_S = 0.05  # after a lone Esc byte: the rest of an arrow key's sequence, if any
KEY_HELP = "space pause/resume · n or → next · b or ← back (twice: previous) · q or Esc stop"


def parse_keys(data: bytes) -> tuple[list[Command], bytes]:
    """The commands in ``data``, and an unfinished escape sequence left over (to complete
    with the next bytes, or to read as Esc when none come). Other keys are ignored."""
    commands: list[Command] = []
    i = 0
    while i < len(data):
        if data[i : i + 1] == b"\x1b":
            rest = data[i : i + 3]
            if len(rest) < 3 and rest in (b"\x1b", b"\x1b[", b"\x1bO"):
                return commands, data[i:]
            if rest in _KEYS:
                commands.append(_KEYS[rest])
                i += 3
                continue
            if rest[1:2] in (b"[", b"O"):  # another escape sequence: skip it whole
                j = i + 2
                while j < len(data) and not 0x40 <= data[j] <= 0x7E:
                    j += 1
                i = j + 1
                continue
            commands.append(Command.STOP)
            i += 1
            continue
        command = _KEYS.get(data[i : i + 1])
        if command is not None:
            commands.append(command)
        i += 1
    return commands, b""


class KeyReader:
    """Reads keys from a terminal in cbreak mode while open; restores its mode on close."""

    def __init__(self, fd: int, on_command: Callable[[Command], None]) -> None:
        self._fd = fd
        self._on_command = on_command
        self._saved: list[Any] | None = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None

    def __enter__(self) -> KeyReader:
        import termios
        import tty

        self._saved = termios.tcgetattr(self._fd)
        self._wake_r, self._wake_w = os.pipe()
        try:
            tty.setcbreak(self._fd, termios.TCSANOW)
            self._thread = threading.Thread(target=self._read, name="voiceguide-keys", daemon=True)
            self._thread.start()
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:  # an error goes on up after the clean-up
        self._restore()

    def _restore(self) -> None:
        import termios

        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            self._saved = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r = self._wake_w = -1

    def _read(self) -> None:
        pending = b""
        while True:
            timeout = _ESC_WAIT_S if pending else None
            ready, _, _ = select.select([self._fd, self._wake_r], [], [], timeout)
            if self._wake_r in ready:
                return
            if not ready:  # nothing completed the escape sequence: it was the Esc key
                commands, pending = [Command.STOP], b""
            else:
                try:
                    chunk = os.read(self._fd, 64)
                except OSError:
                    return
                if not chunk:  # the terminal went away
                    return
                commands, pending = parse_keys(pending + chunk)
            for command in commands:
                self._on_command(command)


@contextlib.contextmanager
def controls(playback: LivePlayback) -> Iterator[None]:
    """Keys (when stdin is a terminal) and the live display (when stderr is one)."""
    console = Console(stderr=True)
    stdin = sys.stdin
    keys = stdin is not None and stdin.isatty()
    with contextlib.ExitStack() as stack:
        if console.is_terminal:
            from rich.live import Live

            view = _StatusView(playback, keys)
            stack.enter_context(Live(view, console=console, refresh_per_second=4, transient=False))
        if keys:
            stack.enter_context(KeyReader(stdin.fileno(), playback.send))
        yield


class _StatusView:
    """What the display shows, drawn from the player's status at each refresh."""

    def __init__(self, playback: LivePlayback, keys: bool) -> None:
        self._playback = playback
        self._keys = keys

    def __rich__(self) -> RenderableType:
        return render_status(self._playback.status(), self._keys)


_STATE_LABEL = {
    State.STARTING: "starting",
    State.PLAYING: "playing",
    State.PAUSED: "paused",
    State.WAITING: "waiting for speech",
    State.DONE: "done",
    State.STOPPED: "stopped",
}


def render_status(status: Status, keys: bool = True) -> RenderableType:
    """The status as a few lines: where, what, how far, and the keys."""
    lines: list[RenderableType] = []
    head = Text()
    head.append(f"{_STATE_LABEL[status.state]:<8}", style="bold")
    head.append(f"  {status.title}")
    lines.append(head)
    if status.chapter is not None:
        where = Text(f"{status.chapter.index}/{status.chapters}  ")
        title = status.section.title if status.section is not None else status.chapter.title
        where.append(title, style="bold")
        lines.append(where)
    detail = []
    if status.hold is not None and status.hold_left_ms is not None:
        side = f" ({status.hold.side})" if status.hold.side else ""
        rounds = f", round {status.hold.round} of {status.rounds}" if status.rounds else ""
        detail.append(f"hold{side}{rounds}: {-(-status.hold_left_ms // 1000)} s left")
    if status.rep_set is not None and status.rep is not None:
        detail.append(
            f"set {status.rep_set.set} of {status.sets}, rep {status.rep} of {status.rep_set.reps}"
        )
    if detail:
        lines.append(Text("   ".join(detail)))
    grid = Table.grid(padding=(0, 1))
    total = status.total_ms
    bar = ProgressBar(
        total=float(total or 1), completed=float(status.position_ms if total else 0), width=40
    )
    if total is not None:
        left = clock(total - status.position_ms)
        times = f"{clock(status.position_ms)} / {clock(total)}, {left} left"
    else:
        times = f"{clock(status.position_ms)} / (still preparing)"
    grid.add_row(bar, Text(times))
    lines.append(grid)
    if keys and status.state not in (State.DONE, State.STOPPED):
        lines.append(Text(KEY_HELP, style="dim"))
    return Group(*lines)


def summary(status: Status) -> str:
    """One line for the end of ``voiceguide play``."""
    where = f" ({status.chapter.title})" if status.chapter is not None else ""
    total = f" of {clock(status.total_ms)}" if status.total_ms is not None else ""
    if status.state is State.DONE:
        return f"Played to the end ({clock(status.position_ms)})."
    return f"Stopped at {clock(status.position_ms)}{total}{where}."


# ---------------------------------------------------------------- the pain check-in

TEN_WAIT_S = 1.2  # after a 1: a 0 within this makes it 10
SCORE_HELP = (
    "How does your back feel now, 0 (no pain) to 10? Press a digit (1 then 0 for 10); "
    "Enter or s skips."
)


class ScoreKeys:
    """The keys of a pain score: a digit is the score at once, except a 1, which becomes 10
    when a 0 follows (or is 1 after another key or :data:`TEN_WAIT_S`); Enter, s, q or Esc
    skip. ``done`` once decided; ``score`` None when skipped."""

    def __init__(self) -> None:
        self.done = False
        self.score: int | None = None
        self.one = False  # a 1 pressed, waiting for a 0

    def feed(self, data: bytes) -> None:
        for key in data:
            if self.done:
                return
            char = chr(key)
            if self.one:
                self.done, self.score = True, 10 if char == "0" else 1
            elif char in "023456789":
                self.done, self.score = True, int(char)
            elif char == "1":
                self.one = True
            elif char in "\r\nsSqQ\x1b":
                self.done = True

    def timed_out(self) -> None:
        """Nothing more came: a 1 waiting for a 0 is 1; otherwise no score."""
        self.done, self.score = True, 1 if self.one else None


def ask_score(timeout_s: float, fd: int | None = None) -> int | None:
    """A pain score typed on the terminal (``fd``, default stdin) within ``timeout_s``; None
    at once when it is not a terminal, so a run with no one at the keys never waits."""
    if fd is None:
        if sys.stdin is None or not sys.stdin.isatty():
            return None
        fd = sys.stdin.fileno()
    elif not os.isatty(fd):
        return None
    import termios
    import tty

    console = Console(stderr=True)
    console.print(SCORE_HELP, highlight=False)
    keys = ScoreKeys()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        termios.tcflush(fd, termios.TCIFLUSH)  # keys pressed during the session are no answer
        end = time.monotonic() + timeout_s
        while not keys.done:
            left = end - time.monotonic()
            if keys.one:
                left = min(left, TEN_WAIT_S)
            ready, _, _ = select.select([fd], [], [], max(left, 0.0))
            if not ready:
                keys.timed_out()
                break
            try:
                chunk = os.read(fd, 16)
            except OSError:
                chunk = b""
            if not chunk:  # the terminal went away
                keys.timed_out()
                break
            keys.feed(chunk)
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    console.print(
        "No score." if keys.score is None else f"Noted: {keys.score}.",
        highlight=False,
    )
    return keys.score
