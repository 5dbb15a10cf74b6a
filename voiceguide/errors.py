"""Every error voiceguide raises on purpose.

::

    VoiceguideError                 base; the CLI prints ``str(error)`` on one line
    ├── InputError                  bad input from the user: exit code 2
    │   ├── RoutineError            a routine or narration file is wrong (file, exercise, field)
    │   └── SettingsError           a command-line or config value is wrong
    ├── Interrupted                 Ctrl-C: exit code 130
    │   └── Terminated              SIGTERM (kill) or SIGHUP (terminal closed): 143, 129
    └── RuntimeFailure              the input was fine but something outside failed: exit code 1
        ├── DependencyMissing       espeak-ng, ffmpeg, a sound device ... is not there
        ├── SynthesisError          the speech engine failed or hung on one phrase
        ├── ExportError             writing the output failed (disk full, read-only, ...)
        ├── PlaybackError           the sound device failed during playback
        └── PracticeLogError        the practice log cannot be read or written (left as it is)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

__all__ = [
    "DependencyMissing",
    "ExportError",
    "InputError",
    "Interrupted",
    "PlaybackError",
    "PracticeLogError",
    "RoutineError",
    "RuntimeFailure",
    "SettingsError",
    "SynthesisError",
    "Terminated",
    "VoiceguideError",
]


class VoiceguideError(Exception):
    """Base class. ``exit_code`` is what the command line exits with."""

    exit_code = 1


class InputError(VoiceguideError):
    """The user's input is wrong; nothing was written."""

    exit_code = 2


class RoutineError(InputError):
    """A routine or narration file is wrong.

    The message always names the file, and the exercise and field when they are known:
    ``scripts/seated-twist.yaml: exercise 'seated-twist', field 'hold_s': must be > 0, got -5``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        exercise: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.exercise = exercise
        self.field = field
        self.line = line
        self.reason = message
        where: list[str] = []
        if self.path is not None:
            where.append(self.path if line is None else f"{self.path}:{line}")
        if exercise is not None:
            where.append(f"exercise '{exercise}'")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(", ".join(where) + ": " + message if where else message)


class SettingsError(InputError):
    """A setting (command-line option or config value) is wrong."""


class Interrupted(VoiceguideError):
    """The user pressed Ctrl-C; temporary files are removed on the way out."""

    exit_code = 130
    # the last one raised, and when (monotonic s): a library that swallows every Exception
    # (pyttsx3 loading espeak-ng) must not turn a Ctrl-C into another error
    _last: ClassVar[tuple[float, Interrupted] | None] = None

    def __init__(self) -> None:
        super().__init__("interrupted")
        Interrupted._last = (time.monotonic(), self)

    @classmethod
    def raised_since(cls, moment_s: float) -> Interrupted | None:
        """The interrupt raised since ``moment_s`` (time.monotonic()), if one was."""
        last = cls._last
        return last[1] if last is not None and last[0] >= moment_s else None


class Terminated(Interrupted):
    """Stopped by a signal other than Ctrl-C's: SIGTERM (a plain ``kill``) or SIGHUP (the
    terminal closed). Every way out of an interrupt is taken (the terminal restored, a
    session recorded as stopped); the exit code is 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum = signum
        self.exit_code = 128 + signum
        said = {1: "stopped: the terminal was closed (SIGHUP)", 15: "stopped (SIGTERM)"}
        self.args = (said.get(signum, f"stopped (signal {signum})"),)


class RuntimeFailure(VoiceguideError):
    """Something outside voiceguide failed."""

    exit_code = 1


class DependencyMissing(RuntimeFailure):
    """A program or library voiceguide needs is not installed."""


class SynthesisError(RuntimeFailure):
    """The speech engine failed on a phrase."""


class ExportError(RuntimeFailure):
    """Writing an export failed; the previous export is left as it was."""


class PlaybackError(RuntimeFailure):
    """Live playback failed."""


class PracticeLogError(RuntimeFailure):
    """The practice log cannot be read or written (locked, read-only, damaged, another
    program's file); it is left exactly as it was."""
