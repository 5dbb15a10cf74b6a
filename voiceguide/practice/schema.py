"""The practice log's file: where it is, its schema and migrations, and opening it safely.

The file says it is ours (``PRAGMA application_id``) and which version of the schema it
holds (``PRAGMA user_version``); an older one is migrated step by step, in one transaction,
when it is opened. Whatever else the file turns out to be (another program's database, a
damaged file, one made by a newer voiceguide, locked, read-only), :func:`prepare` raises
:class:`~voiceguide.errors.PracticeLogError` with one line saying so, and writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from voiceguide.errors import PracticeLogError
from voiceguide.files import user_folder

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_S",
    "DB_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "check_and_migrate",
    "check_folder",
    "data_dir",
    "log_path",
    "said",
]

DB_NAME = "practice.sqlite3"
APPLICATION_ID = 0x56474C47  # "VGLG"
BUSY_TIMEOUT_S = 5.0

# Each version's steps, in order; a file at version N runs MIGRATIONS[N:]. Never edit a
# released step: add one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: the first log: sessions and their exercises
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            routine TEXT NOT NULL,
            started_utc REAL NOT NULL,
            ended_utc REAL,
            status TEXT NOT NULL,
            completed INTEGER NOT NULL DEFAULT 0,
            position_ms INTEGER NOT NULL DEFAULT 0,
            planned_ms INTEGER NOT NULL DEFAULT 0,
            settings TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE session_exercises (
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            exercise TEXT NOT NULL,
            state TEXT NOT NULL,
            PRIMARY KEY (session_id, position)
        )""",
    ),
    # 2: the time zone of each session (its local day), where it was recorded (a player,
    # or by hand), which player owns an unfinished one, what was heard, titles
    (
        "ALTER TABLE sessions ADD COLUMN utc_offset_s INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN source TEXT NOT NULL DEFAULT 'play'",
        "ALTER TABLE sessions ADD COLUMN title TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN routine_path TEXT",
        "ALTER TABLE sessions ADD COLUMN start_exercise TEXT",
        "ALTER TABLE sessions ADD COLUMN heard_ms INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN updated_utc REAL",
        "ALTER TABLE sessions ADD COLUMN pid INTEGER",
        "ALTER TABLE sessions ADD COLUMN boot_id TEXT",
        "ALTER TABLE session_exercises ADD COLUMN title TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE session_exercises ADD COLUMN heard_ms INTEGER NOT NULL DEFAULT 0",
        # version 1 knew no time zones: its times are read in the zone of the migration
        "UPDATE sessions SET utc_offset_s = :offset_s, title = routine,"
        " updated_utc = COALESCE(ended_utc, started_utc)",
        "UPDATE session_exercises SET title = exercise",
        # v1's unfinished sessions have no owner that could still be playing
        "UPDATE session_exercises SET state = 'stopped' WHERE state = 'playing'",
        "UPDATE session_exercises SET state = 'not_played' WHERE state = 'pending'",
        "UPDATE sessions SET status = 'stopped', ended_utc = updated_utc WHERE status = 'playing'",
        "CREATE INDEX sessions_by_start ON sessions (started_utc)",
    ),
    # 3: pain check-ins (0-10), after a session or on their own; a session has at most one
    (
        """CREATE TABLE pain_scores (
            id INTEGER PRIMARY KEY,
            session_id INTEGER REFERENCES sessions(id) ON DELETE CASCADE,
            at_utc REAL NOT NULL,
            utc_offset_s INTEGER NOT NULL,
            score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
            source TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX pain_scores_of_session ON pain_scores (session_id)"
        " WHERE session_id IS NOT NULL",
        "CREATE INDEX pain_scores_by_time ON pain_scores (at_utc)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def data_dir() -> Path:
    """``$VOICEGUIDE_DATA_DIR``, else the platform's user data folder for voiceguide."""
    return user_folder("data", "VOICEGUIDE_DATA_DIR")


def log_path() -> Path:
    return data_dir() / DB_NAME


def check_folder(path: Path) -> None:
    """Raise PracticeLogError when the log's folder (the data folder) is something else
    than a folder: every command says so alike (reading would find no log, writing fails)."""
    folder = path.parent
    for above in (folder, *folder.parents):
        if os.path.lexists(above):
            if not above.is_dir():
                raise PracticeLogError(
                    f"practice log {path}: {above} is a file, not a folder; it was left as it "
                    "is (move it away, or set VOICEGUIDE_DATA_DIR to use another folder)"
                )
            return


def check_and_migrate(db: sqlite3.Connection, path: Path, offset_s: int) -> None:
    """Check that the file is a practice log (or empty), then set it up and migrate it."""
    db.execute("BEGIN")  # the three read at one moment, whoever else is setting it up
    try:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        objects = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    fresh = application_id == 0 and version == 0 and objects == 0
    if not fresh and application_id != APPLICATION_ID:
        raise PracticeLogError(
            f"practice log {path}: this file is another program's SQLite database, not "
            "voiceguide's log; it was left as it is (move it away, or set "
            "VOICEGUIDE_DATA_DIR to use another folder)"
        )
    if version > SCHEMA_VERSION:
        raise PracticeLogError(
            f"practice log {path}: written by a newer voiceguide (schema {version}, this one "
            f"knows up to {SCHEMA_VERSION}); it was left as it is"
        )
    if not fresh:
        problems = [r[0] for r in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise PracticeLogError(
                f"practice log {path}: the file is damaged ({problems[0]}); it was left as it "
                "is (move it away to start a new log)"
            )
    wal = db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    if not wal and db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
        raise PracticeLogError(f"practice log {path}: cannot switch it to WAL mode")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN IMMEDIATE")  # also proves that the file can be written
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]  # another may have migrated
        for step, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                db.execute(statement, {"offset_s": offset_s} if ":offset_s" in statement else ())
            db.execute(f"PRAGMA user_version = {step}")
        if version == 0:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def said(path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Iterator[None]:
    """SQLite's errors as one line about the log."""
    try:
        yield
    except sqlite3.Error as error:
        reason = _reason(error, path, busy_timeout_s)
        raise PracticeLogError(f"practice log {path}: {reason}") from error


def _unwritable(path: Path) -> str | None:
    """Why the log's folder cannot be written, if it cannot."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return "its disk is mounted read-only"
    except OSError:
        return "its folder cannot be read"
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "no permission to write it"
    return None


def _reason(error: sqlite3.Error, path: Path, busy_timeout_s: float) -> str:
    name = getattr(error, "sqlite_errorname", "") or ""
    if name in ("SQLITE_NOTADB",) or "not a database" in str(error):
        return (
            "the file is not a SQLite database (damaged, or another program's file); it was "
            "left as it is (move it away to start a new log)"
        )
    if "no such table" in str(error) or "no such column" in str(error):
        return (
            "the file is damaged (a part of it is missing: "
            f"{str(error).removeprefix('no such ')}); it was left as it is "
            "(move it away to start a new log)"
        )
    if name.startswith("SQLITE_CORRUPT") or "malformed" in str(error):
        return "the file is damaged; it was left as it is (move it away to start a new log)"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(error):
        return (
            f"locked by another program for more than {busy_timeout_s:g} s; "
            "try again when it is done"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in str(error):
        why = _unwritable(path) or "a read-only file or folder, or no permission"
        return f"cannot write to it ({why}); it was left as it is"
    if name == "SQLITE_FULL":
        return "the disk is full"
    return str(error)
