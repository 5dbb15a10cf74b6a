"""Pain check-ins: stored in the log (and the migration that adds them), given by hand with
``log --pain``, shown by ``history`` (chart, summary, JSON, CSV) and forgotten."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from tests.helpers.cli import run
from voiceguide.cli.pain_chart import pain_lines
from voiceguide.errors import SettingsError
from voiceguide.practice import (
    Moment,
    NewSession,
    Store,
    check_score,
    log_path,
    pain_trend,
    parse_score,
)
from voiceguide.practice.schema import SCHEMA_VERSION

DATA = Path(__file__).parents[1] / "data"
T0 = 1_772_348_400.0  # 2026-03-01 07:00 UTC


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def new(at: float = T0, routine: str = "outer-hip") -> NewSession:
    return NewSession(routine, "Outer hip", Moment(at, 3600), 840_000, {}, (("a", "A"),))


# ---------------------------------------------------------------- the log


def test_todays_log_is_migrated_keeping_every_session_and_takes_scores(tmp_path: Path) -> None:
    path = tmp_path / "practice.sqlite3"
    old = sqlite3.connect(path)
    old.executescript((DATA / "practice-v2.sql").read_text())
    old.close()
    before = sqlite3.connect(path).execute("SELECT * FROM sessions ORDER BY id").fetchall()
    with Store.open(path) as store:
        first, second = store.sessions()
        assert (first.pain, second.pain) == (None, None) and store.pain_scores() == []
        assert (first.routine, second.routine, second.source) == ("outer-hip", "desk-break", "log")
        store.add_pain(4, Moment(T0 + 900, 3600), first.id, "play")
        store.add_pain(2, Moment(T0 + 2 * 86400, 3600))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    # a score never changes a session
    assert db.execute("SELECT * FROM sessions ORDER BY id").fetchall() == before
    with Store.open(path) as store:  # opening again changes nothing
        assert [s.pain for s in store.sessions()] == [4, None]
        assert [(p.score, p.session_id, p.source) for p in store.pain_scores()] == [
            (4, 1, "play"),
            (2, None, "log"),
        ]


def test_a_session_keeps_one_score_and_bad_scores_are_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "log.sqlite3") as store:
        sid = store.begin(new())
        store.add_pain(7, Moment(T0 + 900), sid, "play")
        store.add_pain(6, Moment(T0 + 960), sid, "page")  # changed on the page: replaces it
        assert [(p.score, p.source) for p in store.pain_scores()] == [(6, "page")]
        for bad in (11, -1, 3.5, True, "3"):
            with pytest.raises(SettingsError, match=r"0 \(no pain\) to 10"):
                store.add_pain(bad, Moment(T0), sid)  # type: ignore[arg-type]
        (session,) = store.sessions()
        assert session.pain == 6 and session.to_json()["pain"] == 6


def test_forget_forgets_scores_too(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    with Store.open(path) as store:
        old = store.begin(new(T0, "secret-routine"))
        store.add_pain(9, Moment(T0 + 900), old, "play")
        store.add_pain(8, Moment(T0 + 3600))  # alone, same day
        kept = store.begin(new(T0 + 5 * 86400))
        store.add_pain(3, Moment(T0 + 5 * 86400 + 900), kept)
        store.add_pain(1, Moment(T0 + 6 * 86400))
        assert store.forget(before=Moment(T0 + 86400, 3600).day) == 1
        assert [p.score for p in store.pain_scores()] == [3, 1]
        assert store.forget() == 1 and store.pain_scores() == []


def test_scores_are_parsed_as_whole_numbers_from_0_to_10() -> None:
    assert [parse_score(s) for s in ("0", " 7 ", "10")] == [0, 7, 10]
    assert check_score(5) == 5
    for bad in ("11", "-1", "x", "", "3.5", "1e1", "٣"):
        with pytest.raises(SettingsError):
            parse_score(bad)


# ---------------------------------------------------------------- the trend


def test_the_trend_averages_by_day_by_week_and_by_two_weeks() -> None:
    today = date(2026, 3, 29)  # a Sunday
    scores = [
        (today, 4),
        (today, 2),  # two the same day: averaged
        (today - timedelta(days=13), 6),  # the first day of the last two weeks
        (today - timedelta(days=14), 8),  # the last day of the two before
        (today - timedelta(days=27), 5),
        (today - timedelta(days=28), 10),  # older: in no window
    ]
    trend = pain_trend(scores, {today}, today)
    assert (trend.recent, trend.recent_count, trend.before, trend.before_count) == (4.0, 3, 6.5, 2)
    assert trend.summary() == "average 4.0 in the last 2 weeks (3 scores), 6.5 in the 2 before (2)"
    assert len(trend.days) == 56 and trend.days[-1].day == today
    assert (
        trend.days[-1].scores == (4, 2) and trend.days[-1].average == 3 and trend.days[-1].practised
    )
    assert trend.weekly[-1] == (date(2026, 3, 23), 3.0)
    assert pain_trend([], set(), today).summary() == "no scores in the last 4 weeks"
    only_old = pain_trend([(today - timedelta(days=20), 3)], set(), today)
    assert (
        only_old.summary() == "average none in the last 2 weeks (0 scores), 3.0 in the 2 before (1)"
    )


def _chart(encoding: str, color: bool) -> tuple[list[str], str]:
    today = date(2026, 3, 29)
    trend = pain_trend(
        [(today - timedelta(days=d), s) for d, s in ((0, 3), (1, 0), (2, 10), (9, 7))],
        {today, today - timedelta(days=2)},
        today,
    )
    terminal = io.TextIOWrapper(io.BytesIO(), encoding=encoding)  # rich reads its encoding
    console = Console(
        width=80, file=terminal, force_terminal=color, color_system="standard" if color else None
    )
    with console.capture() as captured:
        for line in pain_lines(trend, console):
            console.print(line, no_wrap=True, overflow="crop")
    plain = [line.plain for line in pain_lines(trend, console)]
    return plain, captured.get()


def test_the_terminal_chart_reads_on_80_columns_in_colour_or_plain() -> None:
    lines, coloured = _chart("utf-8", color=True)
    assert max(len(line) for line in lines) <= 80
    rows = {line[:2].strip(): line[4:] for line in lines[1:7]}
    # one column a day, the last 56 days; today (3) is the last column
    assert rows["2"][-1] == "█" and rows["4"][-1] == "▄" and rows["6"][-1] == " "
    assert rows["0"][-2] == "0"  # yesterday's 0, on the axis
    assert all(rows[str(n)][-3] == "█" for n in (2, 4, 6, 8, 10))  # the 10
    assert rows["8"][-10] == "▄" and rows["6"][-10] == "█"  # the 7
    assert "\x1b[" in coloured
    assert lines[-1] == "Pain: average 5.0 in the last 2 weeks (4 scores), none in the 2 before (0)"
    _lines, uncoloured = _chart("ascii", color=False)
    assert "\x1b[" not in uncoloured and all(c.isascii() for c in uncoloured)
    assert "#" in uncoloured and "+" in uncoloured


# ---------------------------------------------------------------- the commands


def test_log_pain_alone_and_with_a_session_then_history_shows_them(tmp_path: Path) -> None:
    alone = run("log", "--pain", "3")
    assert alone.returncode == 0 and alone.stdout.startswith("Noted: 3 on "), alone.stderr
    assert "with no session" in alone.stdout
    logged = run("log", "outer-hip", "--pain", "6", "--at", "yesterday 18:00")
    assert logged.returncode == 0 and ", pain 6, in " in logged.stdout, logged.stderr
    shown = run("history")
    assert shown.returncode == 0, shown.stderr
    assert "Back pain as entered, 0 (no pain) to 10, by day:" in shown.stdout
    assert "Pain: average 4.5 in the last 2 weeks (2 scores)" in shown.stdout
    data = json.loads(run("history", "--json").stdout)
    assert [(p["score"], p["session"] is None) for p in data["pain"]["scores"]] == [
        (6, False),
        (3, True),
    ]
    assert data["sessions"][0]["pain"] == 6
    assert data["pain"]["last_2_weeks"] == {"average": 4.5, "count": 2}
    assert [d["scores"] for d in data["pain"]["days"][-2:]] == [[6], [3]]
    out = tmp_path / "log.csv"
    assert run("history", "--export", str(out)).returncode == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["routine"], r["status"], r["pain"]) for r in rows] == [
        ("outer-hip", "done", "6"),
        ("", "score", "3"),
    ]
    forgot = run("history", "--forget", "--yes")
    assert forgot.returncode == 0
    assert json.loads(run("history", "--json").stdout)["pain"]["scores"] == []
    raw = b"".join(p.read_bytes() for p in log_path().parent.glob("practice.sqlite3*"))
    assert b"outer-hip" not in raw


@pytest.mark.parametrize("raw", ["11", "-1", "x", "3.5", ""])
def test_a_bad_score_is_one_line_exit_2_and_writes_nothing(raw: str) -> None:
    result = run("log", "--pain", raw)
    assert result.returncode == 2 and "--pain" in one_line(result)
    result = run("log", "outer-hip", "--pain", raw)
    assert result.returncode == 2 and "--pain" in one_line(result)
    assert not log_path().exists()


def test_a_score_at_a_time_given_is_on_that_day() -> None:
    result = run("log", "--pain", "2", "--at", "yesterday 07:30", "--json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    yesterday = (datetime.now(UTC).astimezone() - timedelta(days=1)).date().isoformat()
    assert entry["day"] == yesterday and entry["score"] == 2 and entry["session"] is None
    assert run("log", "--pain", "2", "--at", "tomorrow").returncode == 2
