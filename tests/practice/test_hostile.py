"""One bad value cannot poison the practice log: ``--at`` is checked before anything is
written, and a log holding odd values (an old version's, another program's, edited by hand)
is read row by row: what can be shown is shown, a session whose start cannot be placed in
time is left out and named in one warning, and every command keeps working."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.practice.test_cli import digest, seed
from voiceguide import pipeline
from voiceguide.errors import PracticeLogError, SettingsError
from voiceguide.practice import Store, log_path

# the columns changed in one seeded session each, and whether it can still be shown
ODD_SESSIONS: list[tuple[dict[str, object], bool]] = [
    ({"settings": "not json {"}, True),
    ({"settings": "[" * 100_000}, True),  # nested past what json can read
    ({"settings": "[1, 2]"}, True),
    ({"started_utc": "abc"}, False),
    ({"started_utc": 1e300}, False),
    ({"started_utc": -1e18}, False),
    ({"utc_offset_s": 99_999_999}, False),
    ({"utc_offset_s": "x"}, False),
    ({"ended_utc": "x", "updated_utc": 1e300}, True),
    ({"ended_utc": -5.0}, True),
    ({"position_ms": "abc", "heard_ms": 1e300, "planned_ms": -5}, True),
    ({"status": "weird", "completed": "yes"}, True),
    ({"routine": b"\x00\xff", "title": b"\xfe"}, True),
    ({"routine_path": "a\x00b", "start_exercise": 7}, True),
    ({"source": 3.5}, True),
    ({"started_utc": 1e11}, True),  # year 5138: odd, but a time
]


def _poison() -> list[int]:
    """Seed one session per odd value, a playing one whose owner is nonsense and odd
    exercise rows; the ids that must be left out."""
    seed(list(range(len(ODD_SESSIONS) + 1)))
    db = sqlite3.connect(log_path(), isolation_level=None)
    left_out = []
    for session_id, (changes, readable) in enumerate(ODD_SESSIONS, start=1):
        for column, value in changes.items():
            db.execute(f"UPDATE sessions SET {column} = ? WHERE id = ?", (value, session_id))
        if not readable:
            left_out.append(session_id)
    last = len(ODD_SESSIONS) + 1
    db.execute(
        "UPDATE sessions SET status = 'playing', pid = 'abc', boot_id = 5, updated_utc = 'x'"
        " WHERE id = ?",
        (last,),
    )
    db.execute("UPDATE session_exercises SET state = 'zzz', heard_ms = 'x' WHERE position = 0")
    db.execute("UPDATE session_exercises SET exercise = 5, title = X'ff' WHERE position = 1")
    db.close()
    return left_out


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result


def test_every_command_works_on_a_log_full_of_odd_values(tmp_path: Path) -> None:
    left_out = _poison()
    shown = len(ODD_SESSIONS) + 1 - len(left_out)
    history = _ok(run("history", "--last", "100"))
    warning = f"{len(left_out)} sessions were left out (id {', '.join(map(str, left_out))})"
    assert warning in history.stderr and len(history.stderr.strip().splitlines()) == 1
    data = json.loads(_ok(run("history", "--json", "--last", "100")).stdout)
    assert len(data["sessions"]) == shown and data["unreadable_sessions"] == left_out
    out = tmp_path / "log.csv"
    exported = _ok(run("history", "--export", str(out)))
    assert f"Wrote {shown} sessions" in exported.stdout and warning in exported.stderr
    assert len(list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))) == shown
    to_output = _ok(run("history", "--export", "-"))
    assert to_output.stdout == out.read_text(encoding="utf-8")
    logged = _ok(run("log", "--at", "yesterday 07:00"))
    assert logged.stdout.startswith("Logged outer-hip") and "Practice:" in logged.stdout
    assert "Deleted the session" in _ok(run("log", "--undo")).stdout
    forgot = _ok(run("history", "--forget", "--before", "today", "--yes"))
    assert forgot.stdout.startswith("Deleted ")


def test_reading_never_raises_on_odd_values() -> None:
    left_out = _poison()
    with Store.open() as store:
        sessions, unreadable = store.read()
    assert unreadable == left_out
    for session in sessions:
        json.dumps(session.to_json())
        session.started.local()
    history = pipeline.history(last=100)
    assert history.unreadable == tuple(left_out) and history.warning
    assert pipeline.log_csv()[1] == len(sessions)


@pytest.mark.parametrize(
    ("at", "words"),
    [
        ("0001-01-01T00:00+14:00", "from 2000 on"),
        ("0001-01-01 00:00", "from 2000 on"),
        ("1999-12-31 23:00", "from 2000 on"),
        ("2000-01-01T00:00+14:00", "from 2000 on"),  # 1999 in UTC
        ("9999-12-31T23:59-14:00", "in the future"),
        ("9999-12-31 23:59", "in the future"),
    ],
)
def test_at_out_of_range_is_refused_before_anything_is_written(at: str, words: str) -> None:
    seed([1])
    before = digest(log_path())
    routine = pipeline.load(None)
    with pytest.raises(SettingsError, match=words):
        pipeline.log_session(routine, pipeline.parse_settings(()), at=at)
    assert digest(log_path()) == before
    assert len(pipeline.history().sessions) == 1


def test_at_out_of_range_as_a_user_types_it() -> None:
    result = run("log", "--at", "0001-01-01T00:00+14:00")
    assert result.returncode == 2 and "from 2000 on" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not log_path().exists()


def test_a_data_folder_that_is_a_file_is_an_error_for_every_command(tmp_path: Path) -> None:
    folder = log_path().parent
    folder.write_bytes(b"not a folder")
    for call in (
        lambda: pipeline.history(),
        lambda: pipeline.forget(),
        lambda: pipeline.undo_log(),
        lambda: pipeline.log_csv(),
        lambda: Store.open(),
    ):
        with pytest.raises(PracticeLogError, match="is a file, not a folder"):
            call()
    for args in (("history",), ("history", "--forget", "--yes"), ("log",), ("log", "--undo")):
        result = run(*args)
        assert result.returncode == 1, (args, result.stdout)
        assert "is a file, not a folder" in result.stderr and result.stdout == ""
    assert folder.read_bytes() == b"not a folder"


@pytest.mark.parametrize(
    "statement",
    ["DROP TABLE session_exercises", "ALTER TABLE sessions DROP COLUMN heard_ms"],
)
def test_a_damaged_table_is_said_in_words(statement: str) -> None:
    seed([0])
    db = sqlite3.connect(log_path(), isolation_level=None)
    db.execute(statement)
    db.close()
    before = digest(log_path())
    result = run("history")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "the file is damaged (a part of it is missing:" in result.stderr
    assert "internal error" not in result.stderr and digest(log_path()) == before
