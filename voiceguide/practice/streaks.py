"""Practice days, streaks, the calendar and daily targets: arithmetic on recorded moments.

Nothing here reads the clock; "now" is passed in. A session belongs to the local calendar
day on which it started, in the time zone it was done in (each moment carries its UTC
offset), so a session at 23:30 in New York stays on its day when the log is read in Berlin.

Two practice days are consecutive when they are adjacent dates, or when a change of time
zone skipped the date in between: flying from Los Angeles to Tokyo, a session on Monday
evening and the next on Wednesday morning (19 hours apart) keep the streak, because the
second one, seen in the first one's time zone, is on Tuesday. Flying west the date may
repeat or go back: that day counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = [
    "Clock",
    "DayMark",
    "Moment",
    "Streaks",
    "Target",
    "calendar",
    "moment_of",
    "streaks",
    "system_clock",
    "targets",
]

Clock = Callable[[], datetime]
"""The current time as an aware datetime in the local time zone (a fixed one in tests)."""


def system_clock() -> datetime:
    return datetime.now(UTC).astimezone()


@dataclass(frozen=True, order=True)
class Moment:
    """A point in time and the local UTC offset there and then."""

    utc_s: float  # seconds since the epoch
    offset_s: int = 0  # local time = UTC + offset

    @property
    def day(self) -> date:
        """The local date."""
        return self.day_in(self.offset_s)

    def day_in(self, offset_s: int) -> date:
        """The date at this moment in a time zone of ``offset_s``."""
        return datetime.fromtimestamp(self.utc_s + offset_s, UTC).date()

    def local(self) -> datetime:
        """The local date and time, aware."""
        return datetime.fromtimestamp(self.utc_s, timezone(timedelta(seconds=self.offset_s)))


def moment_of(when: datetime) -> Moment:
    """The moment of an aware datetime (a naive one is taken as local time)."""
    aware = when if when.tzinfo is not None else when.astimezone()
    offset = aware.utcoffset()
    return Moment(aware.timestamp(), int(offset.total_seconds()) if offset else 0)


def midnight_utc_s(day: date) -> float:
    """``day``'s local midnight as (UTC seconds + offset): compare with ``utc_s + offset_s``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Streaks:
    current: int  # days in a row up to today (or up to yesterday, while today is still open)
    longest: int
    practised_today: bool
    last_day: date | None  # the last day practised

    def to_json(self) -> dict[str, object]:
        return {
            "current_days": self.current,
            "longest_days": self.longest,
            "practised_today": self.practised_today,
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }


def _follows(last: Moment, last_day: date, moment: Moment, day: date) -> bool:
    """Whether ``moment`` (on ``day``) is on the day after ``last_day``: by the date, or by
    the date in ``last``'s time zone when a change of zone skipped one."""
    after = last_day + timedelta(days=1)
    return day == after or moment.day_in(last.offset_s) <= after


def streaks(moments: Iterable[Moment], now: Moment) -> Streaks:
    """The current and longest run of consecutive practice days among ``moments`` (the
    starts of the sessions that count as practice)."""
    runs: list[tuple[int, date, Moment]] = []  # (days, last day, last moment)
    for moment in sorted(moments):
        day = moment.day
        if runs:
            days, last_day, last = runs[-1]
            if day <= last_day:  # the same day (or a date repeated flying west)
                runs[-1] = (days, last_day, moment)
                continue
            if _follows(last, last_day, moment, day):
                runs[-1] = (days + 1, day, moment)
                continue
        runs.append((1, day, moment))
    if not runs:
        return Streaks(0, 0, False, None)
    longest = max(days for days, _d, _m in runs)
    days, last_day, last = runs[-1]
    today = now.day
    practised_today = today <= last_day
    alive = practised_today or _follows(last, last_day, now, today)
    return Streaks(days if alive else 0, longest, practised_today, last_day)


@dataclass(frozen=True)
class DayMark:
    """What happened on one day of the calendar."""

    day: date
    sessions: int = 0  # sessions started that day
    practised: int = 0  # of which completed at least one exercise
    completed: int = 0  # of which completed the whole routine
    today: bool = False
    future: bool = False

    @property
    def level(self) -> str:
        """ "completed", "practised", "tried" (sessions, nothing completed) or "none"."""
        if self.completed:
            return "completed"
        if self.practised:
            return "practised"
        return "tried" if self.sessions else "none"


def calendar(marks: Mapping[date, DayMark], today: date, weeks: int = 5) -> list[list[DayMark]]:
    """The last ``weeks`` weeks, Monday first, one row per week; the last row holds today
    (its later days are marked ``future``)."""
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    rows = []
    for week in range(weeks):
        row = []
        for weekday in range(7):
            day = monday + timedelta(days=7 * week + weekday)
            mark = marks.get(day, DayMark(day))
            row.append(
                DayMark(
                    day,
                    mark.sessions,
                    mark.practised,
                    mark.completed,
                    today=day == today,
                    future=day > today,
                )
            )
        rows.append(row)
    return rows


def day_marks(sessions: Iterable[tuple[Moment, bool, bool]]) -> dict[date, DayMark]:
    """Per day: (start, practised, completed) of each session, counted."""
    marks: dict[date, DayMark] = {}
    for moment, practised, completed in sessions:
        day = moment.day
        old = marks.get(day, DayMark(day))
        marks[day] = DayMark(
            day, old.sessions + 1, old.practised + practised, old.completed + completed
        )
    return marks


@dataclass(frozen=True)
class Target:
    """How often an exercise should be done a day, and how often it was done today."""

    exercise: str
    title: str
    low: int
    high: int
    done_today: int

    @property
    def met(self) -> bool:
        return self.done_today >= self.low

    @property
    def over(self) -> bool:
        return self.done_today > self.high

    def to_json(self) -> dict[str, object]:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "per_day": [self.low, self.high],
            "done_today": self.done_today,
            "met": self.met,
        }


def targets(
    per_day: Mapping[str, tuple[str, int, int]], done: Iterable[tuple[str, Moment]], today: date
) -> list[Target]:
    """Each exercise's target (``{id: (title, low, high)}``) and how many times it was
    completed today (``done``: (exercise id, the session's start) per completion)."""
    counts: dict[str, int] = {}
    for exercise, moment in done:
        if moment.day == today:
            counts[exercise] = counts.get(exercise, 0) + 1
    return [
        Target(exercise, title, low, high, counts.get(exercise, 0))
        for exercise, (title, low, high) in per_day.items()
    ]
