"""What history shows, from sessions in a real log, at a fixed "now"."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from voiceguide.practice.coverage import ExerciseState
from voiceguide.practice.history import CSV_COLUMNS, build_history, csv_text
from voiceguide.practice.store import NewSession, Store
from voiceguide.practice.streaks import Moment, moment_of

E = ExerciseState
ZONE = timezone(timedelta(hours=1))
SQUEEZE = {"squeeze": ("Ball squeeze", 1, 2)}


def at(text: str) -> Moment:
    return moment_of(datetime.fromisoformat(text).replace(tzinfo=ZONE))


def add(store: Store, when: str, states: list[E], routine: str = "hips") -> None:
    new = NewSession(
        routine,
        routine.title(),
        at(when),
        600_000,
        {"voice": "v"},
        (("stretch", "Stretch"), ("squeeze", "Ball squeeze")),
    )
    sid = store.begin(new)
    done = all(s is E.COMPLETED for s in states)
    stopped = any(s is E.STOPPED for s in states)
    store.update(
        sid,
        new.started.utc_s + 600,
        600_000 if done else 200_000,
        0,
        [(s, 0) for s in states],
        status="stopped" if stopped else "done",
        completed=done,
    )


def test_history_lists_streaks_calendar_and_todays_target(tmp_path: Path) -> None:
    with Store.open(tmp_path / "log.sqlite3") as store:
        add(store, "2026-03-01 07:00", [E.COMPLETED, E.COMPLETED])
        add(store, "2026-03-02 07:00", [E.COMPLETED, E.SKIPPED])
        add(store, "2026-03-03 07:00", [E.STOPPED, E.NOT_PLAYED])  # nothing completed
        add(store, "2026-03-04 07:00", [E.COMPLETED, E.COMPLETED])
        add(store, "2026-03-05 07:00", [E.NOT_PLAYED, E.COMPLETED], routine="squeeze-only")
        sessions = store.sessions()
    now = at("2026-03-05 21:00")
    history = build_history(tmp_path, sessions, now, SQUEEZE, last=3)
    assert [s.started.day.day for s in history.sessions] == [5, 4, 3]  # newest first
    assert history.total_sessions == 5
    assert (history.streaks.current, history.streaks.longest) == (2, 2)  # the 3rd: nothing
    (target,) = history.targets
    assert (target.done_today, target.met) == (1, True)
    week = history.calendar[-1]  # Mon 2 Mar .. Sun 8 Mar
    assert [m.level for m in week[:4]] == ["practised", "tried", "completed", "practised"]
    assert week[3].today and week[4].future
    only = build_history(tmp_path, sessions, now, SQUEEZE, routine="hips", since=date(2026, 3, 2))
    assert [s.started.day.day for s in only.sessions] == [4, 3, 2]
    assert only.streaks.current == 1 and not only.streaks.practised_today
    data = only.to_json()
    assert data["streak"]["current_days"] == 1 and data["sessions"][0]["day"] == "2026-03-04"
    assert data["targets"][0]["per_day"] == [1, 2]


def test_the_csv_has_a_row_per_session(tmp_path: Path) -> None:
    with Store.open(tmp_path / "log.sqlite3") as store:
        add(store, "2026-03-01 07:00", [E.COMPLETED, E.SKIPPED])
        add(store, "2026-03-02 23:30", [E.COMPLETED, E.COMPLETED], routine='with "quotes", commas')
        sessions = store.sessions()
    rows = list(csv.DictReader(io.StringIO(csv_text(sessions))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["exercises"] == "stretch:completed squeeze:skipped"
    assert rows[1]["routine"] == 'with "quotes", commas' and rows[1]["completed"] == "yes"
    assert rows[1]["started"] == "2026-03-02T23:30:00+01:00" and rows[1]["day"] == "2026-03-02"
