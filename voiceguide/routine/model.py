"""The routine model: what a routine says, independent of timing and audio.

Everything here is a frozen dataclass; a change returns a new object
(:func:`dataclasses.replace`). Durations carry their unit in the name (``hold_s``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, NamedTuple

__all__ = [
    "FIT_FIELDS",
    "ID_PATTERN",
    "LIMITS",
    "ROUTINE_LIMITS",
    "ROUTINE_SUFFIX",
    "THEN_LIMIT",
    "Exercise",
    "ExerciseKind",
    "FitRange",
    "Guard",
    "Guards",
    "Limit",
    "Routine",
    "Side",
    "Steps",
    "guarded",
    "then_s",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\Z")
"""An exercise id or a routine name: lower-case letters, digits and dashes (no newline)."""

ROUTINE_SUFFIX = ".routine.yaml"  # a routine file: NAME.routine.yaml

Side = Literal["left", "right"]
SIDES: tuple[Side, ...] = ("left", "right")


class ExerciseKind(StrEnum):
    """How an exercise is timed."""

    HOLD = "hold"  # hold a position for hold_s, per side, for a number of rounds
    REPS = "reps"  # repeat a movement reps times at a tempo, for a number of sets


@dataclass(frozen=True)
class Limit:
    """The allowed range of one numeric field (inclusive)."""

    low: float
    high: float
    integer: bool = False


# The allowed range of every numeric field, shared by the loader and the settings.
LIMITS: dict[str, Limit] = {
    "hold_s": Limit(5, 600),
    "rounds": Limit(1, 20, integer=True),
    "reps": Limit(1, 100, integer=True),
    "sets": Limit(1, 20, integer=True),
    "rest_s": Limit(0, 600),
    "work_s": Limit(1, 30),
    "release_s": Limit(0.5, 30),
    "settle_s": Limit(0, 120),
    "switch_s": Limit(0, 120),
}
ROUTINE_LIMITS: dict[str, Limit] = {"chapter_gap_s": Limit(0, 30)}
PER_DAY_LIMIT = Limit(1, 12, integer=True)  # how often a day an exercise may ask to be done
THEN_LIMIT = Limit(0, 60)  # quiet time after a step, to do what it said
FIT_FIELDS = ("hold_s", "rest_s", "rounds", "reps", "sets")  # what --fit may move

Steps = tuple[tuple[str, tuple[float, ...]], ...]
"""Time to do what a phrase said: (field, seconds of quiet after each of its paragraphs),
for the texts written as steps (``- say: Lie on your back.`` / ``then_s: 4``)."""


class Guard(NamedTuple):
    """A step said only when one of the exercise's numbers compares so (``when: sets <= 3``):
    the article's advice said as it is, and never at odds with the settings."""

    name: str  # a number of the exercise: hold_s, rounds, reps, sets, rest_s, ...
    op: str  # <, <=, >, >=, ==, !=
    value: float

    def holds(self, number: float) -> bool:
        return {
            "<": number < self.value,
            "<=": number <= self.value,
            ">": number > self.value,
            ">=": number >= self.value,
            "==": number == self.value,
            "!=": number != self.value,
        }[self.op]


Guards = tuple[tuple[str, tuple[Guard | None, ...]], ...]
"""(field, the guard of each of its paragraphs, None for one always said)."""


def guarded(guards: Guards, field: str) -> tuple[Guard | None, ...]:
    """The guard of each paragraph of ``field`` (() when none has one)."""
    for name, each in guards:
        if name == field:
            return each
    return ()


def then_s(steps: Steps, field: str) -> tuple[float, ...]:
    """The seconds of quiet after each paragraph of ``field`` (() when there are none)."""
    for name, seconds in steps:
        if name == field:
            return seconds
    return ()


class FitRange(NamedTuple):
    """How far ``--fit`` may move one number of an exercise (inclusive)."""

    field: str  # one of FIT_FIELDS
    low: float
    high: float


@dataclass(frozen=True)
class Exercise:
    """One exercise, as its narration script describes it.

    Text fields are spoken; they may use the template variables listed in
    :data:`voiceguide.routine.templates.VARIABLES` (``{side}``, ``{hold_s}``, ...).
    """

    id: str
    title: str
    kind: ExerciseKind
    source: Path
    intro: str = ""  # why the exercise helps; spoken at the start of its chapter
    caution: str = ""  # a safety note from the source, spoken before the set-up (every level)
    setup: str = ""  # how to get into position; spoken once
    sides: tuple[Side, ...] = ()  # () for an exercise done once, not per side
    side_setup: str = ""  # spoken before each side in the first round
    side_again: str = "{Side} side."  # spoken before each side in later rounds
    round_intro: str = "Round {round} of {rounds}."  # spoken before each round (hold, rounds > 1)
    round_end: str = ""  # spoken after each round but the last, before the rest (hold)
    round_again: str = ""  # spoken before each round after the first, after round_intro (hold)
    hold_cue: str = "Hold."  # spoken just before a hold starts
    during: str = ""  # spoken right after a hold starts, in the first round
    reminders: tuple[str, ...] = ()  # coach level: form reminders during every hold
    fit_ranges: tuple[FitRange, ...] = ()  # how far --fit may move each number
    after: str = "Release."  # spoken right after a hold ends
    set_intro: str = "Set {set} of {sets}."  # spoken before each set (reps)
    rep_cue: str = "{rep}"  # spoken at the start of each rep (reps)
    set_end: str = "End of set {set} of {sets}."  # spoken after each set (reps)
    rest_cue: str = "Rest for {rest_s} seconds."  # spoken before a rest
    closing: str = ""  # spoken at the end of the exercise
    needs: tuple[str, ...] = ()  # props: "Have a small soft ball within reach." before set-up
    steps: Steps = ()  # time to do what a phrase said, after it
    guards: Guards = ()  # steps said only when a number compares so (when: sets <= 3)
    hold_s: float = 30.0
    rounds: int = 1
    reps: int = 10
    sets: int = 1
    work_s: float = 3.0  # reps: the effort part of a rep (e.g. squeeze)
    release_s: float = 2.0  # reps: the release part of a rep
    rest_s: float = 10.0  # quiet rest between rounds (hold) or sets (reps)
    settle_s: float = 8.0  # quiet time to get into position after the set-up
    switch_s: float = 8.0  # quiet time to change sides
    per_day: tuple[int, int] | None = None  # how often a day to do it, (fewest, most): history

    @property
    def has_sides(self) -> bool:
        return bool(self.sides)


@dataclass(frozen=True)
class Routine:
    """An ordered list of exercises with an introduction, a safety note and a closing."""

    name: str
    title: str
    source: Path
    exercises: tuple[Exercise, ...]
    intro: str = ""
    safety: str = ""
    closing: str = ""
    author: str = "voiceguide"
    breathing: tuple[str, ...] = ("Keep breathing, slow and easy.",)  # coach level, in holds
    needs: tuple[str, ...] = ()  # what to have ready, said in the introduction
    lexicon: tuple[tuple[str, str], ...] = ()  # word -> how the speech engine should say it
    steps: Steps = ()  # time after phrases of the introduction, safety note and closing
    chapter_gap_s: float = 2.0  # quiet time between chapters

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)
