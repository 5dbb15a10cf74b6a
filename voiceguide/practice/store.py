"""The practice log: one SQLite file in the user's data folder (see :mod:`.schema`).

WAL mode, so a player killed mid-session loses at most its last unwritten update and never
leaves a damaged file, and two players can write at once: each write is one short
transaction, and a busy file is waited for, up to a timeout. A session is written when it
starts and as it goes; one whose player is gone is made "stopped" (:meth:`Store.repair`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from voiceguide.errors import PracticeLogError
from voiceguide.practice.coverage import ExerciseState
from voiceguide.practice.pain import MAX_SCORE
from voiceguide.practice.pain_log import PainLog
from voiceguide.practice.records import ExerciseRecord, NewSession, Session
from voiceguide.practice.rows import exercise_record, number, session_of
from voiceguide.practice.schema import (
    BUSY_TIMEOUT_S,
    check_and_migrate,
    check_folder,
    log_path,
    said,
)
from voiceguide.practice.streaks import Moment, midnight_utc_s

__all__ = ["STALE_S", "Store"]

STALE_S = 15 * 60  # a session not written for this long, by a player that is gone: stopped
_RETRY_S = 0.02  # between tries of opening a log another process is opening


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _alive(pid: object, boot_id: object) -> bool:
    """Whether the process that owns an unfinished session may still be running."""
    if not isinstance(pid, int) or not 0 < pid < 2**31 or boot_id is None:
        return False
    if boot_id != _boot_id():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but is another user's
        return True
    return True


class Store(PainLog):
    """An open practice log. Not shared between threads: each opens its own."""

    def __init__(
        self, path: Path, connection: sqlite3.Connection, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.path = path
        self._db = connection
        self._busy_s = busy_timeout_s

    # ---------------------------------------------------------------- opening

    @classmethod
    def open(
        cls, path: Path | None = None, *, offset_s: int = 0, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> Store:
        """Open (or create) the log, checked and migrated; ``offset_s``: the local UTC
        offset, for migrating a version-1 file."""
        path = path if path is not None else log_path()
        check_folder(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PracticeLogError(
                f"practice log {path}: cannot create its folder: {error.strerror}"
            ) from None
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise PracticeLogError(
                f"practice log {path}: is not a regular file (a folder, link or device); "
                "it was left as it is"
            )
        with said(path, busy_timeout_s):
            db = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
        try:
            with said(path, busy_timeout_s):
                _prepare_retrying(db, path, offset_s, busy_timeout_s)
        except BaseException:
            db.close()
            raise
        return cls(path, db, busy_timeout_s)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (a nested one joins the one open)."""
        if self._db.in_transaction:
            yield self._db
            return
        with said(self.path, self._busy_s):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---------------------------------------------------------------- recording

    def begin(self, new: NewSession, pid: int | None = None) -> int:
        """A new session, playing (``pid``: the player's process, None: this one)."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO sessions (routine, title, routine_path, source, started_utc,"
                " utc_offset_s, updated_utc, status, planned_ms, settings, start_exercise,"
                " pid, boot_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'playing', ?, ?, ?, ?, ?)",
                (
                    new.routine,
                    new.title,
                    new.routine_path,
                    new.source,
                    new.started.utc_s,
                    new.started.offset_s,
                    new.started.utc_s,
                    new.planned_ms,
                    json.dumps(new.settings, sort_keys=True),
                    new.start_exercise,
                    os.getpid() if pid is None else pid,
                    _boot_id(),
                ),
            )
            session_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO session_exercises (session_id, position, exercise, title, state)"
                " VALUES (?, ?, ?, ?, 'pending')",
                [(session_id, i, e, t) for i, (e, t) in enumerate(new.exercises)],
            )
        return session_id

    def update(
        self,
        session_id: int,
        at_utc_s: float,
        position_ms: int,
        heard_ms: int,
        states: Sequence[tuple[ExerciseState, int]],
        *,
        status: str = "playing",
        completed: bool = False,
        planned_ms: int | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """How far the session got; ``states``: (state, heard ms) per exercise. A status
        other than "playing" ends it."""
        ended = None if status == "playing" else at_utc_s
        with self._write() as db:
            db.execute(
                "UPDATE sessions SET updated_utc = ?, position_ms = ?, heard_ms = ?,"
                " status = ?, completed = ?, ended_utc = ?,"
                " planned_ms = COALESCE(?, planned_ms), settings = COALESCE(?, settings)"
                " WHERE id = ?",
                (
                    at_utc_s,
                    position_ms,
                    heard_ms,
                    status,
                    int(completed),
                    ended,
                    planned_ms,
                    json.dumps(settings, sort_keys=True) if settings is not None else None,
                    session_id,
                ),
            )
            db.executemany(
                "UPDATE session_exercises SET state = ?, heard_ms = ?"
                " WHERE session_id = ? AND position = ?",
                [(s.value, ms, session_id, i) for i, (s, ms) in enumerate(states)],
            )

    def add(
        self,
        new: NewSession,
        ended_utc: float,
        done: Sequence[str],
        heard_ms: int,
        pain: int | None = None,
    ) -> int:
        """A session done elsewhere (``voiceguide log``), in one transaction: the exercises
        in ``done`` were completed, the others not played; ``pain``: its check-in."""
        states = [
            (ExerciseState.COMPLETED if e in done else ExerciseState.NOT_PLAYED, 0)
            for e, _t in new.exercises
        ]
        completed = all(s is ExerciseState.COMPLETED for s, _ms in states)
        with self._write():
            session_id = self.begin(new, pid=0)
            self.update(
                session_id,
                ended_utc,
                heard_ms,
                heard_ms,
                states,
                status="done",
                completed=completed,
            )
            if pain is not None:
                self.add_pain(pain, Moment(ended_utc, new.started.offset_s), session_id, "log")
        return session_id

    def repair(self, now_utc_s: float) -> int:
        """Sessions whose player is gone (killed, crashed, the machine off) become
        "stopped" where they were; returns how many."""
        with said(self.path, self._busy_s):
            rows = self._db.execute(
                "SELECT id, pid, boot_id, updated_utc FROM sessions WHERE status = 'playing'"
            ).fetchall()
        gone = [
            row[0]
            for row in rows
            if not _alive(row[1], row[2]) or now_utc_s - (number(row[3]) or 0) > STALE_S
        ]
        if not gone:
            return 0
        with self._write() as db:
            for session_id in gone:
                db.execute(
                    "UPDATE sessions SET status = 'stopped', ended_utc = updated_utc"
                    " WHERE id = ? AND status = 'playing'",
                    (session_id,),
                )
                db.execute(
                    "UPDATE session_exercises SET state = CASE state"
                    " WHEN 'playing' THEN 'stopped' WHEN 'pending' THEN 'not_played'"
                    " ELSE state END WHERE session_id = ?",
                    (session_id,),
                )
        return len(gone)

    # ---------------------------------------------------------------- reading

    def sessions(self, since: date | None = None, routine: str | None = None) -> list[Session]:
        """The sessions, oldest first; ``since``: started on that local day or later. A
        session whose start cannot be placed in time is left out (see :meth:`read`)."""
        return self.read(since, routine)[0]

    def read(
        self, since: date | None = None, routine: str | None = None
    ) -> tuple[list[Session], list[int]]:
        """:meth:`sessions`, and the ids of the sessions left out because their start time
        or time zone is not one a calendar can show (an odd value written by another
        program or by hand: every other odd value is read as a neutral one)."""
        where: list[str] = []
        args: list[object] = []
        if since is not None:
            where.append("started_utc + utc_offset_s >= ?")
            args.append(midnight_utc_s(since))
        if routine is not None:
            where.append("routine = ?")
            args.append(routine)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with said(self.path, self._busy_s):
            rows = self._db.execute(
                "SELECT id, routine, title, source, started_utc, utc_offset_s, ended_utc,"
                " updated_utc, status, completed, position_ms, heard_ms, planned_ms, settings,"
                " routine_path, start_exercise FROM sessions"
                + clause
                + " ORDER BY started_utc, id",
                args,
            ).fetchall()
            pain = dict(self._db.execute("SELECT session_id, score FROM pain_scores").fetchall())
            exercises: dict[int, list[ExerciseRecord]] = {}
            for session_id, exercise, title, state, heard in self._db.execute(
                "SELECT session_id, exercise, title, state, heard_ms FROM session_exercises"
                " ORDER BY session_id, position"
            ):
                exercises.setdefault(session_id, []).append(
                    exercise_record(exercise, title, state, heard)
                )
        result: list[Session] = []
        unreadable: list[int] = []
        for row in rows:
            read = session_of(tuple(row), tuple(exercises.get(row[0], ())))
            if read is None:
                unreadable.append(row[0])
            else:
                score = pain.get(row[0])
                ok = isinstance(score, int) and 0 <= score <= MAX_SCORE  # (another program's value)
                result.append(dataclasses.replace(read, pain=score) if ok else read)
        result.sort(key=lambda s: (s.started.utc_s, s.id))  # a start stored as text sorts apart
        return result, sorted(unreadable)

    # ---------------------------------------------------------------- forgetting

    def undo_logged(self) -> Session | None:
        """Delete the last session recorded by hand (``voiceguide log``), for real; it, or
        None when there is none."""
        logged = [s for s in self.sessions() if s.source == "log"]
        if not logged:
            return None
        last = max(logged, key=lambda s: s.id)
        with said(self.path, self._busy_s):
            self._db.execute("PRAGMA secure_delete = ON")
        with self._write() as db:
            db.execute("DELETE FROM pain_scores WHERE session_id = ?", (last.id,))
            db.execute("DELETE FROM session_exercises WHERE session_id = ?", (last.id,))
            db.execute("DELETE FROM sessions WHERE id = ?", (last.id,))
        with said(self.path, self._busy_s):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return last

    def forget(self, before: date | None = None) -> int:
        """Delete every session and check-in (or those of local days before ``before``) for
        real: the freed pages are overwritten and the file rebuilt (VACUUM), and the
        write-ahead log emptied. Returns how many sessions were deleted."""
        with said(self.path, self._busy_s):
            self._db.execute("PRAGMA secure_delete = ON")
        where, args = (
            ("", ())
            if before is None
            else (" WHERE started_utc + utc_offset_s < ?", (midnight_utc_s(before),))
        )
        alone = "" if before is None else " AND at_utc + utc_offset_s < ?"
        with self._write() as db:
            for table in ("pain_scores", "session_exercises"):
                db.execute(
                    f"DELETE FROM {table} WHERE session_id IN (SELECT id FROM sessions{where})",
                    args,
                )
            db.execute("DELETE FROM pain_scores WHERE session_id IS NULL" + alone, args)
            count = db.execute("DELETE FROM sessions" + where, args).rowcount
        with said(self.path, self._busy_s):
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count


def _prepare_retrying(
    db: sqlite3.Connection, path: Path, offset_s: int, busy_timeout_s: float
) -> None:
    """:func:`prepare`, tried again while another voiceguide opening the same new log at the
    same moment holds it. SQLite does not wait for a lock when waiting could deadlock (two
    connections switching a new file to WAL, or both upgrading a read to a write): it says
    "locked" at once, and the whole step must be tried again."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            check_and_migrate(db, path, offset_s)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(_RETRY_S)
