"""Streaks, the calendar and daily targets, with the clock fixed (never the wall clock)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from voiceguide.errors import SettingsError
from voiceguide.practice.history import parse_day, parse_when
from voiceguide.practice.streaks import (
    DayMark,
    Moment,
    calendar,
    day_marks,
    moment_of,
    streaks,
    targets,
)

H = 3600


def at(text: str, offset_h: float = 0) -> Moment:
    """A local date and time in a zone of ``offset_h`` hours."""
    zone = timezone(timedelta(hours=offset_h))
    return moment_of(datetime.fromisoformat(text).replace(tzinfo=zone))


def test_a_moment_belongs_to_its_local_day_wherever_it_is_read() -> None:
    late = at("2026-03-02 23:30", -5)  # New York, 04:30 UTC on the 3rd
    assert late.day == date(2026, 3, 2)
    assert late.day_in(1 * H) == date(2026, 3, 3)  # the same moment in Berlin
    assert late.local().isoformat() == "2026-03-02T23:30:00-05:00"


def test_midnight_separates_two_days_to_the_second() -> None:
    before, after = at("2026-03-02 23:59:59"), at("2026-03-03 00:00:00")
    assert (before.day, after.day) == (date(2026, 3, 2), date(2026, 3, 3))
    result = streaks([before, after], now=at("2026-03-03 08:00"))
    assert (result.current, result.longest, result.practised_today) == (2, 2, True)


def test_two_sessions_on_one_day_count_once() -> None:
    days = [at("2026-03-01 07:00"), at("2026-03-01 19:00"), at("2026-03-02 07:00")]
    assert streaks(days, now=at("2026-03-02 20:00")).current == 2


def test_the_current_streak_lives_through_today_until_midnight() -> None:
    days = [at(f"2026-03-0{d} 18:00") for d in (1, 2, 3)]
    open_today = streaks(days, now=at("2026-03-04 23:59:59"))
    assert (open_today.current, open_today.practised_today) == (3, False)
    broken = streaks(days, now=at("2026-03-05 00:00:00"))
    assert (broken.current, broken.longest, broken.last_day) == (0, 3, date(2026, 3, 3))


def test_a_missed_day_starts_a_new_streak_and_the_longest_is_kept() -> None:
    days = [at(f"2026-03-{d:02d} 08:00") for d in (1, 2, 3, 4, 6, 7)]
    result = streaks(days, now=at("2026-03-07 21:00"))
    assert (result.current, result.longest) == (2, 4)


def test_a_late_session_counts_for_the_day_it_started_in_its_own_zone() -> None:
    """23:30 in New York and 07:00 the next morning in Berlin: two days, consecutive."""
    evening_ny = at("2026-03-02 23:30", -5)
    morning_berlin = at("2026-03-03 07:00", 1)  # 3.5 hours later in real time
    result = streaks([evening_ny, morning_berlin], now=at("2026-03-03 12:00", 1))
    assert (result.current, result.practised_today) == (2, True)


def test_flying_east_over_the_date_line_a_skipped_date_does_not_break_the_streak() -> None:
    """Monday 20:00 in Los Angeles, then Wednesday 08:00 in Tokyo (19 hours later): Tuesday
    never happened for this user."""
    monday_la = at("2026-03-02 20:00", -8)
    wednesday_tokyo = at("2026-03-04 08:00", 9)
    assert wednesday_tokyo.utc_s - monday_la.utc_s == 19 * H
    result = streaks([monday_la, wednesday_tokyo], now=at("2026-03-04 10:00", 9))
    assert (result.current, result.longest) == (2, 2)


def test_a_real_missed_day_in_another_zone_still_breaks_the_streak() -> None:
    monday_la = at("2026-03-02 08:00", -8)
    wednesday_tokyo = at("2026-03-04 20:00", 9)  # 43 hours later: Tuesday was lived
    result = streaks([monday_la, wednesday_tokyo], now=at("2026-03-04 21:00", 9))
    assert (result.current, result.longest) == (1, 1)


def test_flying_west_a_repeated_date_counts_once() -> None:
    tokyo = at("2026-03-03 08:00", 9)  # Tuesday morning in Tokyo
    la = at("2026-03-02 20:00", -8)  # Monday evening in LA, 19 hours later
    assert la.utc_s > tokyo.utc_s
    wednesday = at("2026-03-03 18:00", -8)
    result = streaks(
        [at("2026-03-02 07:00", 9), tokyo, la, wednesday], now=at("2026-03-03 19:00", -8)
    )
    assert (result.current, result.practised_today) == (2, True)


def test_a_daylight_saving_change_keeps_days_whole() -> None:
    """Europe/Berlin springs forward on 2026-03-29: 23:30 local on both sides of it."""
    before = at("2026-03-28 23:30", 1)
    after = at("2026-03-29 23:30", 2)
    assert after.utc_s - before.utc_s == 23 * H
    assert (before.day, after.day) == (date(2026, 3, 28), date(2026, 3, 29))
    assert streaks([before, after], now=at("2026-03-30 08:00", 2)).current == 2


def test_no_sessions_no_streak() -> None:
    result = streaks([], now=at("2026-03-01 12:00"))
    assert (result.current, result.longest, result.practised_today, result.last_day) == (
        0,
        0,
        False,
        None,
    )


def test_the_calendar_ends_with_the_week_of_today_monday_first() -> None:
    today = date(2026, 3, 4)  # a Wednesday
    marks = day_marks(
        [
            (at("2026-03-02 08:00"), True, True),
            (at("2026-03-02 19:00"), True, False),
            (at("2026-03-03 08:00"), False, False),
        ]
    )
    rows = calendar(marks, today, weeks=3)
    assert [len(r) for r in rows] == [7, 7, 7]
    assert rows[0][0].day == date(2026, 2, 16) and rows[-1][-1].day == date(2026, 3, 8)
    this_week = rows[-1]
    assert [m.level for m in this_week[:3]] == ["completed", "tried", "none"]
    assert this_week[0].sessions == 2 and this_week[2].today and not this_week[2].future
    assert all(m.future for m in this_week[3:])
    assert DayMark(today).level == "none"


def test_today_target_counts_the_completions_of_the_local_day() -> None:
    per_day = {"adductor-ball-squeeze": ("Adductor ball squeeze", 1, 2)}
    yesterday_late = at("2026-03-03 23:50")
    done = [("adductor-ball-squeeze", yesterday_late)]
    (target,) = targets(per_day, done, date(2026, 3, 4))
    assert (target.done_today, target.met) == (0, False)
    done += [("adductor-ball-squeeze", at("2026-03-04 00:10"))]
    (target,) = targets(per_day, done, date(2026, 3, 4))
    assert (target.done_today, target.met, target.over) == (1, True, False)
    done += [("adductor-ball-squeeze", at("2026-03-04 12:00"))] * 2
    (target,) = targets(per_day, done, date(2026, 3, 4))
    assert (target.done_today, target.met, target.over) == (3, True, True)
    assert target.to_json()["per_day"] == [1, 2]


# ---------------------------------------------------------------- --at and --since

BERLIN = ZoneInfo("Europe/Berlin")


def test_at_takes_a_clock_time_today_or_yesterday_in_the_zone_with_its_dst() -> None:
    now = datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)  # DST began at 02:00 this morning
    assert parse_when("9:15", now, BERLIN).isoformat() == "2026-03-29T09:15:00+02:00"
    assert parse_when("yesterday 18:30", now, BERLIN).isoformat() == "2026-03-28T18:30:00+01:00"
    assert parse_when("2026-03-01 07:00", now, BERLIN).isoformat() == "2026-03-01T07:00:00+01:00"
    assert parse_when("2026-03-01T07:00-05:00", now, BERLIN).utcoffset() == timedelta(hours=-5)


@pytest.mark.parametrize("raw", ["13:00", "tomorrow", "25:00", "yesterday", "2026-13-01", ""])
def test_at_refuses_the_future_and_nonsense(raw: str) -> None:
    now = datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)
    with pytest.raises(SettingsError, match="--at"):
        parse_when(raw, now, BERLIN)


def test_since_takes_a_date_or_days_and_weeks_ago() -> None:
    today = date(2026, 3, 4)
    assert parse_day("2026-02-01", today) == date(2026, 2, 1)
    assert parse_day("7d", today) == date(2026, 2, 25)
    assert parse_day("2w", today) == date(2026, 2, 18)
    assert parse_day("yesterday", today) == date(2026, 3, 3)
    with pytest.raises(SettingsError, match="--before 'soon'"):
        parse_day("soon", today, "--before")
