"""The practice log's pain check-ins: written and read through the open :class:`Store`
(this is its part that knows the ``pain_scores`` table)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path

from voiceguide.errors import PracticeLogError
from voiceguide.practice.pain import check_score
from voiceguide.practice.records import PainScore
from voiceguide.practice.schema import said
from voiceguide.practice.streaks import Moment

__all__ = ["PainLog"]


class PainLog:
    """Check-ins, 0-10, each of one session or on its own (mixed into the Store)."""

    path: Path
    _db: sqlite3.Connection
    _busy_s: float

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def add_pain(
        self, score: int, at: Moment, session_id: int | None = None, source: str = "log"
    ) -> int:
        """A check-in, 0-10: of a session (which keeps at most one: a new one replaces it,
        and the session itself is left as it was) or on its own. Returns its id."""
        check_score(score)
        with self._write() as db:
            if session_id is not None:
                if (
                    db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
                    is None
                ):
                    raise PracticeLogError(
                        f"practice log {self.path}: no session {session_id} to give a score to"
                    )
                db.execute("DELETE FROM pain_scores WHERE session_id = ?", (session_id,))
            cursor = db.execute(
                "INSERT INTO pain_scores (session_id, at_utc, utc_offset_s, score, source)"
                " VALUES (?, ?, ?, ?, ?)",
                (session_id, at.utc_s, at.offset_s, score, source),
            )
            return int(cursor.lastrowid or 0)

    def pain_scores(self) -> list[PainScore]:
        """Every check-in, oldest first."""
        with said(self.path, self._busy_s):
            rows = self._db.execute(
                "SELECT id, at_utc, utc_offset_s, score, session_id, source FROM pain_scores"
                " ORDER BY at_utc, id"
            ).fetchall()
        return [
            PainScore(i, Moment(at, offset), score, sid, src)
            for i, at, offset, score, sid, src in rows
        ]
