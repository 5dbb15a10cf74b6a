"""Every setting, declared once: its name, type, range, unit, default and help.

The command line builds its options and their help from :data:`SETTINGS` (``cli/``), the
config file takes its keys and checks their values by it (:mod:`.config`), ``voiceguide
config`` shows its rows by it (:mod:`.preferences`), and the phone's settings form is built
from it (served as JSON, :func:`form_json`). A value as typed goes through one check,
:meth:`Setting.parse`, wherever it was typed. ``tests/plan/test_catalog.py`` fails when a
setting is missing from any of those places or from ``docs/options.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voiceguide.errors import SettingsError
from voiceguide.plan.parsing import (
    BED_LEVEL_DB,
    BED_LEVEL_LIMITS_DB,
    DEFAULT_BITRATE,
    DEFAULT_RATE_WPM,
    DEFAULT_VOICE,
    INTROS,
    PACES,
    RATE_LIMITS_WPM,
    VERBOSITIES,
    check_choice,
    check_rate,
    check_voice,
    format_duration,
    parse_bed,
    parse_bed_level,
    parse_bitrate,
    parse_breath,
    parse_duration,
    quoted,
    typed_number,
)
from voiceguide.routine.model import LIMITS, ExerciseKind
from voiceguide.routine.templates import format_number
from voiceguide.routine.text import clock

__all__ = [
    "CONFIG_KEYS",
    "OPTION_FIELDS",
    "SETTINGS",
    "Setting",
    "SettingType",
    "form_json",
    "setting",
]

SettingType = Literal["per exercise", "integer", "choice", "text", "switch", "table"]
"""per exercise: a number for every exercise of some kinds, or ``ID=N`` for one (repeatable);
integer, choice, text: one value for the whole routine; switch: on or off; table: a TOML table
(the config file only)."""

Parse = Callable[[str, Path | None], Any]
"""A value as typed -> the setting's value; the path is the folder a relative file name is
relative to (the config file's; None: the working folder). Raises SettingsError said of the
option (``--fit '1m': ...``)."""


def _breath(value: tuple[float, float] | None, number: Callable[[float], str]) -> str:
    return "-".join(number(s) for s in value) if value else "off"


def _on(value: bool) -> str:
    return "on" if value else "off"


@dataclass(frozen=True)
class Setting:
    """One setting: what it is called and takes everywhere it is given."""

    name: str  # the config key; the option is --name (with '-' for '_')
    attribute: str  # its field in Choices and Settings; per exercise: the Exercise field
    kind: SettingType
    help: str  # the option's help, one sentence or two
    label: str = ""  # its label on the phone's settings form; "": not on the form
    hint: str = ""  # how to write it, after the label on the form
    metavar: str | None = None  # how the option's value is shown in --help
    default: Any = None  # the value when no source gives one
    default_shown: str | None = None  # --help's default, when the value does not say it all
    choices: tuple[str, ...] = ()
    exercise_kinds: frozenset[ExerciseKind] = frozenset()  # per exercise: the kinds that have it
    low: float | None = None
    high: float | None = None
    unit: str = ""  # of low, high and the value: "s", "words per minute", "dB"
    can_be_off: bool = False  # "off" turns off a saved value for one run
    # where the command line takes it: with the routine's options (every command that plans),
    # by the commands it concerns (export's --bitrate, play's --log), or not at all
    command_line: Literal["routine", "command", "none"] = "routine"
    renders: bool = True  # a field of Settings (it changes the audio); else of Choices only
    toml_types: tuple[type, ...] = (str,)  # the TOML values the config key takes
    toml_hint: str = ""  # what the key must be, when its TOML value is of another type
    parser: Parse | None = None  # None: per exercise (parse_override), switch or table
    shown: Callable[[Any], str] = str  # as ``voiceguide config`` shows it
    typed: Callable[[Any], str] = str  # as the command line takes it (the form's value)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def per_exercise(self) -> bool:
        return self.kind == "per exercise"

    @property
    def on_form(self) -> bool:
        return bool(self.label)

    def parse(self, raw: str, base: Path | None = None) -> Any:
        """The value of ``raw`` as typed (not per exercise: see ``parse_override``)."""
        if self.parser is None:
            raise TypeError(f"{self.option} is not parsed from text")
        return self.parser(raw, base)

    def prefix(self, raw: str) -> str:
        """How a message about ``raw`` given to this option starts (``--fit '1m': ``)."""
        if self.kind == "choice":
            return f"{self.option} {raw!r}: "
        if self.kind == "integer":
            return f"{self.option} {raw}: "
        return f"{self.option} {quoted(raw)}: "

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "option": self.option,
            "type": self.kind,
            "label": self.label,
            "hint": self.hint,
            "help": self.help,
            "default": self.default,
            "choices": list(self.choices),
            "kinds": sorted(k.value for k in self.exercise_kinds),
            "low": self.low,
            "high": self.high,
            "unit": self.unit,
            "can_be_off": self.can_be_off,
        }


def _per_exercise(
    name: str, attribute: str, kinds: set[ExerciseKind], help: str, label: str, hint: str = ""
) -> Setting:
    limit = LIMITS[attribute]
    return Setting(
        name,
        attribute,
        "per exercise",
        help,
        label=label,
        hint=hint,
        metavar="[ID=]SECONDS" if attribute.endswith("_s") else "[ID=]N",
        exercise_kinds=frozenset(kinds),
        low=limit.low,
        high=limit.high,
        unit="s" if attribute.endswith("_s") else "",
        toml_types=(int, float, str, list),
        toml_hint='must be a number, "EXERCISE=N" text, or a list of them',
        typed=typed_number,
    )


def _whole_number(raw: str, _base: Path | None) -> int:
    text = raw.strip()
    if not (text.isascii() and text.lstrip("+-").isdigit() and len(text) <= 64):
        raise SettingsError(f"--rate {quoted(raw)}: must be a whole number of words per minute")
    return check_rate(int(text))


def _choice_setting(
    name: str,
    choices: tuple[str, ...],
    help: str,
    label: str,
    default: str,
    default_shown: str | None = None,
) -> Setting:
    """A setting that is one of a few words."""
    return Setting(
        name,
        name,
        "choice",
        help,
        label=label,
        metavar="|".join(choices),
        default=default,
        default_shown=default_shown or default,
        choices=choices,
        toml_hint="must be one of " + ", ".join(choices),
        parser=lambda raw, _base: check_choice(name, raw, choices),
    )


def _switch(name: str, help: str, what: str) -> Setting:
    """A setting that is on (the default) or off, given by the commands it concerns."""
    return Setting(
        name,
        name,
        "switch",
        help,
        default=True,
        command_line="command",
        renders=False,
        toml_types=(bool,),
        toml_hint=f"must be true or false ({what})",
        shown=_on,
    )


_HOLD, _REPS = ExerciseKind.HOLD, ExerciseKind.REPS
_BED_LOW, _BED_HIGH = BED_LEVEL_LIMITS_DB
_RATE_LOW, _RATE_HIGH = RATE_LIMITS_WPM

SETTINGS: tuple[Setting, ...] = (
    _per_exercise(
        "hold",
        "hold_s",
        {_HOLD},
        "Hold length in seconds: for every hold, or ID=N for one exercise.",
        "Hold",
        "seconds",
    ),
    _per_exercise("rounds", "rounds", {_HOLD}, "Rounds of a hold exercise (all sides).", "Rounds"),
    _per_exercise("reps", "reps", {_REPS}, "Reps per set.", "Reps per set"),
    _per_exercise("sets", "sets", {_REPS}, "Sets.", "Sets"),
    _per_exercise(
        "rest", "rest_s", {_HOLD, _REPS}, "Rest between rounds or sets.", "Rest", "seconds"
    ),
    Setting(
        "voice",
        "voice",
        "text",
        f"Voice id, see 'voiceguide voices' (default {DEFAULT_VOICE}).",
        label="Voice",
        hint=f"e.g. {DEFAULT_VOICE}",
        default=DEFAULT_VOICE,
        toml_hint=f'must be a voice id such as "{DEFAULT_VOICE}" or "gmw/en-us" '
        "(see voiceguide voices)",
        parser=lambda raw, _base: check_voice(raw),
    ),
    Setting(
        "rate",
        "rate_wpm",
        "integer",
        f"Words a minute, as a listener counts them (default {DEFAULT_RATE_WPM}).",
        label="Speaking rate",
        hint="words per minute",
        default=DEFAULT_RATE_WPM,
        low=_RATE_LOW,
        high=_RATE_HIGH,
        unit="words per minute",
        toml_types=(int,),
        toml_hint="must be a whole number of words per minute",
        parser=_whole_number,
    ),
    _choice_setting(
        "verbosity",
        VERBOSITIES,
        "minimal: tones and names; standard: every instruction once; "
        "coach: also form reminders and breathing prompts in holds.",
        "How much is said",
        default="standard",
    ),
    _choice_setting(
        "intro",
        INTROS,
        "full: why the routine, and every cue sound played; short: what to have ready, "
        "the safety note and the cue sounds in one line, then the first exercise.",
        "Introduction",
        default="full",
        default_shown="full; short after 3 completed sessions in the practice log",
    ),
    _choice_setting(
        "pace",
        PACES,
        "The time given to move (settle, switch sides, each step): slow x1.5, fast x0.75; "
        "holds, reps and rests keep their length.",
        "Time to move",
        default="standard",
    ),
    Setting(
        "breath",
        "breath_s",
        "text",
        "Soft breathing tones during holds, e.g. 4-6 (seconds in, out); "
        "off turns off a saved preference.",
        label="Breathing tones",
        hint="in-out seconds, or off",
        metavar="IN-OUT",
        can_be_off=True,
        unit="s",
        toml_hint='must be inhale-exhale seconds such as "4-6", or "off"',
        parser=lambda raw, _base: parse_breath(raw),
        shown=lambda v: _breath(v, format_number),
        typed=lambda v: _breath(v, typed_number),
    ),
    Setting(
        "fit",
        "fit_s",
        "text",
        "Fit the routine into this time (e.g. 15m) by changing holds and rests "
        "within their allowed ranges; off turns off a saved preference.",
        label="Fit into",
        hint="e.g. 15m, or off",
        metavar="DURATION",
        can_be_off=True,
        low=60,
        high=4 * 3600,
        unit="s",
        toml_types=(str, int, float),
        toml_hint='must be a duration such as "15m", or "off"',
        parser=lambda raw, _base: parse_duration(raw),
        shown=lambda v: clock(round(v * 1000)) if v else "off",
        typed=format_duration,
    ),
    Setting(
        "bitrate",
        "bitrate",
        "text",
        "MP3 bitrate (mono, 44.1 kHz).",
        default=DEFAULT_BITRATE,
        default_shown=DEFAULT_BITRATE,
        command_line="command",
        renders=False,
        toml_types=(str, int),
        toml_hint='must be an MP3 bitrate such as "96k"',
        parser=lambda raw, _base: parse_bitrate(raw),
    ),
    _switch(
        "log",
        "Record the session in the practice log ('voiceguide history'); "
        "'log = false' in the config turns it off.",
        "record sessions in the log",
    ),
    _switch(
        "check_in",
        "After the closing, ask how your back feels (0-10, a key; Enter skips) and "
        "keep it with the session; 'check_in = false' in the config turns it off.",
        "ask for a pain score after a session",
    ),
    Setting(
        "bed",
        "bed",
        "text",
        "Music under the voice, ducked under every word and cue: pad (calm "
        "generated chords) or a music file (mp3, m4a, ogg, flac, wav; looped); "
        "off turns off a saved preference.",
        metavar="pad|FILE",
        can_be_off=True,
        toml_hint='must be "pad", a music file\'s path, or "off"',
        parser=parse_bed,
        shown=lambda v: v or "off",
    ),
    Setting(
        "bed_level",
        "bed_level_db",
        "text",
        f"The music's level in holds, in dB relative to the speech ({_BED_LOW:g} to "
        f"{_BED_HIGH:g}).",
        metavar="DB",
        default=BED_LEVEL_DB,
        default_shown=f"{BED_LEVEL_DB:g}",
        low=_BED_LOW,
        high=_BED_HIGH,
        unit="dB",
        toml_types=(int, float, str),
        toml_hint="must be a number of dB such as -18",
        parser=lambda raw, _base: parse_bed_level(raw),
        shown=lambda v: f"{v:g} dB",
    ),
    Setting(
        "lexicon",
        "lexicon",
        "table",
        'How the speech engine says a word: word = "respelling".',
        default=(),
        command_line="none",
        renders=False,
        toml_types=(dict,),
        toml_hint='must be a table of word = "respelling"',
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    """The setting named ``name`` (its config key)."""
    return _BY_NAME[name]


CONFIG_KEYS = tuple(s.name for s in SETTINGS)
# a per-exercise option -> the exercise field it sets, and the exercise kinds it applies to
OPTION_FIELDS: dict[str, tuple[str, frozenset[ExerciseKind]]] = {
    s.name: (s.attribute, s.exercise_kinds) for s in SETTINGS if s.per_exercise
}


def form_json() -> list[dict[str, Any]]:
    """The phone form's fields, in order: what the page builds its form from."""
    return [s.to_json() for s in SETTINGS if s.on_form]
