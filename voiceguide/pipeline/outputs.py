"""Where a command may put a file the user names (``history --export``, ``cues --out``):
never over a device, a FIFO, a folder, the practice log or a cache, and never under a name
the file system cannot hold."""

from __future__ import annotations

from pathlib import Path

from voiceguide.errors import ExportError, SettingsError
from voiceguide.export import JOURNAL, MANIFEST
from voiceguide.files import TargetRefused, check_target, write_output
from voiceguide.practice import data_dir
from voiceguide.speech.cache import default_cache_dir

__all__ = ["checked_target", "protected", "write_user_file"]


def protected(target: Path) -> list[Path]:
    """What a user's file must never replace: the data folder (the practice log and what
    SQLite keeps beside it), the caches, and an export folder's manifest and journal."""
    return [data_dir(), default_cache_dir(), target.parent / MANIFEST, target.parent / JOURNAL]


def checked_target(option: str, raw: str) -> Path:
    """The path ``raw`` given to ``option``, refused (exit 2, one line) when nothing may be
    written there."""
    path = Path(raw)
    try:
        if not raw:
            raise TargetRefused("give a file name")
        check_target(path, protected(path))
    except TargetRefused as refused:
        raise SettingsError(f"{option} {raw!r}: {refused}; nothing was written") from None
    return path


def write_user_file(option: str, raw: str, data: bytes) -> Path:
    """Write ``data`` whole at ``raw`` (see :func:`checked_target`); the path written."""
    path = checked_target(option, raw)
    try:
        write_output(path, data, protected(path))
    except TargetRefused as refused:
        raise SettingsError(f"{option} {raw!r}: {refused}; nothing was written") from None
    except OSError as error:
        raise ExportError(f"{option} {raw!r}: cannot write it: {error.strerror or error}") from None
    return path
