"""Your own routines: start one from a bundled routine (``init``), see every routine there is
(``list``), and check one completely before using it (``validate``).

A routine of yours is a folder in :func:`~voiceguide.routine.loader.user_routines_dir` (or anywhere,
with ``--path``) holding ``NAME.routine.yaml`` and its narration scripts; ``ROUTINE``
arguments find the ones in the user folder by name.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voiceguide.errors import RoutineError, RuntimeFailure, SettingsError
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.settings import DEFAULT_RATE_WPM, Settings
from voiceguide.routine.loader import (
    DEFAULT_ROUTINE,
    ROUTINE_SUFFIX,
    bundled_dir,
    bundled_routines,
    check_routine,
    load_routine,
    resolve_routine,
    user_routines,
    user_routines_dir,
)

__all__ = [
    "Created",
    "RoutineEntry",
    "Validation",
    "available_routines",
    "estimate_ms",
    "init_routine",
    "validate_routine",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# A stand-in for the speech engine when only an estimate is needed: measured on the bundled
# routine with gmw/en-us at 160 wpm, 67 phrases and 1,001 words last 358 s.
_PHRASE_MS = 300
_WORD_MS_AT_DEFAULT_RATE = 337


@dataclass(frozen=True)
class RoutineEntry:
    """One routine ``voiceguide list`` shows."""

    name: str
    origin: Literal["bundled", "yours"]
    path: Path  # the routine file
    title: str  # "" when it does not load
    exercises: tuple[str, ...] = ()
    problem: str | None = None  # why it does not load

    @property
    def argument(self) -> str:
        """What to give as ``ROUTINE`` to use it: its name, or its path when the name finds
        another routine (a bundled one of the same name)."""
        try:
            found = resolve_routine(self.name)
        except RoutineError:
            found = None
        return self.name if found == self.path else str(self.path)


def available_routines() -> list[RoutineEntry]:
    """The bundled routines, then the user's, each by name."""
    places: list[tuple[str, Literal["bundled", "yours"], Path]] = [
        (name, "bundled", bundled_dir() / (name + ROUTINE_SUFFIX)) for name in bundled_routines()
    ]
    places += [(name, "yours", user_routines_dir() / name / (name + ROUTINE_SUFFIX))
               for name in user_routines()]  # fmt: skip
    entries = []
    for name, origin, path in places:
        try:
            routine = load_routine(path)
        except RoutineError as error:
            entries.append(RoutineEntry(name, origin, path, "", problem=str(error)))
            continue
        ids = tuple(e.id for e in routine.exercises)
        entries.append(RoutineEntry(name, origin, path, routine.title, ids))
    return entries


@dataclass(frozen=True)
class Created:
    """What ``voiceguide init`` wrote."""

    name: str
    routine_file: Path
    scripts: tuple[Path, ...]
    by_name: bool  # in the user routines folder: ROUTINE arguments find it by name


def init_routine(name: str, folder: Path | None = None, source: str | None = None) -> Created:
    """Copy a routine (the bundled one by default) as ``NAME.routine.yaml`` with its narration
    scripts into ``folder``, or into the user routines folder as ``NAME/``. Nothing is
    overwritten: when any of the files exists, nothing is written."""
    if not _NAME.match(name):
        raise SettingsError(
            f"init {name!r}: a routine name is lower-case letters, digits and dashes "
            "(at most 64), such as my-hips"
        )
    if folder is None and name in bundled_routines():
        raise SettingsError(
            f"init {name!r}: that is a bundled routine's name; choose another, such as my-{name}"
        )
    original = load_routine(resolve_routine(source or DEFAULT_ROUTINE))
    target = folder.expanduser() if folder is not None else user_routines_dir() / name
    copies = [(original.source, target / (name + ROUTINE_SUFFIX))]
    copies += [(e.source, target / e.source.name) for e in original.exercises]
    for _source, destination in copies:
        if destination.exists():
            raise RoutineError(
                "already exists; nothing was written (choose another name, or --path another "
                "folder)",
                path=destination,
            )  # fmt: skip
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for source_file, destination in copies:
            with destination.open("xb") as handle:  # never over a file made meanwhile
                written.append(destination)
                handle.write(source_file.read_bytes())
    except FileExistsError as error:
        _remove(written[:-1])
        raise RoutineError("already exists; nothing was written", path=error.filename) from None
    except OSError as error:
        _remove(written)
        raise RuntimeFailure(
            f"cannot write the routine into {target}: {error.strerror or error}"
        ) from None
    return Created(name, copies[0][1], tuple(d for _s, d in copies[1:]), by_name=folder is None)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


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
    return Validation(path, (), len(routine.exercises), timeline.total_ms)


def estimate_ms(text: str, rate_wpm: int = DEFAULT_RATE_WPM) -> int:
    """About how long a phrase takes to say, from its words (the compiler's ``measure``
    when nothing is synthesized)."""
    words = max(1, len(text.split()))
    return _PHRASE_MS + words * _WORD_MS_AT_DEFAULT_RATE * DEFAULT_RATE_WPM // rate_wpm
