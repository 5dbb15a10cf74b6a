"""What one source of settings chooses (:class:`Choices`), and where a value comes from
(:class:`Source`); the command line's choices, checked (:func:`command_line`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voiceguide.errors import SettingsError
from voiceguide.plan.settings import (
    INTROS,
    VERBOSITIES,
    Intro,
    Override,
    Settings,
    Verbosity,
    parse_bed,
    parse_bed_level,
    parse_bitrate,
    parse_breath,
    parse_duration,
    parse_override,
)
from voiceguide.routine.lexicon import Lexicon

__all__ = ["COMMAND_LINE", "DEFAULT", "Choices", "Off", "SettingSource", "command_line", "is_off"]

Off = Literal["off"]
_OFF_WORDS = ("off", "none", "no")


def is_off(raw: str | None) -> bool:
    """``off`` (or none, no): turns a saved preference off for one run."""
    return raw is not None and raw.strip().lower() in _OFF_WORDS


@dataclass(frozen=True)
class SettingSource:
    """Where a setting's value comes from."""

    kind: Literal["default", "routine", "config", "phone", "command line", "practice log"]
    path: Path | None = None  # the file holding the value: a script, the config file, phone.toml
    table: str | None = None  # the config table ("routines.outer-hip"); None: the top level
    why: str = ""  # the practice log's reason ("3 completed sessions")

    def __str__(self) -> str:
        if self.kind == "practice log" and self.why:
            return f"practice log: {self.why}"
        if self.kind == "config":
            return f"config file {self.path}" + (f" [{self.table}]" if self.table else "")
        if self.kind == "phone":
            return f"saved from the phone ({self.path})"
        return self.kind


DEFAULT = SettingSource("default")
COMMAND_LINE = SettingSource("command line")


@dataclass(frozen=True)
class Choices:
    """The settings one source gives; None: this source does not say."""

    source: SettingSource
    overrides: tuple[Override, ...] = ()
    voice: str | None = None
    rate_wpm: int | None = None
    verbosity: Verbosity | None = None
    intro: Intro | None = None
    breath_s: tuple[float, float] | Off | None = None
    fit_s: float | Off | None = None
    bitrate: str | None = None
    log: bool | None = None  # record played sessions in the practice log
    check_in: bool | None = None  # ask for a pain score after a played session
    bed: str | Off | None = None
    bed_level_db: float | None = None
    lexicon: Lexicon = ()  # [lexicon] word = "respelling": added to the routine's


# ---------------------------------------------------------------- the command line


def command_line(
    overrides: Iterable[tuple[str, str]] = (),
    voice: str | None = None,
    rate_wpm: int | None = None,
    verbosity: str | None = None,
    breath: str | None = None,
    intro: str | None = None,
    fit: str | None = None,
    bitrate: str | None = None,
    log: bool | None = None,
    bed: str | None = None,
    bed_level: str | None = None,
) -> Choices:
    """The command line's choices, checked (``("hold", "45")`` pairs and option values as
    typed; ``--breath off``, ``--fit off`` and ``--bed off`` turn off a saved preference)."""

    if verbosity is not None and verbosity not in VERBOSITIES:
        raise SettingsError(f"--verbosity {verbosity!r}: must be one of {', '.join(VERBOSITIES)}")
    if intro is not None and intro not in INTROS:
        raise SettingsError(f"--intro {intro!r}: must be one of {', '.join(INTROS)}")
    if voice is not None:
        Settings(voice=voice)
    if rate_wpm is not None:
        Settings(rate_wpm=rate_wpm)
    return Choices(
        source=COMMAND_LINE,
        overrides=tuple(parse_override(option, raw) for option, raw in overrides),
        voice=voice,
        rate_wpm=rate_wpm,
        verbosity=verbosity,
        intro=intro,
        breath_s="off" if is_off(breath) else parse_breath(breath) if breath is not None else None,
        fit_s="off" if is_off(fit) else parse_duration(fit) if fit is not None else None,
        bitrate=parse_bitrate(bitrate) if bitrate is not None else None,
        log=log,
        bed="off" if is_off(bed) else parse_bed(bed) if bed is not None else None,
        bed_level_db=parse_bed_level(bed_level) if bed_level is not None else None,
    )
