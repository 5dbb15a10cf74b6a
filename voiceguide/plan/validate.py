"""``voiceguide validate``: check a routine completely, every problem in every file at once,
and (with none) estimate how long it lasts without synthesizing anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import RoutineError
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.length import too_long
from voiceguide.plan.parsing import DEFAULT_RATE_WPM
from voiceguide.plan.settings import Settings
from voiceguide.routine.library import resolve_routine
from voiceguide.routine.loader import check_routine

__all__ = ["Validation", "estimate_ms", "validate_routine"]

# A stand-in for the speech engine when only an estimate is needed: measured on the bundled
# routine with gmw/en-us at 160 wpm, 67 phrases and 1,001 words last 358 s.
_PHRASE_MS = 300
_WORD_MS_AT_DEFAULT_RATE = 337


@dataclass(frozen=True)
class Validation:
    """Every problem of a routine and its scripts, or (none) how long it lasts."""

    path: Path
    problems: tuple[RoutineError, ...]
    exercises: int = 0
    total_ms: int = 0  # estimated from word counts


def validate_routine(name_or_path: str) -> Validation:
    """Check a routine completely: every problem in every file, not only the first."""
    path = resolve_routine(name_or_path)
    routine, problems = check_routine(path)
    if routine is None:
        # file by file (the routine file first, the scripts in their order), line by line
        files = list(dict.fromkeys(p.path for p in problems))
        problems.sort(key=lambda p: (files.index(p.path), p.line or 1_000_000))
        return Validation(path, tuple(problems))
    try:
        timeline = compile_routine(routine, Settings(), estimate_ms)
    except RoutineError as error:  # a tempo too fast for its count, found when timing it
        return Validation(path, (error,))
    long = too_long(timeline)
    if long is not None:
        return Validation(path, (RoutineError(long, path=path),))
    return Validation(path, (), len(routine.exercises), timeline.total_ms)


def estimate_ms(text: str, rate_wpm: int = DEFAULT_RATE_WPM) -> int:
    """About how long a phrase takes to say, from its words (the compiler's ``measure``
    when nothing is synthesized)."""
    words = max(1, len(text.split()))
    return _PHRASE_MS + words * _WORD_MS_AT_DEFAULT_RATE * DEFAULT_RATE_WPM // rate_wpm
