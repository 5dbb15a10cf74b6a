"""The practice log: every session played (or done elsewhere and logged by hand), kept in
one SQLite file in the user's data folder, and what ``voiceguide history`` shows from it:
the last sessions, streaks of days, a calendar, each exercise's daily target and the
pain check-ins' trend.

:class:`Recorder` writes a session as it plays (its own thread, never holding up the
player), :class:`Store` is the file, :mod:`.streaks` the pure day arithmetic (the clock
passed in), :func:`build_history` puts a history together.
"""

from voiceguide.practice.coverage import ExerciseState, Outline, Part, Tracker
from voiceguide.practice.history import (
    History,
    build_history,
    csv_text,
    parse_day,
    parse_when,
    unreadable_warning,
)
from voiceguide.practice.pain import PainDay, PainTrend, check_score, pain_trend, parse_score
from voiceguide.practice.recorder import SessionInfo, SessionRecorder
from voiceguide.practice.records import ExerciseRecord, NewSession, PainScore, Session
from voiceguide.practice.schema import DB_NAME, SCHEMA_VERSION, check_folder, data_dir, log_path
from voiceguide.practice.store import Store
from voiceguide.practice.streaks import (
    Clock,
    DayMark,
    Moment,
    Streaks,
    Target,
    moment_of,
    system_clock,
)

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "Clock",
    "DayMark",
    "ExerciseRecord",
    "ExerciseState",
    "History",
    "Moment",
    "NewSession",
    "Outline",
    "PainDay",
    "PainScore",
    "PainTrend",
    "Part",
    "Session",
    "SessionInfo",
    "SessionRecorder",
    "Store",
    "Streaks",
    "Target",
    "Tracker",
    "build_history",
    "check_folder",
    "check_score",
    "csv_text",
    "data_dir",
    "log_path",
    "moment_of",
    "pain_trend",
    "parse_day",
    "parse_score",
    "parse_when",
    "system_clock",
    "unreadable_warning",
]
