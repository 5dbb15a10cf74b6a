"""The recorder writes a session as it goes into a real log, and never holds up the player."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from voiceguide.practice.coverage import ExerciseState, Outline, Part
from voiceguide.practice.recorder import SessionInfo, SessionRecorder
from voiceguide.practice.store import Store

E = ExerciseState
OUTLINE = Outline(
    "Tiny",
    75_000,
    (
        Part("a", "A", 10_000, 40_000, ((15_000, 25_000), (28_000, 38_000))),
        Part("b", "B", 40_000, 70_000, ((45_000, 65_000),)),
    ),
    {"voice": "gmw/en-us", "overrides": ["--hold 10"]},
)
ZONE = timezone(timedelta(hours=-5))


class FakeTime:
    """A wall clock and a monotonic clock that move together, by hand."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.start = datetime(2026, 3, 2, 23, 50, tzinfo=ZONE)

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.mono - 1000.0)

    def monotonic(self) -> float:
        return self.mono


def wait_until(condition: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def play_through(recorder: SessionRecorder, clock: FakeTime, from_ms: int, to_ms: int) -> None:
    for ms in range(from_ms, to_ms + 1, 500):
        recorder.heard("playing", ms)
        clock.mono += 0.5


def test_a_played_session_is_recorded_with_its_settings_and_completion(tmp_path: Path) -> None:
    log = tmp_path / "practice.sqlite3"
    clock = FakeTime()
    recorder = SessionRecorder(
        SessionInfo("tiny", "Tiny", "/r/tiny.routine.yaml"),
        lambda: Store.open(log),
        clock=clock.wall,
        monotonic=clock.monotonic,
    )
    recorder.planned(OUTLINE)
    play_through(recorder, clock, 0, 75_000)
    recorder.heard("done", 75_000)
    assert recorder.close() is None
    with Store.open(log) as store:
        (session,) = store.sessions()
    assert (session.status, session.completed, session.routine, session.title) == (
        "done",
        True,
        "tiny",
        "Tiny",
    )
    assert [e.state for e in session.exercises] == [E.COMPLETED, E.COMPLETED]
    assert session.settings == OUTLINE.settings and session.planned_ms == 75_000
    assert session.started.local() == datetime(2026, 3, 2, 23, 50, tzinfo=ZONE)
    assert session.started.day.isoformat() == "2026-03-02"  # 04:50 UTC on the 3rd
    assert 75 <= session.length_s <= 76.5 and session.routine_path == "/r/tiny.routine.yaml"


def test_progress_is_in_the_log_while_playing(tmp_path: Path) -> None:
    log = tmp_path / "practice.sqlite3"
    clock = FakeTime()
    recorder = SessionRecorder(
        SessionInfo("tiny", "Tiny"),
        lambda: Store.open(log),
        clock=clock.wall,
        monotonic=clock.monotonic,
    )
    recorder.planned(OUTLINE)
    play_through(recorder, clock, 0, 41_000)  # a is completed, b playing

    def states() -> list[E]:
        with Store.open(log) as store:
            sessions = store.sessions()
        return [e.state for e in sessions[0].exercises] if sessions else []

    wait_until(lambda: states() == [E.COMPLETED, E.PLAYING])
    recorder.heard("stopped", 42_000)
    assert recorder.close() is None
    assert states() == [E.COMPLETED, E.STOPPED]


def test_a_player_that_ends_without_a_last_word_is_recorded_stopped(tmp_path: Path) -> None:
    log = tmp_path / "practice.sqlite3"
    recorder = SessionRecorder(SessionInfo("tiny", "Tiny"), lambda: Store.open(log))
    recorder.planned(OUTLINE)
    recorder.heard("playing", 12_000)
    assert recorder.close() is None  # e.g. the device failed: an error, not "done"
    with Store.open(log) as store:
        (session,) = store.sessions()
    assert session.status == "stopped" and [e.state for e in session.exercises] == [
        E.STOPPED,
        E.NOT_PLAYED,
    ]


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("CREATE TABLE IF NOT EXISTS lock (x)")
    print("locked", flush=True)
    time.sleep(60)
""")


def test_a_locked_log_costs_the_player_nothing_and_is_said_once(tmp_path: Path) -> None:
    log = tmp_path / "practice.sqlite3"
    Store.open(log).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(log)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        recorder = SessionRecorder(
            SessionInfo("tiny", "Tiny"), lambda: Store.open(log, busy_timeout_s=0.3)
        )
        recorder.planned(OUTLINE)
        for ms in range(0, 5_000, 100):
            recorder.heard("playing", ms)
        assert time.monotonic() - started < 0.1  # the player's calls never wait
        problem = recorder.close()
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert problem is not None and "locked" in problem and "not recorded" in problem
    assert "\n" not in problem


@pytest.mark.parametrize("content", [b"garbage" * 100])
def test_a_bad_file_is_said_and_left_alone(tmp_path: Path, content: bytes) -> None:
    log = tmp_path / "practice.sqlite3"
    log.write_bytes(content)
    recorder = SessionRecorder(SessionInfo("tiny", "Tiny"), lambda: Store.open(log))
    recorder.planned(OUTLINE)
    recorder.heard("done", 75_000)
    problem = recorder.close()
    assert problem is not None and "not a SQLite database" in problem
    assert log.read_bytes() == content


def test_the_heartbeat_keeps_how_far_it_got(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("voiceguide.practice.recorder.HEARTBEAT_S", 0.05)
    log = tmp_path / "practice.sqlite3"
    recorder = SessionRecorder(SessionInfo("tiny", "Tiny"), lambda: Store.open(log))
    recorder.planned(OUTLINE)
    recorder.heard("playing", 1_000)
    recorder.heard("playing", 1_400)

    def position() -> int:
        try:
            row = sqlite3.connect(log).execute("SELECT position_ms FROM sessions").fetchone()
        except sqlite3.OperationalError:  # not made yet
            return -1
        return int(row[0]) if row else -1

    wait_until(lambda: position() == 1_400)
    assert recorder.close() is None
