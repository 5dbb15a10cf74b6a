"""``voiceguide log`` and ``voiceguide history`` as a user runs them, on a real log file;
bad log files (another program's, damaged, locked, read-only) for real."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.test_faults import Mounts
from tests.conftest import FakeSynthesizer
from tests.helpers.cli import run
from voiceguide import pipeline
from voiceguide.errors import PracticeLogError, SettingsError
from voiceguide.practice import ExerciseState, Moment, NewSession, Store, log_path


def seed(days_ago: list[int], routine: str = "outer-hip") -> None:
    """Sessions of the default routine, each completed at 07:00 UTC ``days_ago`` days ago."""
    today = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    exercises = tuple((e.id, e.title) for e in pipeline.load(None).exercises)
    with Store.open(log_path()) as store:
        for ago in days_ago:
            when = Moment((today - timedelta(days=ago)).timestamp(), 0)
            new = NewSession(
                routine, "Outer hip", when, 840_000, {"voice": "gmw/en-us"}, exercises, source="log"
            )
            store.add(new, when.utc_s + 840, [e for e, _t in exercises], 840_000)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


# ---------------------------------------------------------------- history


def test_history_without_a_log_says_so_and_makes_no_file() -> None:
    result = run("history")
    assert result.returncode == 0, result.stderr
    assert "No sessions yet" in result.stdout and "Streak: 0 days" in result.stdout
    assert not log_path().exists()


def test_history_shows_sessions_streak_calendar_and_todays_target() -> None:
    seed([0, 1, 2, 5])
    result = run("history")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("outer-hip") == 4 and "logged" in out
    assert "Streak: 3 days (longest 3) · practised today" in out
    assert "Mo  Tu  We  Th  Fr  Sa  Su" in out and "■" in out
    assert "Today: Adductor ball squeeze, 1-2 times a day: 1 done ✓" in out
    data = json.loads(run("history", "--json").stdout)
    assert data["streak"] == {
        "current_days": 3,
        "longest_days": 3,
        "practised_today": True,
        "last_day": data["today"],
    }
    assert data["targets"] == [
        {
            "exercise": "adductor-ball-squeeze",
            "title": "Adductor ball squeeze",
            "per_day": [1, 2],
            "done_today": 1,
            "met": True,
        }
    ]
    assert [s["completed"] for s in data["sessions"]] == [True] * 4
    assert len(json.loads(run("history", "--json", "--since", "2d").stdout)["sessions"]) == 3
    assert json.loads(run("history", "--json", "--routine", "other").stdout)["sessions"] == []


def test_history_export_writes_every_session_as_csv(tmp_path: Path) -> None:
    seed([0, 1, 30])
    out = tmp_path / "log.csv"
    result = run("history", "--export", str(out))
    assert result.returncode == 0 and "Wrote 3 sessions" in result.stdout
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 3 and rows[0]["routine"] == "outer-hip" and rows[0]["completed"] == "yes"
    assert rows[0]["exercises"].startswith("supine-hip-stretch:completed ")


def test_forget_asks_unless_told_and_deletes_for_real() -> None:
    seed([0, 10, 11])
    refused = run("history", "--forget")  # no terminal to ask on
    assert refused.returncode == 2 and "--yes" in one_line(refused)
    before = (datetime.now(UTC) - timedelta(days=5)).date().isoformat()
    partly = run("history", "--forget", "--before", before, "--yes")
    assert partly.returncode == 0 and "Deleted 2 sessions" in partly.stdout
    assert len(json.loads(run("history", "--json").stdout)["sessions"]) == 1
    done = run("history", "--forget", "--yes")
    assert done.returncode == 0 and "Deleted 1 session " in done.stdout
    raw = b"".join(p.read_bytes() for p in log_path().parent.glob("practice.sqlite3*"))
    assert b"outer-hip" not in raw and b"Adductor" not in raw
    assert run("history", "--before", "2026-01-01").returncode == 2


def test_bad_dates_are_one_line_exit_2() -> None:
    for args in (("history", "--since", "last tuesday"), ("history", "--last", "0")):
        result = run(*args)
        assert result.returncode == 2 and "error:" in one_line(result)


# ---------------------------------------------------------------- log (by hand)


def test_log_records_a_session_done_elsewhere_with_the_export_settings() -> None:
    cache = pipeline.make_cache(pipeline.parse_settings([]), FakeSynthesizer())
    routine = pipeline.load(None)
    loaded, prepared = pipeline.prepare(None, _hold(45))
    timeline = pipeline.plan(loaded, prepared.settings, cache)
    fixed = datetime(2026, 3, 2, 21, 0, tzinfo=datetime.now().astimezone().tzinfo)
    session = pipeline.log_session(
        loaded,
        prepared.settings,
        at="2026-03-02 18:30",
        exercises=["adductor-ball-squeeze"],
        cache=cache,
        clock=lambda: fixed,
    )
    assert session.source == "log" and not session.completed
    assert session.settings == timeline.described_settings()
    assert session.settings["overrides"] == ["--hold 45"]
    assert [e.state for e in session.exercises] == [ExerciseState.NOT_PLAYED] * 2 + [
        ExerciseState.COMPLETED
    ]
    assert session.started.local().strftime("%Y-%m-%d %H:%M") == "2026-03-02 18:30"
    squeeze = next(c for c in timeline.chapters if c.exercise == "adductor-ball-squeeze")
    assert session.heard_ms == squeeze.end_ms - squeeze.start_ms
    whole = pipeline.log_session(routine, prepared.settings, cache=cache, clock=lambda: fixed)
    assert whole.completed and whole.heard_ms == timeline.total_ms
    assert abs(whole.started.utc_s + timeline.total_ms / 1000 - fixed.timestamp()) < 0.01
    with pytest.raises(SettingsError, match="did you mean 'adductor-ball-squeeze'"):
        pipeline.log_session(routine, prepared.settings, exercises=["adductor-ball"], cache=cache)
    with pytest.raises(SettingsError, match="in the future"):
        pipeline.log_session(
            routine, prepared.settings, at="2026-03-03 08:00", cache=cache, clock=lambda: fixed
        )


def _hold(seconds: int) -> pipeline.Choices:
    from voiceguide.plan.preferences import command_line

    return command_line([("hold", str(seconds))])


@pytest.mark.espeak
def test_voiceguide_log_then_history() -> None:
    result = run("log", "--at", "yesterday 18:30", "--hold", "40")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Logged outer-hip on ") and "all 3 exercises" in result.stdout
    data = json.loads(run("history", "--json").stdout)
    (session,) = data["sessions"]
    assert session["started"][11:16] == "18:30" and session["settings"]["overrides"] == [
        "--hold 40"
    ]
    assert data["streak"]["current_days"] == 1 and not data["streak"]["practised_today"]


# ---------------------------------------------------------------- bad log files


def _foreign(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()


def _damaged(path: Path) -> None:
    seed(list(range(150)))
    data = bytearray(path.read_bytes())
    data[4096 : 4096 + 64] = b"\xff" * 64  # the header of page 2, a table's root
    for extra in path.parent.glob(path.name + "-*"):
        extra.unlink()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (
            lambda p: p.write_bytes(b"PK\x03\x04 a zip file, not a database" * 20),
            "not a SQLite database",
        ),
        (_foreign, "another program's SQLite database"),
        (_damaged, "damaged"),
    ],
)
def test_a_bad_log_is_one_line_exit_1_and_left_as_it_was(make: object, said: str) -> None:
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    make(path)  # type: ignore[operator]
    before = digest(path)
    for args in (
        ("history",),
        ("history", "--export", "/tmp/never.csv"),
        ("history", "--forget", "--yes"),
    ):
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)
        line = one_line(result)
        assert line.startswith(f"voiceguide: error: practice log {path}: ") and said in line
    assert digest(path) == before
    with pytest.raises(PracticeLogError, match=said):
        pipeline.log_session(
            pipeline.load(None),
            pipeline.parse_settings([]),
            cache=pipeline.make_cache(pipeline.parse_settings([]), FakeSynthesizer()),
        )
    assert digest(path) == before and not Path("/tmp/never.csv").exists()


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("CREATE TABLE IF NOT EXISTS lock (x)")
    print("locked", flush=True)
    time.sleep(60)
""")


@pytest.fixture
def locked_log() -> Iterator[Path]:
    """The log, held by another program in an exclusive transaction."""
    seed([0])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(log_path())], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield log_path()
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


@pytest.mark.slow
def test_a_locked_log_is_one_line_exit_1_after_waiting(locked_log: Path) -> None:
    result = run("history")
    assert result.returncode == 1
    assert "locked by another program for more than 5 s" in one_line(result)


def test_a_read_only_log_is_one_line_exit_1(mounts: Mounts) -> None:
    seed([0, 1])
    before = digest(log_path())
    mounts.read_only(log_path().parent)
    for args in (("history",), ("history", "--forget", "--yes")):
        result = run(*args)
        assert result.returncode == 1
        assert one_line(result).endswith(
            "cannot write to it (its disk is mounted read-only); it was left as it is"
        )
    assert digest(log_path()) == before


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    done = Mounts()
    try:
        yield done
    finally:
        done.undo()


def test_log_undo_deletes_the_last_session_logged_by_hand_only() -> None:
    assert run("log", "--undo").stdout == "No session logged by hand to undo\n"
    seed([1, 0])  # today's is the last one logged
    with Store.open(log_path()) as store:  # a played one, after them: never undone
        store.begin(
            NewSession(
                "outer-hip",
                "Outer hip",
                Moment(datetime.now(UTC).timestamp()),
                1000,
                {},
                (("a", "A"),),
            )
        )
    result = run("log", "--undo")
    assert result.returncode == 0 and result.stdout.startswith("Deleted the session of outer-hip")
    left = json.loads(run("history", "--json").stdout)["sessions"]
    assert [s["source"] for s in left] == ["play", "log"]
    assert left[1]["day"] < left[0]["day"]
    assert run("log", "--undo").returncode == 0
    assert run("log", "--undo").stdout == "No session logged by hand to undo\n"
    assert [s["source"] for s in json.loads(run("history", "--json").stdout)["sessions"]] == [
        "play"
    ]
