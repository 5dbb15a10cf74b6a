"""Load routines and narration scripts from plain YAML files, checking every field.

A routine file (``NAME.routine.yaml``) orders exercises and holds the introduction, the
safety note and the closing; each exercise is a narration script (``ID.yaml``) in the
same folder. Every problem is a :class:`~voiceguide.errors.RoutineError` naming the file,
the exercise and the field (and the line, when the YAML says where).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import re
import reprlib
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from voiceguide.errors import RoutineError
from voiceguide.routine import templates
from voiceguide.routine.model import (
    LIMITS,
    ROUTINE_LIMITS,
    SIDES,
    Exercise,
    ExerciseKind,
    Limit,
    Routine,
    Side,
)
from voiceguide.speech.cache import speakable

__all__ = [
    "DEFAULT_ROUTINE",
    "ROUTINE_SUFFIX",
    "bundled_dir",
    "bundled_routines",
    "check_routine",
    "load_exercise",
    "load_routine",
    "resolve_routine",
    "user_routines",
    "user_routines_dir",
]

DEFAULT_ROUTINE = "outer-hip"
ROUTINE_SUFFIX = ".routine.yaml"
_MAX_FILE_BYTES = 256 * 1024
_MAX_PHRASE_CHARS = 1000  # one paragraph: about a minute of speech
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

_EXERCISE_TEXT = (
    "title", "intro", "caution", "setup", "side_setup", "side_again", "round_intro",
    "hold_cue", "during", "after", "rest_cue", "set_intro", "rep_cue", "set_end", "closing",
)  # fmt: skip
_EXERCISE_NUMBERS = tuple(LIMITS)
_EXERCISE_KEYS = frozenset(
    {"id", "kind", "sides", "reminders", "fit", *_EXERCISE_TEXT, *_EXERCISE_NUMBERS}
)
_FIT_FIELDS = ("hold_s", "rest_s")
_ROUTINE_KEYS = frozenset(
    {"title", "author", "intro", "safety", "closing", "exercises", "chapter_gap_s", "breathing"}
)
_ROUTINE_ENTRY_KEYS = frozenset({"id", *_EXERCISE_NUMBERS})


def bundled_dir() -> Path:
    """The folder holding the bundled routines.

    In an installed wheel the top-level ``scripts/`` folder is package data at
    ``voiceguide/scripts``; in a git checkout (or an editable install) it is ``scripts/``.
    """
    package = Path(__file__).resolve().parent.parent
    packaged = package / "scripts"
    if any(packaged.glob("*" + ROUTINE_SUFFIX)):
        return packaged
    return package.parent / "scripts"


def bundled_routines() -> list[str]:
    """Names of the bundled routines, sorted."""
    return sorted(
        p.name.removesuffix(ROUTINE_SUFFIX) for p in bundled_dir().glob("*" + ROUTINE_SUFFIX)
    )


def user_routines_dir() -> Path:
    """The folder of the user's own routines, one folder each (``voiceguide init``):
    ``$VOICEGUIDE_DATA_DIR/routines``, else the platform's user data folder's."""
    override = os.environ.get("VOICEGUIDE_DATA_DIR")
    if override:
        return Path(override) / "routines"
    import platformdirs

    return Path(platformdirs.user_data_dir("voiceguide", appauthor=False)) / "routines"


def user_routines() -> list[str]:
    """Names of the user's routines (folders holding ``NAME/NAME.routine.yaml``), sorted."""
    try:
        folders = list(user_routines_dir().iterdir())
    except OSError:
        return []
    return sorted(f.name for f in folders if (f / (f.name + ROUTINE_SUFFIX)).is_file())


def resolve_routine(name_or_path: str | None) -> Path:
    """A routine's name (bundled first, then the user's) or a routine file's path, to the
    routine file's path."""
    if name_or_path is None:
        name_or_path = DEFAULT_ROUTINE
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file() or "/" in name_or_path:
        if not candidate.is_file():
            raise RoutineError("no such routine file", path=candidate)
        return candidate
    bundled = bundled_dir() / (name_or_path + ROUTINE_SUFFIX)
    if bundled.is_file():
        return bundled
    own = user_routines_dir() / name_or_path / (name_or_path + ROUTINE_SUFFIX)
    if _ID_PATTERN.match(name_or_path) and own.is_file():
        return own
    names = bundled_routines()
    yours = user_routines()
    hint = _did_you_mean(name_or_path, names + yours)
    raise RoutineError(
        f"no bundled routine named '{name_or_path}'{hint} and none of yours; "
        f"bundled: {', '.join(names) or 'none'}; yours: {', '.join(yours) or 'none'} "
        f"(in {user_routines_dir()})"
    )


def load_routine(path: Path) -> Routine:
    """Load and check a routine file and every narration script it names; the first
    problem is raised."""
    routine = _routine(path, _Problems(collect=False))
    assert routine is not None  # any problem was raised
    return routine


def load_exercise(path: Path, expected_id: str | None = None) -> Exercise:
    """Load and check one narration script; the first problem is raised."""
    exercise = _exercise(path, expected_id, _Problems(collect=False))
    assert exercise is not None  # any problem was raised
    return exercise


def check_routine(path: Path) -> tuple[Routine | None, list[RoutineError]]:
    """Check a routine file and its narration scripts completely: every problem, in the
    order loading meets them (the first is the one :func:`load_routine` raises), and the
    routine when there is none."""
    problems = _Problems(collect=True)
    routine = _routine(path, problems)
    return (None if problems.found else routine), problems.found


class _Problems:
    """Where the checks report: loading stops at the first problem (it is raised); checking
    keeps every problem and goes on with what is left, leaving out what depends on a wrong
    value (so one mistake is reported once)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.found: list[RoutineError] = []

    def add(self, error: RoutineError) -> None:
        if not self.collect:
            raise error from None
        self.found.append(error)


def _routine(path: Path, problems: _Problems) -> Routine | None:
    read = _read_mapping(path, problems)
    if read is None:
        return None
    data, text = read
    _reject_unknown(data, _ROUTINE_KEYS, path, text, None, problems)
    entries = data.get("exercises")
    if not isinstance(entries, list) or not entries:
        problems.add(RoutineError(
            "must be a non-empty list of exercise ids",
            path=path, field="exercises", line=_line_of(text, "exercises"),
        ))  # fmt: skip
        entries = []
    exercises: list[Exercise] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        parsed = _routine_entry(entry, index, path, text, problems)
        if parsed is None:
            continue
        exercise_id, overrides = parsed
        if exercise_id in seen:
            problems.add(RoutineError(
                f"exercise '{exercise_id}' is listed twice",
                path=path, field="exercises", line=_line_of(text, "exercises"),
            ))  # fmt: skip
            continue
        seen.add(exercise_id)
        script = path.parent / f"{exercise_id}.yaml"
        if not script.is_file():
            problems.add(RoutineError(
                f"no narration script {script.name} next to the routine",
                path=path, exercise=exercise_id, field="exercises",
                line=_line_of(text, "exercises"),
            ))  # fmt: skip
            continue
        exercise = _exercise(script, exercise_id, problems)
        if exercise is None:  # unreadable, or of no known kind: nothing more to check
            continue
        if overrides:
            wrong = sorted(_not_applicable(exercise.kind) & overrides.keys())
            for key in wrong:
                problems.add(RoutineError(
                    f"does not apply to '{exercise_id}', a '{exercise.kind.value}' exercise",
                    path=path, exercise=exercise_id, field=key, line=_line_of(text, "exercises"),
                ))  # fmt: skip
            numbers = {k: v for k, v in overrides.items() if k not in wrong}
            exercise = _apply_numbers(exercise, numbers, path, text, problems, "exercises")
        exercises.append(exercise)
    name = path.name.removesuffix(ROUTINE_SUFFIX).removesuffix(".yaml").removesuffix(".yml")
    fields: dict[str, Any] = {}
    for key in ("title", "author", "intro", "safety", "closing"):
        value = _text(data, key, path, text, None, (key == "title"), problems)
        if value is not None:
            fields[key] = value
    if not fields.get("author"):
        fields["author"] = "voiceguide"
    for key in ("title", "intro", "safety", "closing"):
        if key in fields:
            _check_spoken(fields[key], path, text, None, key, False, problems)
    fields.setdefault("title", name)
    if "breathing" in data:
        breathing = _text_list(data, "breathing", path, text, None, problems)
        for value in breathing or ():
            problem = templates.check(value, templates.ALLOWED["breathing"])
            if problem is not None:
                problems.add(RoutineError(
                    problem, path=path, field="breathing", line=_line_of(text, "breathing")
                ))  # fmt: skip
            else:
                _check_spoken(value, path, text, None, "breathing", True, problems)
        if breathing is not None:
            fields["breathing"] = breathing
    gap = data.get("chapter_gap_s", 2.0)
    gap_s = _number(gap, ROUTINE_LIMITS["chapter_gap_s"], path, text, None, "chapter_gap_s",
                    problems)  # fmt: skip
    return Routine(
        name=name, source=path, exercises=tuple(exercises),
        chapter_gap_s=2.0 if gap_s is None else gap_s, **fields,
    )  # fmt: skip


def _exercise(path: Path, expected_id: str | None, problems: _Problems) -> Exercise | None:
    """One narration script; None when it cannot be read or its kind is unknown (the rest
    of it is still checked)."""
    read = _read_mapping(path, problems)
    if read is None:
        return None
    data, text = read
    exercise_id = data.get("id", path.stem)
    if not isinstance(exercise_id, str) or not _ID_PATTERN.match(exercise_id):
        problems.add(RoutineError(
            "must be lower-case letters, digits and dashes (at most 64), "
            f"got {_shown(exercise_id)}",
            path=path, field="id", line=_line_of(text, "id"),
        ))  # fmt: skip
        exercise_id = expected_id or path.stem
    elif expected_id is not None and exercise_id != expected_id:
        problems.add(RoutineError(
            f"is '{exercise_id}' but the routine and the file name say '{expected_id}'",
            path=path, field="id", line=_line_of(text, "id"),
        ))  # fmt: skip
        exercise_id = expected_id
    _reject_unknown(data, _EXERCISE_KEYS, path, text, exercise_id, problems)

    kind_value = data.get("kind", "hold")
    try:
        kind: ExerciseKind | None = ExerciseKind(kind_value)
    except ValueError:
        kind = None
        problems.add(RoutineError(
            f"must be 'hold' or 'reps', got {_shown(kind_value)}",
            path=path, exercise=exercise_id, field="kind", line=_line_of(text, "kind"),
        ))  # fmt: skip

    sides = _sides(data.get("sides", []), path, text, exercise_id, problems)
    kwargs: dict[str, Any] = {}
    for key in _EXERCISE_TEXT:
        if key in data or key == "title":
            value = _text(data, key, path, text, exercise_id, True, problems)
            if value is not None:
                kwargs[key] = value
    kwargs.setdefault("title", exercise_id)
    if "reminders" in data:
        reminders = _text_list(data, "reminders", path, text, exercise_id, problems)
        if reminders is not None:
            kwargs["reminders"] = reminders
    if "fit" in data and kind is not None:
        fit_ranges = _fit_ranges(data["fit"], kind, path, text, exercise_id, problems)
        if fit_ranges is not None:
            kwargs["fit_ranges"] = fit_ranges
    exercise = Exercise(
        id=exercise_id, kind=kind or ExerciseKind.HOLD, source=path, sides=sides or (), **kwargs
    )
    numbers = {key: data[key] for key in _EXERCISE_NUMBERS if key in data}
    exercise = _apply_numbers(exercise, numbers, path, text, problems)
    bad = _check_templates(exercise, path, text, sides is not None, problems)
    if "title" in data:
        _check_spoken(exercise.title, path, text, exercise_id, "title", False, problems)
    for key, value in _text_fields(exercise):
        if key not in bad:
            _check_spoken(value, path, text, exercise_id, key, True, problems)
    if kind is None:
        return None
    _check_coherent(exercise, data, path, text, problems)
    return exercise


# ---------------------------------------------------------------- helpers


def _read_mapping(path: Path, problems: _Problems) -> tuple[dict[str, Any], str] | None:
    """The file's fields and text; None (after reporting why) when it cannot be read."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)  # never more, whatever the file's size
    except FileNotFoundError:
        problems.add(RoutineError("no such file", path=path))
        return None
    except OSError as error:
        problems.add(RoutineError(f"cannot read: {error.strerror}", path=path))
        return None
    if len(raw) > _MAX_FILE_BYTES:
        problems.add(
            RoutineError("is larger than 256 KiB, the most a narration file may be", path=path)
        )
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problems.add(RoutineError(
            f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8",
            path=path, line=line,
        ))  # fmt: skip
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "malformed YAML"
        problems.add(RoutineError(f"malformed YAML: {problem}", path=path, line=where))
        return None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (NUL, ...)
        where = text[: error.position].count("\n") + 1
        character = error.character if isinstance(error.character, int) else 0
        problems.add(RoutineError(
            f"malformed YAML: character U+{character:04X} is not allowed in YAML text",
            path=path, line=where,
        ))  # fmt: skip
        return None
    except yaml.YAMLError as error:
        problems.add(RoutineError(f"malformed YAML: {' '.join(str(error).split())}", path=path))
        return None
    except RecursionError:
        problems.add(RoutineError("malformed YAML: nested too deeply", path=path))
        return None
    if data is None:
        problems.add(RoutineError("is empty; it must be a YAML mapping of fields", path=path))
        return None
    if not isinstance(data, dict):
        problems.add(RoutineError(
            f"must be a YAML mapping of fields, got {type(data).__name__}", path=path
        ))  # fmt: skip
        return None
    odd = [key for key in data if not isinstance(key, str)]
    if odd:
        problems.add(RoutineError(f"field names must be text, got {_shown(odd[0])}", path=path))
        return None
    duplicate = _duplicate_key(text)
    if duplicate is not None:
        problems.add(RoutineError(
            "is given twice", path=path, field=_field_name(duplicate[0]), line=duplicate[1]
        ))  # fmt: skip
        return None
    return data, text


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def _shown(value: Any) -> str:
    """A short, one-line repr of a value from a file, whatever its size or depth."""
    return _REPR.repr(value)


def _field_name(key: str) -> str:
    """A field name as an error message shows it: odd ones (control characters, very long)
    as a short repr, so a message stays one readable line."""
    if key.isprintable() and len(key) <= 64:
        return key
    escaped = key.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= 64 else escaped[:61] + "..."


def _duplicate_key(text: str) -> tuple[str, int] | None:
    """The first mapping key given twice (PyYAML silently keeps the last), with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    stack, visited = [root], set()
    while stack:  # iterative, visiting shared (aliased) nodes once
        node = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    if key_node.value in keys:
                        return str(key_node.value), int(key_node.start_mark.line) + 1
                    keys.add(key_node.value)
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def _line_of(text: str, key: str) -> int | None:
    """The line of a top-level key, for error messages (None when it cannot be found)."""
    return _key_lines(text).get(key)


@functools.lru_cache(maxsize=16)
def _key_lines(text: str) -> dict[str, int]:
    """Each top-level key's line: the file is composed once, however many fields ask."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        value = getattr(key_node, "value", None)
        if isinstance(value, str) and value not in lines:
            lines[value] = int(value_node.start_mark.line) + 1
    return lines


def _did_you_mean(word: str, choices: list[str] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _reject_unknown(
    data: dict[str, Any], known: frozenset[str], path: Path, text: str, exercise: str | None,
    problems: _Problems,
) -> None:  # fmt: skip
    for key in data:
        if key not in known:
            problems.add(RoutineError(
                f"unknown field{_did_you_mean(key, known)}",
                path=path, exercise=exercise, field=_field_name(key), line=_line_of(text, key),
            ))  # fmt: skip


def _clean_text(value: str) -> str:
    """Fold white space inside paragraphs; keep blank lines between paragraphs."""
    paragraphs = re.split(r"\n\s*\n", value.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _text(
    data: dict[str, Any], key: str, path: Path, text: str, exercise: str | None,
    required: bool, problems: _Problems,
) -> str | None:  # fmt: skip
    """The cleaned text of a field ("" when it is not given); None when it is wrong."""
    value = data.get(key, "")
    if value is None:
        value = ""
    where: dict[str, Any] = {"path": path, "exercise": exercise, "field": key}
    if not isinstance(value, str):
        problems.add(RoutineError(
            f"must be text, got {type(value).__name__}", **where, line=_line_of(text, key)
        ))  # fmt: skip
        return None
    if any((ord(ch) < 32 and ch not in "\n\t\r") or 0xD800 <= ord(ch) < 0xE000 for ch in value):
        problems.add(RoutineError(
            "contains control characters or an unpaired surrogate",
            **where, line=_line_of(text, key),
        ))  # fmt: skip
        return None
    cleaned = _clean_text(value)
    if required and key in data and not cleaned:
        problems.add(RoutineError(
            "is empty; write the text to speak, or leave the field out",
            **where, line=_line_of(text, key),
        ))  # fmt: skip
        return None
    if key == "title" and not cleaned:
        problems.add(RoutineError("is missing", **where, line=None))
        return None
    return cleaned


def _number(
    value: Any, limit: Limit, path: Path, text: str, exercise: str | None, key: str,
    problems: _Problems, line_key: str | None = None,
) -> float | None:  # fmt: skip
    """The checked value of a number field (``line_key``: the field whose line to report);
    None when it is wrong."""
    where: dict[str, Any] = {
        "path": path, "exercise": exercise, "field": key, "line": _line_of(text, line_key or key)
    }  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(RoutineError(f"must be a number, got {_shown(value)}", **where))
        return None
    if limit.integer and isinstance(value, float) and not value.is_integer():
        problems.add(RoutineError(f"must be a whole number, got {_shown(value)}", **where))
        return None
    if not limit.low <= value <= limit.high:
        unit = " s" if key.endswith("_s") else ""
        problems.add(RoutineError(
            f"must be between {templates.format_number(limit.low)}{unit} and "
            f"{templates.format_number(limit.high)}{unit}, got {_shown(value)}",
            **where,
        ))  # fmt: skip
        return None
    return int(value) if limit.integer else float(value)


def _apply_numbers(
    exercise: Exercise, numbers: dict[str, Any], path: Path, text: str, problems: _Problems,
    line_key: str | None = None,
) -> Exercise:  # fmt: skip
    checked: dict[str, Any] = {}
    for key, value in numbers.items():
        number = _number(value, LIMITS[key], path, text, exercise.id, key, problems, line_key)
        if number is not None:
            checked[key] = number
    return dataclasses.replace(exercise, **checked)


def _sides(
    value: Any, path: Path, text: str, exercise: str, problems: _Problems
) -> tuple[Side, ...] | None:
    where: dict[str, Any] = {
        "path": path, "exercise": exercise, "field": "sides", "line": _line_of(text, "sides")
    }  # fmt: skip
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        problems.add(RoutineError("must be a list such as [left, right], or [] for no sides",
                                  **where))  # fmt: skip
        return None
    sides: list[Side] = []
    for side in value:
        if side not in SIDES:
            problems.add(RoutineError(f"must hold only 'left' and 'right', got {_shown(side)}",
                                      **where))  # fmt: skip
            return None
        if side in sides:
            problems.add(RoutineError(f"names '{side}' twice", **where))
            return None
        sides.append(side)
    return tuple(sides)


def _routine_entry(
    entry: Any, index: int, path: Path, text: str, problems: _Problems
) -> tuple[str, dict[str, Any]] | None:
    line = _line_of(text, "exercises")
    if isinstance(entry, str):
        entry = {"id": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        problems.add(RoutineError(
            f"entry {index} must be an exercise id, or a mapping with 'id' and numbers "
            "such as hold_s",
            path=path, field="exercises", line=line,
        ))  # fmt: skip
        return None
    exercise_id = entry["id"]
    if not _ID_PATTERN.match(exercise_id):
        problems.add(RoutineError(
            f"entry {index}: {_shown(exercise_id)} is not an exercise id "
            "(lower-case letters, digits and dashes)",
            path=path, field="exercises", line=line,
        ))  # fmt: skip
        return None
    overrides: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in _ROUTINE_ENTRY_KEYS:
            problems.add(RoutineError(
                f"unknown field{_did_you_mean(str(key), _ROUTINE_ENTRY_KEYS)}",
                path=path, exercise=exercise_id, field=_field_name(str(key)), line=line,
            ))  # fmt: skip
        elif key != "id":
            overrides[key] = value
    return exercise_id, overrides


def _text_fields(exercise: Exercise) -> Iterator[tuple[str, str]]:
    for key in _EXERCISE_TEXT:
        if key != "title":
            yield key, getattr(exercise, key)
    for value in exercise.reminders:
        yield "reminders", value


def _fit_ranges(
    value: Any, kind: ExerciseKind, path: Path, text: str, exercise: str, problems: _Problems
) -> tuple[tuple[str, float, float], ...] | None:
    """``fit: {hold_s: [20, 45], rest_s: [0, 20]}``: how far --fit may move each number."""
    line = _line_of(text, "fit")
    if not isinstance(value, dict):
        problems.add(RoutineError(
            "must map hold_s and/or rest_s to [shortest, longest], e.g. {hold_s: [20, 45]}",
            path=path, exercise=exercise, field="fit", line=line,
        ))  # fmt: skip
        return None
    ranges = []
    for key, pair in value.items():
        where = f"fit.{key}"
        if key not in _FIT_FIELDS:
            problems.add(RoutineError(
                f"unknown field{_did_you_mean(str(key), frozenset(_FIT_FIELDS))}",
                path=path, exercise=exercise, field=_field_name(where), line=line,
            ))  # fmt: skip
            continue
        if key in _not_applicable(kind):
            problems.add(RoutineError(
                f"does not apply to a '{kind.value}' exercise",
                path=path, exercise=exercise, field=where, line=line,
            ))  # fmt: skip
            continue
        if not isinstance(pair, list) or len(pair) != 2:
            problems.add(RoutineError(
                f"must be [shortest, longest], got {_shown(pair)}",
                path=path, exercise=exercise, field=where, line=line,
            ))  # fmt: skip
            continue
        low, high = (
            _number(v, LIMITS[key], path, text, exercise, where, problems, line_key="fit")
            for v in pair
        )
        if low is None or high is None:
            continue
        if low > high:
            problems.add(RoutineError(
                f"the shortest ({low:g}) is longer than the longest ({high:g})",
                path=path, exercise=exercise, field=where, line=line,
            ))  # fmt: skip
            continue
        ranges.append((key, float(low), float(high)))
    return tuple(ranges)


def _text_list(
    data: dict[str, Any], key: str, path: Path, text: str, exercise: str | None,
    problems: _Problems,
) -> tuple[str, ...] | None:  # fmt: skip
    """A list of texts (one text alone is a list of one); None when it is wrong."""
    value = data.get(key)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        problems.add(RoutineError(
            "must be a list of texts",
            path=path, exercise=exercise, field=key, line=_line_of(text, key),
        ))  # fmt: skip
        return None
    cleaned = []
    for item in items:
        one = _text({key: item}, key, path, text, exercise, True, problems)
        if one is None:
            return None
        cleaned.append(one)
    return tuple(cleaned)


def _check_templates(
    exercise: Exercise, path: Path, text: str, sides_known: bool, problems: _Problems
) -> set[str]:
    """Every text's template variables are known where it is spoken; returns the fields
    that are wrong (their words cannot be checked further)."""
    bad: set[str] = set()
    for key, value in _text_fields(exercise):
        allowed = templates.ALLOWED[key]
        if sides_known and not exercise.sides and key not in ("side_setup", "side_again"):
            allowed -= {"side", "Side", "other_side"}  # there is no side to name
        problem = templates.check(value, allowed)
        if problem is not None and key not in bad:
            bad.add(key)
            problems.add(RoutineError(
                problem, path=path, exercise=exercise.id, field=key, line=_line_of(text, key)
            ))  # fmt: skip
    return bad


def _check_spoken(
    value: str, path: Path, text: str, exercise: str | None, key: str, template: bool,
    problems: _Problems,
) -> None:  # fmt: skip
    """Every phrase of a spoken text has words in it (not only symbols or markup, which the
    speech engine is never given) and is short enough to synthesize in one go."""
    where: dict[str, Any] = {
        "path": path, "exercise": exercise, "field": key, "line": _line_of(text, key)
    }  # fmt: skip
    for number, phrase in enumerate(value.split("\n\n") if value else [], start=1):
        which = f"paragraph {number}" if "\n\n" in value else "the text"
        if len(phrase) > _MAX_PHRASE_CHARS:
            problems.add(RoutineError(
                f"{which} is {len(phrase)} characters long; split it with blank lines into "
                f"paragraphs of at most {_MAX_PHRASE_CHARS}",
                **where,
            ))  # fmt: skip
            return
        literal = phrase
        if template:  # the variables' values are words or numbers; only the rest is checked
            literal = " ".join(
                f"{part} x" if name is not None else part
                for part, name, _spec, _conv in string.Formatter().parse(phrase)
            )
        if not speakable(literal):
            problems.add(RoutineError(
                f"{which} has nothing to speak (no letters or digits once markup is removed)",
                **where,
            ))  # fmt: skip
            return


def _not_applicable(kind: ExerciseKind) -> set[str]:
    """The fields that make no sense for an exercise of this kind."""
    if kind is ExerciseKind.HOLD:
        return {"reps", "sets", "work_s", "release_s", "set_intro", "rep_cue", "set_end"}
    return {
        "hold_s", "rounds", "sides", "side_setup", "side_again", "round_intro",
        "during", "hold_cue", "after", "switch_s", "reminders",
    }  # fmt: skip


def _check_coherent(
    exercise: Exercise, data: dict[str, Any], path: Path, text: str, problems: _Problems
) -> None:
    """Fields that make no sense for the exercise's kind are mistakes, not silently ignored."""
    wrong = _not_applicable(exercise.kind)
    for key in sorted(wrong & data.keys()):
        problems.add(RoutineError(
            f"does not apply to a '{exercise.kind.value}' exercise",
            path=path, exercise=exercise.id, field=key, line=_line_of(text, key),
        ))  # fmt: skip
    if exercise.kind is ExerciseKind.HOLD and exercise.side_setup and not exercise.sides:
        problems.add(RoutineError(
            "is given but the exercise has no sides; add 'sides: [left, right]'",
            path=path, exercise=exercise.id, field="side_setup", line=_line_of(text, "side_setup"),
        ))  # fmt: skip
