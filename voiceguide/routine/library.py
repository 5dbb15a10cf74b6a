"""Where routines are: the bundled ones, the user's own (``voiceguide init``), a routine
given by name or path (:func:`resolve_routine`), and every routine there is (``list``).

A routine of yours is a folder in :func:`user_routines_dir` (or anywhere, with ``--path``)
holding ``NAME.routine.yaml`` and its narration scripts; ``ROUTINE`` arguments find the
ones in the user folder by name.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voiceguide.errors import RoutineError, RuntimeFailure, SettingsError
from voiceguide.files import read_regular, user_folder
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import ID_PATTERN, ROUTINE_SUFFIX
from voiceguide.routine.source import unreadable_reason
from voiceguide.routine.text import did_you_mean

__all__ = [
    "DEFAULT_ROUTINE",
    "ROUTINE_SUFFIX",
    "Created",
    "RoutineEntry",
    "available_routines",
    "bundled_dir",
    "bundled_routines",
    "init_routine",
    "resolve_routine",
    "user_routines",
    "user_routines_dir",
]


DEFAULT_ROUTINE = "outer-hip"


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
    return user_folder("data", "VOICEGUIDE_DATA_DIR") / "routines"


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
    _check_name_lengths(name_or_path)
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or _is_file(candidate) or "/" in name_or_path:
        if not _is_file(candidate):
            raise RoutineError("no such routine file", path=candidate)
        return candidate
    bundled = bundled_dir() / (name_or_path + ROUTINE_SUFFIX)
    if ID_PATTERN.match(name_or_path) and bundled.is_file():
        return bundled
    own = user_routines_dir() / name_or_path / (name_or_path + ROUTINE_SUFFIX)
    if ID_PATTERN.match(name_or_path) and own.is_file():
        return own
    names = bundled_routines()
    yours = user_routines()
    hint = did_you_mean(name_or_path, names + yours)
    raise RoutineError(
        f"no bundled routine named '{name_or_path}'{hint} and none of yours; "
        f"bundled: {', '.join(names) or 'none'}; yours: {', '.join(yours) or 'none'} "
        f"(in {user_routines_dir()})"
    )


_MAX_COPY_BYTES = 256 * 1024  # the most a routine file or narration script may be
_NAME_MAX_BYTES = 255  # a file or folder name, on every common file system
_PATH_MAX_BYTES = 4095


def _check_name_lengths(name_or_path: str) -> None:
    """A ROUTINE no file system could hold is bad input, said as such (not "File name too
    long" from deep inside)."""
    encoded = os.fsencode(name_or_path) if "\0" not in name_or_path else b"\0"
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > _NAME_MAX_BYTES or len(encoded) > _PATH_MAX_BYTES or b"\0" in encoded:
        shown = name_or_path[:40] + ("..." if len(name_or_path) > 40 else "")
        what = (
            "has a NUL character"
            if b"\0" in encoded
            else (
                f"has a name of {longest:,} bytes; file names have at most {_NAME_MAX_BYTES}"
                if longest > _NAME_MAX_BYTES
                else f"is a path of {len(encoded):,} bytes, too long"
            )
        )
        raise RoutineError(f"ROUTINE {shown!r} {what}")


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False when the system cannot even look (a name too long, ...)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


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
    places += [
        (name, "yours", user_routines_dir() / name / (name + ROUTINE_SUFFIX))
        for name in user_routines()
    ]
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
    if not ID_PATTERN.match(name):
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
            )
    written: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for source_file, destination in copies:
            try:  # as the loader read it (it may have changed since)
                data = read_regular(source_file, _MAX_COPY_BYTES)
            except OSError as error:
                raise _Changed(source_file, unreadable_reason(error, "256 KiB")) from None
            with destination.open("xb") as handle:  # never over a file made meanwhile
                written.append(destination)
                handle.write(data)
    except FileExistsError as error:
        _remove(written[:-1])
        raise RoutineError("already exists; nothing was written", path=error.filename) from None
    except _Changed as changed:
        _remove(written)
        raise RoutineError(f"{changed.reason}; nothing was written", path=changed.path) from None
    except OSError as error:
        _remove(written)
        raise RuntimeFailure(
            f"cannot write the routine into {target}: {error.strerror or error}"
        ) from None
    return Created(name, copies[0][1], tuple(d for _s, d in copies[1:]), by_name=folder is None)


class _Changed(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
