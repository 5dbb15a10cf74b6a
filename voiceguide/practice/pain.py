"""Pain check-ins: a score from 0 (no pain) to 10, and the trend of the scores by day.

Pure arithmetic on what was entered: averages by day, by week and over two-week windows.
Nothing here reads the scores as good or bad; the chart and the summary show them as given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from voiceguide.errors import SettingsError

__all__ = [
    "MAX_SCORE",
    "PainDay",
    "PainTrend",
    "check_score",
    "pain_trend",
    "parse_score",
]

MAX_SCORE = 10
WINDOW_DAYS = 14  # the summary compares the last two weeks with the two before
CHART_DAYS = 56  # eight weeks, one column a day on 80 columns
_SCORE = re.compile(r"[0-9]{1,2}")  # ASCII digits only (str.isdigit takes other scripts')


def check_score(score: object) -> int:
    """``score`` when it is a whole number from 0 to 10, else a one-line error."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
        raise SettingsError(f"--pain {score!r}: give a whole number from 0 (no pain) to 10")
    return score


def parse_score(raw: str, option: str = "--pain") -> int:
    """A score as typed: ``0`` to ``10``."""
    text = raw.strip()
    if not _SCORE.fullmatch(text) or not 0 <= int(text) <= MAX_SCORE:
        raise SettingsError(f"{option} {raw!r}: give a whole number from 0 (no pain) to 10")
    return int(text)


@dataclass(frozen=True)
class PainDay:
    day: date
    scores: tuple[int, ...]  # as entered that day, in order
    practised: bool  # a session with an exercise completed that day

    @property
    def average(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None


def _count(count: int) -> str:
    return f"{count} score{'s' if count != 1 else ''}"


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


@dataclass(frozen=True)
class PainTrend:
    """The scores by day over the chart's days (oldest first), weekly averages, and the
    averages of the last two weeks and of the two before."""

    days: tuple[PainDay, ...]
    weekly: tuple[tuple[date, float], ...]  # (first day of the week, average) with scores
    recent: float | None
    recent_count: int
    before: float | None
    before_count: int

    @property
    def empty(self) -> bool:
        return not any(d.scores for d in self.days) and self.recent is None and self.before is None

    def summary(self) -> str:
        """ "average 4.2 in the last 2 weeks, 5.6 in the 2 before" (one line)."""
        if self.recent is None and self.before is None:
            return "no scores in the last 4 weeks"
        recent = "none" if self.recent is None else f"{self.recent:.1f}"
        before = "none" if self.before is None else f"{self.before:.1f}"
        return (
            f"average {recent} in the last 2 weeks ({_count(self.recent_count)}), "
            f"{before} in the 2 before ({self.before_count})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "days": [
                {
                    "day": d.day.isoformat(),
                    "scores": list(d.scores),
                    "average": None if d.average is None else round(d.average, 2),
                    "practised": d.practised,
                }
                for d in self.days
            ],
            "weekly": [{"week_of": w.isoformat(), "average": a} for w, a in self.weekly],
            "last_2_weeks": {"average": self.recent, "count": self.recent_count},
            "previous_2_weeks": {"average": self.before, "count": self.before_count},
        }


def pain_trend(
    scores: Sequence[tuple[date, int]],
    practised_days: set[date],
    today: date,
    days: int = CHART_DAYS,
) -> PainTrend:
    """``scores``: (local day, score) in the order entered; the chart ends today."""
    first = today - timedelta(days=days - 1)
    by_day: dict[date, list[int]] = {}
    for day, score in scores:
        by_day.setdefault(day, []).append(score)
    chart = tuple(
        PainDay(d, tuple(by_day.get(d, ())), d in practised_days)
        for d in (first + timedelta(days=i) for i in range(days))
    )
    weeks: dict[date, list[int]] = {}
    for d in chart:
        weeks.setdefault(d.day - timedelta(days=d.day.weekday()), []).extend(d.scores)
    recent = [s for d, s in scores if today - timedelta(days=WINDOW_DAYS) < d <= today]
    before = [
        s
        for d, s in scores
        if today - timedelta(days=2 * WINDOW_DAYS) < d <= today - timedelta(days=WINDOW_DAYS)
    ]
    return PainTrend(
        days=chart,
        weekly=tuple((w, m) for w, v in sorted(weeks.items()) if (m := _mean(v)) is not None),
        recent=_mean(recent),
        recent_count=len(recent),
        before=_mean(before),
        before_count=len(before),
    )
