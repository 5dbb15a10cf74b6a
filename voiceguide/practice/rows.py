"""A stored row read whatever it holds: an old log, another version's, or one edited by hand
may hold any value in any column (SQLite keeps what it is given). Each value is taken for
what it says when it makes sense; a value that does not is replaced by a neutral one; a
session whose start cannot be placed in time cannot be shown at all and is left out (the
caller counts it and says so)."""

from __future__ import annotations

import json
import math
from typing import Any

from voiceguide.practice.coverage import ExerciseState
from voiceguide.practice.records import ExerciseRecord, Session
from voiceguide.practice.streaks import Moment

__all__ = [
    "MAX_OFFSET_S",
    "MAX_UTC_S",
    "MIN_UTC_S",
    "count",
    "exercise_record",
    "number",
    "placeable",
    "session_of",
    "settings_of",
    "text",
]

MIN_UTC_S = 0.0  # 1970-01-01: no session of a log is older
MAX_UTC_S = 253_402_214_400.0  # 9999-12-31 UTC, the last day a date can hold
MAX_OFFSET_S = 18 * 3600  # the widest UTC offset ISO 8601 (and every time zone) has
_MAX_MS = 10**12  # 31 years: more than any session is long
_MAX_JSON_CHARS = 1_000_000
_STATUSES = ("playing", "done", "stopped")


def number(value: object) -> float | None:
    """A finite real number stored as one (or as its text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def count(value: object, high: int = _MAX_MS) -> int:
    """A whole count of ms (or such) between 0 and ``high``; 0 when it is not one."""
    real = number(value)
    return int(real) if real is not None and 0 <= real <= high else 0


def text(value: object, default: str = "") -> str:
    """A text column: text as it is, bytes decoded, a number written out, NULL as default."""
    if value is None:
        return default
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def placeable(utc_s: object, offset_s: object) -> Moment | None:
    """The moment of a start time and UTC offset, when both are ones a calendar can show."""
    when, offset = number(utc_s), number(offset_s)
    if when is None or offset is None or offset != int(offset):
        return None
    if not (MIN_UTC_S <= when <= MAX_UTC_S and abs(offset) <= MAX_OFFSET_S):
        return None
    return Moment(when, int(offset))


def settings_of(value: object) -> dict[str, Any]:
    """The settings a session was played with: a JSON object, else none."""
    if not isinstance(value, str | bytes) or len(value) > _MAX_JSON_CHARS:
        return {}
    try:
        loaded = json.loads(value)
    except (ValueError, RecursionError):  # not JSON; nested past what can be read
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _state(value: object) -> ExerciseState:
    try:
        return ExerciseState(text(value))
    except ValueError:
        return ExerciseState.NOT_PLAYED


def exercise_record(
    exercise: object, title: object, state: object, heard: object
) -> ExerciseRecord:
    name = text(exercise, "?")
    return ExerciseRecord(name, text(title) or name, _state(state), count(heard))


def session_of(row: tuple[Any, ...], exercises: tuple[ExerciseRecord, ...]) -> Session | None:
    """A ``sessions`` row (the columns :meth:`Store.sessions` selects, in order) as a
    session, or None when its start cannot be placed in time."""
    (
        session_id,
        name,
        title,
        source,
        started,
        offset,
        ended,
        updated,
        status,
        completed,
        position,
        heard,
        planned,
        settings,
        routine_path,
        start,
    ) = row
    moment = placeable(started, offset)
    if moment is None:
        return None
    end = number(ended if ended is not None else updated)
    if end is not None and not moment.utc_s <= end <= MAX_UTC_S:
        end = None
    routine = text(name, "?")
    return Session(
        session_id,
        routine,
        text(title) or routine,
        text(source, "play"),
        moment,
        end,
        status if (status := text(status)) in _STATUSES else "stopped",
        number(completed) not in (None, 0.0),
        count(position),
        count(heard),
        count(planned),
        settings_of(settings),
        exercises,
        text(routine_path) if routine_path is not None else None,
        text(start) if start is not None else None,
    )
