"""Checks across the fields of an exercise: template variables known where each text is
spoken, every phrase speakable and short enough, no field that makes no sense for the
exercise's kind."""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

from voiceguide.routine import templates
from voiceguide.routine.model import Exercise, ExerciseKind
from voiceguide.routine.source import SourceFile
from voiceguide.routine.text import speakable

__all__ = [
    "EXERCISE_TEXT",
    "check_coherent",
    "check_spoken",
    "check_templates",
    "not_applicable",
    "text_fields",
]

EXERCISE_TEXT = (
    "title",
    "intro",
    "caution",
    "setup",
    "side_setup",
    "side_again",
    "round_intro",
    "round_end",
    "round_again",
    "hold_cue",
    "during",
    "after",
    "rest_cue",
    "set_intro",
    "rep_cue",
    "set_end",
    "closing",
)
_MAX_PHRASE_CHARS = 1000  # one paragraph: about a minute of speech


def text_fields(exercise: Exercise) -> Iterator[tuple[str, str]]:
    """Every spoken text of the exercise but its title, with its field."""
    for key in EXERCISE_TEXT:
        if key != "title":
            yield key, getattr(exercise, key)
    for value in exercise.reminders:
        yield "reminders", value


def not_applicable(kind: ExerciseKind) -> set[str]:
    """The fields that make no sense for an exercise of this kind."""
    if kind is ExerciseKind.HOLD:
        return {"reps", "sets", "work_s", "release_s", "set_intro", "rep_cue", "set_end"}
    return {
        "hold_s",
        "rounds",
        "sides",
        "side_setup",
        "side_again",
        "round_intro",
        "round_end",
        "round_again",
        "during",
        "hold_cue",
        "after",
        "switch_s",
    }


def check_templates(src: SourceFile, exercise: Exercise, sides_known: bool) -> set[str]:
    """Every text's template variables are known where it is spoken; returns the fields
    that are wrong (their words cannot be checked further)."""
    bad: set[str] = set()
    for key, value in text_fields(exercise):
        allowed = templates.ALLOWED[key]
        if sides_known and not exercise.sides and key not in ("side_setup", "side_again"):
            allowed -= {"side", "Side", "other_side"}  # there is no side to name
        problem = templates.check(value, allowed)
        if problem is not None and key not in bad:
            bad.add(key)
            src.report(problem, key)
    return bad


def check_spoken(src: SourceFile, value: str, key: str, template: bool) -> None:
    """Every phrase of a spoken text has words in it (not only symbols or markup, which the
    speech engine is never given) and is short enough to synthesize in one go."""
    for number, phrase in enumerate(value.split("\n\n") if value else [], start=1):
        which = f"paragraph {number}" if "\n\n" in value else "the text"
        if len(phrase) > _MAX_PHRASE_CHARS:
            src.report(
                f"{which} is {len(phrase)} characters long; split it with blank lines into "
                f"paragraphs of at most {_MAX_PHRASE_CHARS}",
                key,
            )
            return
        literal = phrase
        if template:  # the variables' values are words or numbers; only the rest is checked
            literal = " ".join(
                f"{part} x" if name is not None else part
                for part, name, _spec, _conv in string.Formatter().parse(phrase)
            )
        if not speakable(literal):
            src.report(
                f"{which} has nothing to speak (no letters or digits once markup is removed)",
                key,
            )
            return


def check_coherent(src: SourceFile, exercise: Exercise, data: dict[str, Any]) -> None:
    """Fields that make no sense for the exercise's kind are mistakes, not silently ignored."""
    for key in sorted(not_applicable(exercise.kind) & data.keys()):
        src.report(f"does not apply to a '{exercise.kind.value}' exercise", key)
    if exercise.kind is ExerciseKind.HOLD and exercise.side_setup and not exercise.sides:
        src.report(
            "is given but the exercise has no sides; add 'sides: [left, right]'", "side_setup"
        )
