"""The practice log's file, for real: SQLite on disk, other processes, bad files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceguide.errors import PracticeLogError
from voiceguide.practice.coverage import ExerciseState
from voiceguide.practice.records import NewSession
from voiceguide.practice.schema import APPLICATION_ID, SCHEMA_VERSION
from voiceguide.practice.store import Store
from voiceguide.practice.streaks import Moment

DATA = Path(__file__).parents[1] / "data"
E = ExerciseState
T0 = 1_772_348_400.0  # 2026-03-01 07:00 UTC


def new(routine: str = "outer-hip", at: float = T0, offset_s: int = 3600) -> NewSession:
    return NewSession(
        routine,
        "Outer hip",
        Moment(at, offset_s),
        840_000,
        {"overrides": ["--hold 40"], "voice": "gmw/en-us"},
        (("a", "A"), ("b", "B")),
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "data" / "practice.sqlite3"


def test_a_new_log_is_made_in_wal_mode_with_our_id_and_the_latest_schema(log: Path) -> None:
    with Store.open(log) as store:
        assert store.sessions() == []
    db = sqlite3.connect(log)
    pragma = {
        name: db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "application_id", "user_version")
    }
    assert pragma == {
        "journal_mode": "wal",
        "application_id": APPLICATION_ID,
        "user_version": SCHEMA_VERSION,
    }


def test_a_session_is_written_as_it_goes_and_read_back(log: Path) -> None:
    with Store.open(log) as store:
        sid = store.begin(new())
        (playing,) = store.sessions()
        assert playing.status == "playing"
        assert [e.state for e in playing.exercises] == [E.PENDING] * 2
        store.update(sid, T0 + 60, 30_000, 29_000, [(E.PLAYING, 20_000), (E.PENDING, 0)])
        store.update(
            sid,
            T0 + 840,
            840_000,
            839_000,
            [(E.COMPLETED, 1), (E.COMPLETED, 2)],
            status="done",
            completed=True,
        )
        (done,) = store.sessions()
    assert (done.status, done.completed, done.position_ms, done.heard_ms) == (
        "done",
        True,
        840_000,
        839_000,
    )
    assert done.length_s == 840 and done.practised and done.started == Moment(T0, 3600)
    assert done.settings["overrides"] == ["--hold 40"]
    assert done.to_json()["started"] == "2026-03-01T08:00:00+01:00"


def test_a_version_1_file_is_migrated_keeping_every_session(log: Path) -> None:
    log.parent.mkdir(parents=True)
    old = sqlite3.connect(log)
    old.executescript((DATA / "practice-v1.sql").read_text())
    old.close()
    with Store.open(log, offset_s=-5 * 3600) as store:
        first, second = store.sessions()
    assert sqlite3.connect(log).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert (first.routine, first.title, first.status, first.completed) == (
        "outer-hip",
        "outer-hip",
        "done",
        True,
    )
    assert first.started == Moment(T0, -5 * 3600) and first.length_s == 840
    assert [e.state for e in first.exercises] == [E.COMPLETED] * 3
    assert first.settings["overrides"] == ["--hold 40"]
    # the unfinished one: stopped where it was
    assert second.status == "stopped" and [e.state for e in second.exercises] == [
        E.COMPLETED,
        E.STOPPED,
        E.NOT_PLAYED,
    ]
    assert second.position_ms == 300_000
    with Store.open(log) as store:  # opening again changes nothing
        assert len(store.sessions()) == 2


def test_a_file_from_a_newer_voiceguide_is_left_alone(log: Path) -> None:
    log.parent.mkdir(parents=True)
    db = sqlite3.connect(log)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.execute("CREATE TABLE future (x)")
    db.commit()
    db.close()
    before = digest(log)
    with pytest.raises(PracticeLogError, match="newer voiceguide"):
        Store.open(log)
    assert digest(log) == before


def test_another_programs_database_is_left_alone(log: Path) -> None:
    log.parent.mkdir(parents=True)
    db = sqlite3.connect(log)
    db.execute("CREATE TABLE contacts (name TEXT)")
    db.execute("INSERT INTO contacts VALUES ('Ada')")
    db.commit()
    db.close()
    before = digest(log)
    with pytest.raises(PracticeLogError, match="another program's SQLite database"):
        Store.open(log)
    assert digest(log) == before and sorted(p.name for p in log.parent.iterdir()) == [log.name]


@pytest.mark.parametrize("content", [b"not a database at all\n" * 50, bytes(range(256)) * 40])
def test_a_file_that_is_not_a_database_is_left_alone(log: Path, content: bytes) -> None:
    log.parent.mkdir(parents=True)
    log.write_bytes(content)
    with pytest.raises(PracticeLogError, match="not a SQLite database") as caught:
        Store.open(log)
    assert "\n" not in str(caught.value)
    assert log.read_bytes() == content


def test_a_damaged_log_is_left_alone(log: Path) -> None:
    with Store.open(log) as store:
        for i in range(200):
            store.begin(new(at=T0 + i))
    data = bytearray(log.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[page : page + 64] = b"\xff" * 64  # garbage over the header of page 2 (a table's root)
    for stale in log.parent.glob(log.name + "-*"):
        stale.unlink()
    log.write_bytes(bytes(data))
    with pytest.raises(PracticeLogError, match="damaged") as caught:
        Store.open(log)
    assert "\n" not in str(caught.value)
    assert log.read_bytes() == bytes(data)


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    db.execute("BEGIN EXCLUSIVE")
    db.execute("INSERT INTO sessions (routine, started_utc, status) VALUES ('x', 0, 'done')")
    print("locked", flush=True)
    time.sleep(60)
""")


@pytest.fixture
def locked(log: Path) -> Iterator[Path]:
    """The log, held by another process in an exclusive transaction."""
    Store.open(log).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(log)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield log
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_a_locked_log_is_waited_for_then_said(locked: Path) -> None:
    started = time.monotonic()
    with pytest.raises(PracticeLogError, match=r"locked by another program for more than 0\.5 s"):
        Store.open(locked, busy_timeout_s=0.5)
    assert 0.4 < time.monotonic() - started < 5


TWO_WRITERS = textwrap.dedent("""
    import sys
    from voiceguide.practice.store import NewSession, Store
    from voiceguide.practice.coverage import ExerciseState
    from voiceguide.practice.streaks import Moment
    name = sys.argv[2]
    with Store.open(__import__("pathlib").Path(sys.argv[1])) as store:
        for i in range(40):
            sid = store.begin(NewSession(name, name, Moment(1e9 + i), 1000, {}, (("a", "A"),)))
            store.update(sid, 1e9 + i + 1, 1000, 1000, [(ExerciseState.COMPLETED, 1000)],
                         status="done", completed=True)
""")


def test_two_writers_at_once_both_record_everything(log: Path) -> None:
    Store.open(log).close()
    env = {"PYTHONPATH": ":".join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", TWO_WRITERS, str(log), name], env=env)
        for name in ("one", "two")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    with Store.open(log) as store:
        sessions = store.sessions()
    assert sorted((s.routine, s.status) for s in sessions) == sorted(
        [("one", "done")] * 40 + [("two", "done")] * 40
    )
    assert sqlite3.connect(log).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_session_whose_player_is_gone_becomes_stopped(log: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with Store.open(log) as store:
        mine = store.begin(new())
        theirs = store.begin(new(at=T0 + 5), pid=gone.pid)
        store.update(theirs, T0 + 65, 30_000, 30_000, [(E.PLAYING, 20_000), (E.PENDING, 0)])
        assert store.repair(T0 + 100) == 1
        by_id = {s.id: s for s in store.sessions()}
    assert by_id[mine].status == "playing"  # this process is alive
    assert by_id[theirs].status == "stopped" and by_id[theirs].length_s == 60
    assert [e.state for e in by_id[theirs].exercises] == [E.STOPPED, E.NOT_PLAYED]


def test_forget_deletes_for_real(log: Path) -> None:
    with Store.open(log) as store:
        store.begin(new("secret-routine-zyx", at=T0))
        store.begin(new("kept-routine", at=T0 + 3 * 86400))
        assert store.forget(before=Moment(T0 + 86400, 3600).day) == 1
        assert [s.routine for s in store.sessions()] == ["kept-routine"]
    raw = b"".join(p.read_bytes() for p in log.parent.glob(log.name + "*"))
    assert b"secret-routine-zyx" not in raw and b"kept-routine" in raw
    with Store.open(log) as store:
        assert store.forget() == 1 and store.sessions() == []
    raw = b"".join(p.read_bytes() for p in log.parent.glob(log.name + "*"))
    assert b"kept-routine" not in raw


def test_sessions_can_be_filtered_by_local_day_and_routine(log: Path) -> None:
    with Store.open(log) as store:
        store.begin(new("a", at=T0 - 8 * 3600, offset_s=-5 * 3600))  # Feb 28 18:00 in NY
        store.begin(new("b", at=T0, offset_s=-5 * 3600))  # Mar 1 02:00 in NY
        store.begin(new("a", at=T0 + 86400))
        since = Moment(T0, -5 * 3600).day
        assert [s.routine for s in store.sessions(since=since)] == ["b", "a"]
        assert [s.routine for s in store.sessions(routine="a")] == ["a", "a"]


def test_a_folder_link_or_fifo_in_the_logs_place_is_left_alone(log: Path) -> None:
    log.parent.mkdir(parents=True)
    target = log.parent / "elsewhere.sqlite3"
    Store.open(target).close()
    for make in (log.mkdir, lambda: log.symlink_to(target), lambda: os.mkfifo(log)):
        make()
        with pytest.raises(PracticeLogError, match="is not a regular file"):
            Store.open(log)
        if log.is_dir() and not log.is_symlink():
            log.rmdir()
        else:
            log.unlink()
    with Store.open(target) as store:
        assert store.sessions() == []


def _open_at_the_barrier(path: str, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        Store.open(Path(path)).close()
        results.put("ok")  # type: ignore[attr-defined]
    except PracticeLogError as error:
        results.put(str(error))  # type: ignore[attr-defined]


def test_two_voiceguides_making_the_same_new_log_at_once_both_open_it(tmp_path: Path) -> None:
    """Two players started together on a machine with no log yet: SQLite says "locked" at
    once (without waiting) when both switch the new file to WAL or upgrade a read to a
    write, and one could see the other's tables before its id. Measured before the fix:
    1 in 6 such pairs failed."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    failures = []
    for attempt in range(40):
        path = tmp_path / f"log-{attempt}.sqlite3"
        barrier, results = context.Barrier(2), context.Queue()
        processes = [
            context.Process(target=_open_at_the_barrier, args=(str(path), barrier, results))
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        outcome = [results.get(timeout=5) for _ in processes]
        failures += [o for o in outcome if o != "ok"]
    assert not failures, failures
