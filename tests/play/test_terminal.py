"""The terminal side of ``voiceguide play``: keys, the terminal mode, the display."""

from __future__ import annotations

import os
import pty
import termios
import time

import pytest
from rich.console import Console

from voiceguide.cli.terminal import KeyReader, parse_keys, render_status, summary
from voiceguide.plan.timeline import Chapter, Hold, Section
from voiceguide.play import Command, State, Status


@pytest.mark.parametrize(
    ("data", "commands", "left"),
    [
        (b" ", [Command.TOGGLE], b""),
        (
            b"nNbBqQ",
            [Command.NEXT, Command.NEXT, Command.BACK, Command.BACK, Command.STOP, Command.STOP],
            b"",
        ),
        (
            b"\x1b[C\x1b[D\x1bOC\x1bOD",
            [Command.NEXT, Command.BACK, Command.NEXT, Command.BACK],
            b"",
        ),
        (b"x y", [Command.TOGGLE], b""),  # other keys do nothing
        (b"\x1b[A\x1b[1;5C n", [Command.TOGGLE, Command.NEXT], b""),  # other sequences skipped
        (b"n\x1b", [Command.NEXT], b"\x1b"),  # a lone Esc may be the start of an arrow key
        (b"\x1b[", [], b"\x1b["),
        (b"\x1bq", [Command.STOP, Command.STOP], b""),  # Esc, then q
    ],
)
def test_keys_become_commands(data: bytes, commands: list[Command], left: bytes) -> None:
    assert parse_keys(data) == (commands, left)


def _wait_for(condition: object, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_key_reader_sends_commands_and_restores_the_terminal_even_on_errors() -> None:
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        got: list[Command] = []
        with pytest.raises(RuntimeError), KeyReader(slave, got.append):
            mode = termios.tcgetattr(slave)
            assert not mode[3] & termios.ICANON and not mode[3] & termios.ECHO
            assert mode[3] & termios.ISIG  # Ctrl-C still interrupts
            os.write(master, b" n\x1b[D")
            _wait_for(lambda: len(got) == 3)
            os.write(master, b"\x1b")  # Esc alone: stop, once nothing follows it
            _wait_for(lambda: len(got) == 4)
            raise RuntimeError("boom")
        assert got == [Command.TOGGLE, Command.NEXT, Command.BACK, Command.STOP]
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_the_display_shows_where_what_how_far_and_the_keys() -> None:
    chapter = Chapter(2, "Supine hip stretch", "supine-hip-stretch", 75_000, 466_000, 10, 90)
    section = Section("Supine hip stretch - left side, round 2", 2, 223_000, 281_000, "left")
    hold = Hold("supine-hip-stretch", "left", 2, 240_000, 270_000)
    status = Status(
        State.PLAYING, "Outer hip release", 258_400, 895_900, chapter, 5, section, hold, 11_600, 3
    )
    console = Console(record=True, width=100)
    console.print(render_status(status))
    text = console.export_text()
    assert "playing" in text and "Outer hip release" in text
    assert "2/5  Supine hip stretch - left side, round 2" in text
    assert "hold (left), round 2 of 3: 12 s left" in text
    assert "4:18 / 14:56, 10:38 left" in text
    assert "space pause/resume" in text
    assert summary(status) == "Stopped at 4:18 of 14:56 (Supine hip stretch)."
    done = Status(State.DONE, "Outer hip release", 895_900, 895_900)
    assert summary(done) == "Played to the end (14:56)."
