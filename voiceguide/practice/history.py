"""What ``voiceguide history`` shows, put together from the sessions (pure: "now" is given),
and the log as CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.practice.coverage import ExerciseState
from voiceguide.practice.pain import CHART_DAYS, PainTrend, pain_trend
from voiceguide.practice.records import PainScore, Session
from voiceguide.practice.streaks import (
    DayMark,
    Moment,
    Streaks,
    Target,
    calendar,
    day_marks,
    streaks,
    targets,
)

__all__ = [
    "CSV_COLUMNS",
    "History",
    "build_history",
    "csv_text",
    "parse_day",
    "parse_when",
    "unreadable_warning",
]

LAST_SESSIONS = 10
CALENDAR_WEEKS = 5


@dataclass(frozen=True)
class History:
    path: Path
    today: date
    sessions: tuple[Session, ...]  # the ones asked for, newest first
    total_sessions: int  # how many the filters matched in all
    streaks: Streaks
    calendar: list[list[DayMark]]
    targets: tuple[Target, ...]
    routine: str | None = None
    unreadable: tuple[int, ...] = ()  # ids of sessions whose start cannot be shown
    pain_scores: tuple[PainScore, ...] = ()  # of the routine asked for (else all), oldest first
    pain: PainTrend | None = None

    @property
    def warning(self) -> str | None:
        """One line about the sessions left out, when some were."""
        return unreadable_warning(self.path, self.unreadable)

    def to_json(self) -> dict[str, Any]:
        return {
            "log": str(self.path),
            "today": self.today.isoformat(),
            "routine": self.routine,
            "streak": self.streaks.to_json(),
            "targets": [t.to_json() for t in self.targets],
            "calendar": [
                {
                    "day": m.day.isoformat(),
                    "sessions": m.sessions,
                    "practised": m.practised,
                    "completed": m.completed,
                }
                for row in self.calendar
                for m in row
                if not m.future
            ],
            "sessions": [s.to_json() for s in self.sessions],
            "unreadable_sessions": list(self.unreadable),
            "pain": {
                "scores": [p.to_json() for p in self.pain_scores],
                **(self.pain.to_json() if self.pain is not None else {}),
            },
        }


def unreadable_warning(path: Path, ids: Sequence[int]) -> str | None:
    """One line naming the sessions of the log that could not be shown, or None."""
    if not ids:
        return None
    named = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
    were = "session was" if len(ids) == 1 else "sessions were"
    return (
        f"practice log {path}: {len(ids)} {were} left out (id {named}): the start time "
        "or time zone stored is not one a calendar can show; the log is left as it is"
    )


def build_history(
    path: Path,
    sessions: Sequence[Session],
    now: Moment,
    per_day: Mapping[str, tuple[str, int, int]],
    *,
    since: date | None = None,
    routine: str | None = None,
    last: int = LAST_SESSIONS,
    weeks: int = CALENDAR_WEEKS,
    unreadable: Sequence[int] = (),
    pain: Sequence[PainScore] = (),
    pain_days: int = CHART_DAYS,
) -> History:
    """``sessions``: every session in the log, oldest first; ``per_day``: the daily target of
    each exercise that has one ({id: (title, low, high)}). The streaks and the calendar are
    of the routine asked for (else of all); ``since`` only limits the list. ``pain``: every
    check-in, oldest first; with ``routine``, only those of its sessions are kept."""
    mine = [s for s in sessions if routine is None or s.routine == routine]
    practised = [s.started for s in mine if s.practised]
    listed = [s for s in mine if since is None or s.started.day >= since]
    listed.reverse()
    shown = listed if since is not None else listed[:last]
    marks = day_marks((s.started, s.practised, s.completed) for s in mine)
    done = [
        (e.exercise, s.started)
        for s in sessions
        for e in s.exercises
        if e.state is ExerciseState.COMPLETED
    ]
    if routine is not None:
        ids = {s.id for s in mine}
        pain = [p for p in pain if p.session_id in ids]
    trend = pain_trend(
        [(p.at.day, p.score) for p in pain],
        {s.started.day for s in mine if s.practised},
        now.day,
        pain_days,
    )
    return History(
        path=path,
        today=now.day,
        sessions=tuple(shown),
        total_sessions=len(listed),
        streaks=streaks(practised, now),
        calendar=calendar(marks, now.day, weeks),
        targets=tuple(targets(per_day, done, now.day)),
        routine=routine,
        unreadable=tuple(unreadable),
        pain_scores=tuple(pain),
        pain=trend,
    )


CSV_COLUMNS = (
    "id",
    "day",
    "started",
    "ended",
    "routine",
    "title",
    "source",
    "status",
    "completed",
    "heard_s",
    "planned_s",
    "position_s",
    "exercises",
    "settings",
    "pain",
)


def csv_text(sessions: Sequence[Session], alone: Sequence[PainScore] = ()) -> str:
    """The sessions as CSV, one row each (exercises as ``id:state`` separated by spaces,
    ``pain``: the check-in after it), and the check-ins given on their own (status
    ``score``, no session), in order of time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows: list[tuple[float, list[object]]] = []
    for s in sessions:
        row = s.to_json()
        rows.append(
            (
                s.started.utc_s,
                [
                    row["id"],
                    row["day"],
                    row["started"],
                    row["ended"] or "",
                    s.routine,
                    s.title,
                    s.source,
                    s.status,
                    "yes" if s.completed else "no",
                    row["heard_s"],
                    row["planned_s"],
                    row["position_s"],
                    " ".join(f"{e.exercise}:{e.state.value}" for e in s.exercises),
                    json.dumps(s.settings, sort_keys=True),
                    "" if s.pain is None else s.pain,
                ],
            )
        )
    for p in alone:
        score = p.to_json()
        blank = [""] * (len(CSV_COLUMNS) - 9)
        rows.append(
            (
                p.at.utc_s,
                ["", score["day"], score["at"], "", "", "", p.source, "score", *blank, p.score],
            )
        )
    rows.sort(key=lambda r: r[0])
    writer.writerows(r for _t, r in rows)
    return out.getvalue()


EARLIEST_YEAR = 2000  # a session logged before is a typing mistake
_RELATIVE = re.compile(r"^(\d{1,4})\s*([dw])$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_day(raw: str, today: date, option: str = "--since") -> date:
    """``2026-03-01``, ``today``, ``yesterday``, ``7d`` or ``2w`` (days or weeks ago)."""
    text = raw.strip().lower()
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    match = _RELATIVE.match(text)
    if match:
        count = int(match.group(1))
        return today - timedelta(days=count * (7 if match.group(2) == "w" else 1))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SettingsError(
            f"{option} {raw!r}: give a date such as 2026-03-01, today, yesterday, 7d or 2w"
        ) from None


def parse_when(raw: str, now: datetime, zone: tzinfo | None = None) -> datetime:
    """When a session was done: ``18:30`` (today), ``yesterday 18:30``, ``2026-03-01 18:30``
    or ISO 8601 with a UTC offset. Without an offset it is local time in ``zone`` (None: the
    system's time zone, with its daylight saving rules); never in the future of ``now``."""
    text = " ".join(raw.strip().split())
    words = text.lower().split(" ", 1)
    when: datetime | None = None
    if words[0] in ("today", "yesterday"):
        day = now.astimezone(zone).date() - timedelta(days=words[0] == "yesterday")
        match = _CLOCK.match(words[1]) if len(words) == 2 else None
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            naive = datetime(day.year, day.month, day.day, int(match.group(1)), int(match.group(2)))
            when = _local(naive, zone)
    elif _CLOCK.match(text):
        return parse_when("today " + text, now, zone)
    else:
        try:
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.year < EARLIEST_YEAR:
            raise SettingsError(f"--at {raw!r}: give a day from {EARLIEST_YEAR} on")
        if parsed is not None:
            when = parsed if parsed.tzinfo is not None else _local(parsed, zone)
    if when is None:
        raise SettingsError(
            f"--at {raw!r}: give a time such as 18:30, 'yesterday 18:30' or '2026-03-01 18:30'"
        )
    if when > now + timedelta(minutes=1):
        raise SettingsError(f"--at {raw!r}: that is in the future")
    if when.astimezone(UTC).year < EARLIEST_YEAR:  # an offset can take a day back a year
        raise SettingsError(f"--at {raw!r}: give a day from {EARLIEST_YEAR} on")
    return when


def _local(naive: datetime, zone: tzinfo | None) -> datetime:
    return naive.astimezone() if zone is None else naive.replace(tzinfo=zone)
