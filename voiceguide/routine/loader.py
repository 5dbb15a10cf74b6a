"""Load routines and narration scripts from plain YAML files, checking every field.

A routine file (``NAME.routine.yaml``) orders exercises and holds the introduction, the
safety note and the closing; each exercise is a narration script (``ID.yaml``) in the
same folder. Every problem is a :class:`~voiceguide.errors.RoutineError` naming the file,
the exercise and the field (and the line, when the YAML says where).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from voiceguide.errors import RoutineError
from voiceguide.routine import fields, steps, templates
from voiceguide.routine.checks import (
    EXERCISE_TEXT,
    check_coherent,
    check_spoken,
    check_templates,
    not_applicable,
    text_fields,
)
from voiceguide.routine.model import (
    FIT_FIELDS,
    ID_PATTERN,
    LIMITS,
    ROUTINE_LIMITS,
    ROUTINE_SUFFIX,
    Exercise,
    ExerciseKind,
    FitRange,
    Routine,
)
from voiceguide.routine.source import Problems, SourceFile, field_name, read_source, shown
from voiceguide.routine.text import did_you_mean

__all__ = ["check_routine", "load_exercise", "load_routine"]

_EXERCISE_NUMBERS = tuple(LIMITS)
_EXERCISE_KEYS = frozenset(
    {
        "id",
        "kind",
        "sides",
        "reminders",
        "fit",
        "per_day",
        "needs",
        *EXERCISE_TEXT,
        *_EXERCISE_NUMBERS,
    }
)
_ROUTINE_KEYS = frozenset(
    {
        "title",
        "author",
        "intro",
        "safety",
        "closing",
        "exercises",
        "chapter_gap_s",
        "breathing",
        "needs",
        "lexicon",
    }
)
# Texts that may be written as steps with time after them: not those said inside a hold or
# a rep, whose timing is fixed.
_STEP_TEXT = frozenset(EXERCISE_TEXT) - {"title", "hold_cue", "during", "rep_cue"}
_ROUTINE_STEP_TEXT = frozenset({"intro", "safety", "closing"})
_ROUTINE_ENTRY_KEYS = frozenset({"id", *_EXERCISE_NUMBERS})


def load_routine(path: Path) -> Routine:
    """Load and check a routine file and every narration script it names; the first
    problem is raised."""
    routine = _routine(path, Problems(collect=False))
    assert routine is not None  # any problem was raised
    return routine


def load_exercise(path: Path, expected_id: str | None = None) -> Exercise:
    """Load and check one narration script; the first problem is raised."""
    exercise = _exercise(path, expected_id, Problems(collect=False))
    assert exercise is not None  # any problem was raised
    return exercise


def check_routine(path: Path) -> tuple[Routine | None, list[RoutineError]]:
    """Check a routine file and its narration scripts completely: every problem, in the
    order loading meets them (the first is the one :func:`load_routine` raises), and the
    routine when there is none."""
    problems = Problems(collect=True)
    routine = _routine(path, problems)
    return (None if problems.found else routine), problems.found


def _routine(path: Path, problems: Problems) -> Routine | None:
    src = read_source(path, problems)
    if src is None:
        return None
    if isinstance(src.data, dict) and "kind" in src.data and "exercises" not in src.data:
        src.report(
            "this is an exercise script, not a routine (use it from a routine's exercises list)"
        )
        return None
    fields.reject_unknown(src, _ROUTINE_KEYS)
    data, routine_steps, _none = steps.steps_of(src, _ROUTINE_STEP_TEXT)
    src = dataclasses.replace(src, data=data)
    entries = data.get("exercises")
    if not isinstance(entries, list) or not entries:
        src.report("must be a non-empty list of exercise ids", "exercises")
        entries = []
    exercises: list[Exercise] = []
    seen: set[str] = set()
    folder = _resolved(path.parent)
    for index, entry in enumerate(entries, start=1):
        parsed = _routine_entry(src, entry, index)
        if parsed is None:
            continue
        exercise_id, overrides = parsed
        line = src.item_line("exercises", index - 1)
        if exercise_id in seen:
            src.report(f"exercise '{exercise_id}' is listed twice", "exercises", line=line)
            continue
        seen.add(exercise_id)
        script = path.parent / f"{exercise_id}.yaml"
        entry_src = src.about(exercise_id)
        if not script.is_file():
            entry_src.report(
                f"no narration script {script.name} next to the routine", "exercises", line=line
            )
            continue
        if folder is None or _resolved(script, inside=folder) is None:
            entry_src.report(
                f"{script.name} leads outside the routine's folder (a link); narration "
                "scripts are read only from inside it: copy the file there instead",
                "exercises",
                line=line,
            )
            continue
        exercise = _exercise(script, exercise_id, problems)
        if exercise is None:  # unreadable, or of no known kind: nothing more to check
            continue
        if overrides:
            wrong = sorted(not_applicable(exercise.kind) & overrides.keys())
            for key in wrong:
                entry_src.report(
                    f"does not apply to '{exercise_id}', a '{exercise.kind.value}' exercise",
                    key,
                    line=line,
                )
            numbers = {k: v for k, v in overrides.items() if k not in wrong}
            exercise = _apply_numbers(entry_src, exercise, numbers, "exercises")
        exercises.append(exercise)
    name = path.name.removesuffix(ROUTINE_SUFFIX).removesuffix(".yaml").removesuffix(".yml")
    values: dict[str, Any] = {}
    for key in ("title", "author", "intro", "safety", "closing"):
        value = fields.text(src, key, required=(key == "title"))
        if value is not None:
            values[key] = value
    if not values.get("author"):
        values["author"] = "voiceguide"
    for key in ("title", "intro", "safety", "closing"):
        if key in values:
            check_spoken(src, values[key], key, template=False)
    values.setdefault("title", name)
    if "breathing" in data:
        breathing = fields.text_list(src, "breathing")
        for value in breathing or ():
            problem = templates.check(value, templates.ALLOWED["breathing"])
            if problem is not None:
                src.report(problem, "breathing")
            else:
                check_spoken(src, value, "breathing", template=True)
        if breathing is not None:
            values["breathing"] = breathing
    if "needs" in data:
        values["needs"] = _needs(src)
    if "lexicon" in data:
        values["lexicon"] = steps.lexicon(src) or ()
    gap_s = fields.number(
        src, data.get("chapter_gap_s", 2.0), ROUTINE_LIMITS["chapter_gap_s"], "chapter_gap_s"
    )
    return Routine(
        name=name,
        source=path,
        exercises=tuple(exercises),
        chapter_gap_s=2.0 if gap_s is None else gap_s,
        steps=routine_steps,
        **values,
    )


def _exercise(path: Path, expected_id: str | None, problems: Problems) -> Exercise | None:
    """One narration script; None when it cannot be read or its kind is unknown (the rest
    of it is still checked)."""
    src = read_source(path, problems, exercise=expected_id or path.stem)
    if src is None:
        return None
    data = src.data
    exercise_id = data.get("id", path.stem)
    if not isinstance(exercise_id, str) or not ID_PATTERN.match(exercise_id):
        src.report(
            f"must be lower-case letters, digits and dashes (at most 64), got {shown(exercise_id)}",
            "id",
        )
        exercise_id = expected_id or path.stem
    elif expected_id is not None and exercise_id != expected_id:
        src.report(
            f"is '{exercise_id}' but the routine and the file name say '{expected_id}'", "id"
        )
        exercise_id = expected_id
    src = src.about(exercise_id)
    fields.reject_unknown(src, _EXERCISE_KEYS)
    data, exercise_steps, exercise_guards = steps.steps_of(src, _STEP_TEXT, guards=True)
    src = dataclasses.replace(src, data=data)

    kind_value = data.get("kind", "hold")
    try:
        kind: ExerciseKind | None = ExerciseKind(kind_value)
    except ValueError:
        kind = None
        src.report(f"must be 'hold' or 'reps', got {shown(kind_value)}", "kind")

    sides = fields.sides(src, data.get("sides", []))
    kwargs: dict[str, Any] = {}
    for key in EXERCISE_TEXT:
        if key in data or key == "title":
            value = fields.text(src, key, required=True)
            if value is not None:
                kwargs[key] = value
    kwargs.setdefault("title", exercise_id)
    if "reminders" in data:
        reminders = fields.text_list(src, "reminders")
        if reminders is not None:
            kwargs["reminders"] = reminders
    if "needs" in data:
        kwargs["needs"] = _needs(src)
    if "fit" in data and kind is not None:
        fit_ranges = _fit_ranges(src, data["fit"], kind)
        if fit_ranges is not None:
            kwargs["fit_ranges"] = fit_ranges
    if "per_day" in data:
        kwargs["per_day"] = fields.per_day(src, data["per_day"])
    exercise = Exercise(
        id=exercise_id,
        kind=kind or ExerciseKind.HOLD,
        source=path,
        sides=sides or (),
        steps=exercise_steps,
        guards=exercise_guards,
        **kwargs,
    )
    numbers = {key: data[key] for key in _EXERCISE_NUMBERS if key in data}
    exercise = _apply_numbers(src, exercise, numbers)
    bad = check_templates(src, exercise, sides is not None)
    if "title" in data:
        check_spoken(src, exercise.title, "title", template=False)
    for key, value in text_fields(exercise):
        if key not in bad:
            check_spoken(src, value, key, template=True)
    if kind is None:
        return None
    check_coherent(src, exercise, data)
    return exercise


def _resolved(path: Path, inside: Path | None = None) -> Path | None:
    """``path`` with every link followed; None when that fails, or when it is not inside
    the folder ``inside``."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a loop of links, a name too long...
        return None
    return real if inside is None or real.is_relative_to(inside) else None


def _apply_numbers(
    src: SourceFile, exercise: Exercise, numbers: dict[str, Any], line_key: str | None = None
) -> Exercise:
    checked: dict[str, Any] = {}
    for key, value in numbers.items():
        number = fields.number(src, value, LIMITS[key], key, line_key)
        if number is not None:
            checked[key] = number
    return dataclasses.replace(exercise, **checked)


def _routine_entry(src: SourceFile, entry: Any, index: int) -> tuple[str, dict[str, Any]] | None:
    """An entry of the routine's ``exercises``: an id, or a mapping of an id and numbers."""
    line = src.item_line("exercises", index - 1)
    if isinstance(entry, str):
        entry = {"id": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        src.report(
            f"entry {index} must be an exercise id, or a mapping with 'id' and numbers "
            "such as hold_s",
            "exercises",
            line=line,
        )
        return None
    exercise_id = entry["id"]
    if not ID_PATTERN.match(exercise_id):
        src.report(
            f"entry {index}: {shown(exercise_id)} is not an exercise id "
            "(lower-case letters, digits and dashes)",
            "exercises",
            line=line,
        )
        return None
    overrides: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in _ROUTINE_ENTRY_KEYS:
            src.report(
                f"unknown field{did_you_mean(str(key), _ROUTINE_ENTRY_KEYS)}",
                field_name(str(key)),
                line=line,
                exercise=exercise_id,
            )
        elif key != "id":
            overrides[key] = value
    return exercise_id, overrides


def _needs(src: SourceFile) -> tuple[str, ...]:
    """``needs: [a small soft ball]``: what to have ready (said, so checked as speech)."""
    needs = fields.text_list(src, "needs") or ()
    for value in needs:
        check_spoken(src, value, "needs", template=False)
    return needs


def _fit_ranges(src: SourceFile, value: Any, kind: ExerciseKind) -> tuple[FitRange, ...] | None:
    """``fit: {hold_s: [20, 45], rounds: [1, 3]}``: how far --fit may move each number."""
    if not isinstance(value, dict):
        src.report(
            f"must map some of {', '.join(FIT_FIELDS)} to [fewest, most], "
            "e.g. {hold_s: [20, 45]}",
            "fit",
        )
        return None
    ranges = []
    for key, pair in value.items():
        where = f"fit.{key}"
        if key not in FIT_FIELDS:
            src.report(
                f"unknown field{did_you_mean(str(key), frozenset(FIT_FIELDS))}",
                field_name(where),
                line_key="fit",
            )
            continue
        if key in not_applicable(kind):
            src.report(f"does not apply to a '{kind.value}' exercise", where, line_key="fit")
            continue
        if not isinstance(pair, list) or len(pair) != 2:
            src.report(f"must be [shortest, longest], got {shown(pair)}", where, line_key="fit")
            continue
        low, high = (fields.number(src, v, LIMITS[key], where, line_key="fit") for v in pair)
        if low is None or high is None:
            continue
        if low > high:
            src.report(
                f"the shortest ({low:g}) is longer than the longest ({high:g})",
                where,
                line_key="fit",
            )
            continue
        ranges.append(FitRange(key, float(low), float(high)))
    return tuple(ranges)
