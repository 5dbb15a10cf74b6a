"""What one source of settings chooses (:class:`Choices`), and where a value comes from
(:class:`Source`); the command line's choices, checked (:func:`command_line`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voiceguide.plan.catalog import SETTINGS
from voiceguide.plan.parsing import Intro, Pace, Verbosity
from voiceguide.plan.settings import Override, parse_override
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
    pace: Pace | None = None
    breath_s: tuple[float, float] | Off | None = None
    fit_s: float | Off | None = None
    bitrate: str | None = None
    log: bool | None = None  # record played sessions in the practice log
    check_in: bool | None = None  # ask for a pain score after a played session
    bed: str | Off | None = None
    bed_level_db: float | None = None
    lexicon: Lexicon = ()  # [lexicon] word = "respelling": added to the routine's


# ---------------------------------------------------------------- the command line


def command_line(overrides: Iterable[tuple[str, str]] = (), **given: Any) -> Choices:
    """The command line's choices, checked: ``("hold", "45")`` pairs, and the other options'
    values as typed, by setting name (``rate=150``, ``bed_level="-20"``; a field name such as
    ``rate_wpm`` too); ``off`` turns off a saved preference of a setting that can be off
    (``--breath off``, ``--fit off``, ``--bed off``)."""
    values: dict[str, Any] = {}
    for key, raw in given.items():
        declared = _GIVEN.get(key)
        if declared is None:
            raise TypeError(f"command_line() takes no setting {key!r}")
        if raw is None:
            continue
        if declared.kind == "switch":
            values[declared.attribute] = bool(raw)
        elif declared.can_be_off and is_off(str(raw)):
            values[declared.attribute] = "off"
        else:
            values[declared.attribute] = declared.parse(str(raw))
    return Choices(
        COMMAND_LINE, tuple(parse_override(option, raw) for option, raw in overrides), **values
    )


_GIVEN = {
    key: s
    for s in SETTINGS
    if not s.per_exercise and s.command_line != "none"
    for key in (s.name, s.attribute)
}
