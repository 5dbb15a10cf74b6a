"""Settings: what the user changes before rendering (hold lengths, reps, sets, rests, voice).

Overrides apply on top of the routine's own numbers: ``--hold 45`` sets every hold,
``--hold supine-hip-stretch=60`` one exercise; the per-exercise value wins.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, Literal

from voiceguide.errors import SettingsError
from voiceguide.routine import templates
from voiceguide.routine.lexicon import Lexicon
from voiceguide.routine.model import LIMITS, Exercise, ExerciseKind, Routine
from voiceguide.routine.text import clock, did_you_mean

__all__ = [
    "BED_LEVEL_DB",
    "BED_LEVEL_LIMITS_DB",
    "DEFAULT_BITRATE",
    "DEFAULT_RATE_WPM",
    "DEFAULT_VOICE",
    "INTROS",
    "OPTION_FIELDS",
    "RATE_LIMITS_WPM",
    "VERBOSITIES",
    "Intro",
    "Override",
    "Settings",
    "Verbosity",
    "apply_settings",
    "parse_bed",
    "parse_bed_level",
    "parse_bitrate",
    "parse_breath",
    "parse_duration",
    "parse_number",
    "parse_override",
    "quoted",
]

Verbosity = Literal["minimal", "standard", "coach"]
VERBOSITIES: tuple[Verbosity, ...] = ("minimal", "standard", "coach")
# full: why the routine, what to have ready, the safety note, each cue sound named and played;
# short (for a returning listener): the title, what to have ready, the safety note (the pain
# rule with it) and the cue sounds named in one line
Intro = Literal["full", "short"]
INTROS: tuple[Intro, ...] = ("full", "short")
DEFAULT_VOICE = "hibari:heart"  # a natural voice, inside its wheel (docs/voices.md)
# words a minute as a listener counts them: 145 (espeak-ng's own rate 131) gives a listener
# time to follow new movements (espeak-ng's rate 160 is 178, brisk for a first listen)
DEFAULT_RATE_WPM = 145
RATE_LIMITS_WPM = (80, 450)
BED_LEVEL_DB = -18.0  # the music bed in the quiet of a hold, relative to the speech (--bed-level)
BED_LEVEL_LIMITS_DB = (-40.0, -15.0)  # louder, holds would count in the tracks' loudness (BS.1770)

# Command-line option -> the exercise field it sets, and the exercise kinds it applies to.
OPTION_FIELDS: dict[str, tuple[str, frozenset[ExerciseKind]]] = {
    "hold": ("hold_s", frozenset({ExerciseKind.HOLD})),
    "rounds": ("rounds", frozenset({ExerciseKind.HOLD})),
    "reps": ("reps", frozenset({ExerciseKind.REPS})),
    "sets": ("sets", frozenset({ExerciseKind.REPS})),
    "rest": ("rest_s", frozenset({ExerciseKind.HOLD, ExerciseKind.REPS})),
}


@dataclass(frozen=True)
class Override:
    """One setting: ``field`` = ``value`` for one exercise, or for all (exercise None)."""

    option: str  # the command-line option's name, e.g. "hold"
    value: float
    exercise: str | None = None

    @property
    def field(self) -> str:
        return OPTION_FIELDS[self.option][0]

    def describe(self) -> str:
        target = f"{self.exercise}=" if self.exercise else ""
        return f"--{self.option} {target}{templates.format_number(self.value)}"


@dataclass(frozen=True)
class Settings:
    """Everything that changes the rendered audio besides the routine itself."""

    overrides: tuple[Override, ...] = ()
    voice: str = DEFAULT_VOICE
    rate_wpm: int = DEFAULT_RATE_WPM
    verbosity: Verbosity = "standard"
    intro: Intro = "full"  # the introduction's length (--intro)
    # the listener chose the introduction (command line, config file, phone): --fit leaves
    # it as it is; it changes no event, so it is not among the described settings
    intro_chosen: bool = False
    breath_s: tuple[float, float] | None = None  # (inhale, exhale) pacing tones in holds
    fit_s: float | None = None  # fit the whole routine into this many seconds (--fit)
    bed: str | None = None  # a music bed: "pad", or a music file's absolute path (--bed)
    bed_level_db: float = BED_LEVEL_DB  # the bed in holds, relative to the speech
    lexicon: Lexicon = ()  # words respelled for the speech engine (routine, then config file)
    # a live play's pain check-in after the closing (see plan.checkin): play sets it when the
    # check_in preference is on; it adds no event, so it is not among the described settings
    check_in: bool = False

    def __post_init__(self) -> None:
        if self.verbosity not in VERBOSITIES:
            raise SettingsError(
                f"--verbosity {self.verbosity!r}: must be one of {', '.join(VERBOSITIES)}"
            )
        if self.intro not in INTROS:
            raise SettingsError(f"--intro {self.intro!r}: must be one of {', '.join(INTROS)}")
        low, high = RATE_LIMITS_WPM
        if isinstance(self.rate_wpm, bool) or not low <= self.rate_wpm <= high:
            raise SettingsError(
                f"--rate {self.rate_wpm}: must be between {low} and {high} words per minute"
            )
        longest = 4096 if self.voice.lower().endswith(".onnx") else 64  # a model's path
        if not self.voice or not self.voice.isprintable() or len(self.voice) > longest:
            raise SettingsError(
                f"--voice {quoted(self.voice)}: not a voice id (such as {DEFAULT_VOICE} or "
                "gmw/en-us) nor the path of a .onnx model"
            )
        parse_bed_level(str(self.bed_level_db))

    @property
    def bed_name(self) -> str:
        """The bed as the tags say it: "pad" or the music file's name ("" for none)."""
        return "" if self.bed is None else "pad" if self.bed == "pad" else PurePath(self.bed).name

    def describe(self) -> dict[str, Any]:
        return {
            "overrides": [o.describe() for o in self.overrides],
            "voice": self.voice,
            "rate_wpm": self.rate_wpm,
            "verbosity": self.verbosity,
            "intro": self.intro,
            "breath_s": list(self.breath_s) if self.breath_s else None,
            "fit_s": self.fit_s,
            "bed": self.bed,
            "bed_level_db": self.bed_level_db if self.bed else None,
        }

    def label(self) -> str:
        """A short human label of the overrides, e.g. "45 s holds, 3 sets" ("" for none)."""
        parts = []
        for o in self.overrides:
            value = templates.format_number(o.value)
            unit = {"hold": f"{value} s holds", "rest": f"{value} s rests"}.get(
                o.option, f"{value} {o.option}"
            )
            parts.append(f"{o.exercise} {unit}" if o.exercise else unit)
        if self.verbosity != "standard":
            parts.append(self.verbosity)
        if self.intro != "full":
            parts.append(f"{self.intro} introduction")
        if self.breath_s:
            parts.append("breathing " + "-".join(templates.format_number(s) for s in self.breath_s))
        if self.fit_s:
            parts.append(f"fit to {clock(round(self.fit_s * 1000))}")
        if self.bed:
            parts.append("with music")
        return ", ".join(parts)


_DURATION = re.compile(
    r"(?:([0-9]+(?:\.[0-9]+)?)h)?(?:([0-9]+(?:\.[0-9]+)?)m)?(?:([0-9]+(?:\.[0-9]+)?)s?)?"
)
# A number as typed: ASCII digits only (float() would also take '²'-like digits of other
# scripts, '١٢', '1_000'), an exponent, or inf/nan (refused by range with a clear message).
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I
)
_MAX_NUMBER_CHARS = 64


def quoted(raw: str) -> str:
    """A value as typed, quoted for a message: at most 40 characters of it."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def parse_number(text: str) -> float | None:
    """``text`` as a number, written with ASCII digits; None when it is not one."""
    text = text.strip()
    if len(text) > _MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        return None
    return float(text)


def parse_duration(raw: str, option: str = "--fit") -> float:
    """``"15m"``, ``"14m30s"``, ``"1h"``, ``"900"`` or ``"900s"`` -> seconds (1 minute-4 hours)."""
    text = raw.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(text) if len(text) <= _MAX_NUMBER_CHARS else None
    if not text or match is None or not any(match.groups()):
        raise SettingsError(f"{option} {quoted(raw)}: give a duration such as 15m, 14m30s or 900s")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 60 <= total <= 4 * 3600:
        raise SettingsError(f"{option} {quoted(raw)}: must be between 1 minute and 4 hours")
    return total


def parse_breath(raw: str) -> tuple[float, float]:
    """``"4-6"`` -> (4.0, 6.0): inhale and exhale seconds, each 2-15 s."""
    inhale, sep, exhale = raw.strip().partition("-")
    inhale_s = parse_number(inhale) if sep else None
    exhale_s = parse_number(exhale) if sep else None
    if inhale_s is None or exhale_s is None or not (2 <= inhale_s <= 15 and 2 <= exhale_s <= 15):
        raise SettingsError(
            f"--breath {quoted(raw)}: give inhale-exhale seconds, such as 4-6 (each 2 to 15 s)"
        )
    return inhale_s, exhale_s


def parse_override(option: str, raw: str) -> Override:
    """Parse ``"45"`` or ``"exercise-id=45"`` given to ``--<option>``."""
    field_name = OPTION_FIELDS[option][0]
    exercise: str | None = None
    text = raw.strip()
    if "=" in text:
        exercise, _, text = (part.strip() for part in text.partition("="))
        if not exercise:
            raise SettingsError(f"--{option} {quoted(raw)}: the exercise id before '=' is empty")
    value = parse_number(text)
    if value is None:
        raise SettingsError(
            f"--{option} {quoted(raw)}: {quoted(text)} is not a number (give N, or EXERCISE=N "
            "for one exercise)"
        )
    limit = LIMITS[field_name]
    unit = " s" if field_name.endswith("_s") else ""
    if value != value or not limit.low <= value <= limit.high:  # NaN, or out of range
        raise SettingsError(
            f"--{option} {quoted(raw)}: must be between {templates.format_number(limit.low)}{unit} "
            f"and {templates.format_number(limit.high)}{unit}"
        )
    if limit.integer and not value.is_integer():
        raise SettingsError(f"--{option} {quoted(raw)}: must be a whole number")
    return Override(option=option, value=value, exercise=exercise)


def apply_settings(routine: Routine, settings: Settings) -> Routine:
    """The routine with the settings' overrides applied (global first, then per exercise)."""
    ids = [e.id for e in routine.exercises]
    for o in settings.overrides:
        kinds = OPTION_FIELDS[o.option][1]
        if o.exercise is None:
            if not any(e.kind in kinds for e in routine.exercises):
                raise SettingsError(
                    f"{o.describe()}: routine '{routine.name}' has no exercise with {o.field}"
                )
            continue
        if o.exercise not in ids:
            hint = did_you_mean(o.exercise, ids)
            raise SettingsError(
                f"{o.describe()}: no exercise '{o.exercise}' in routine '{routine.name}'{hint}; "
                f"exercises: {', '.join(ids)}"
            )
        kind = routine.exercise(o.exercise).kind
        if kind not in kinds:
            raise SettingsError(
                f"{o.describe()}: exercise '{o.exercise}' is a '{kind.value}' exercise, "
                f"which has no {o.field}"
            )
    ordered = sorted(settings.overrides, key=lambda o: o.exercise is not None)
    exercises = []
    for exercise in routine.exercises:
        changes: dict[str, Any] = {}
        for o in ordered:
            applies = o.exercise == exercise.id or (
                o.exercise is None and exercise.kind in OPTION_FIELDS[o.option][1]
            )
            if applies:
                changes[o.field] = int(o.value) if LIMITS[o.field].integer else o.value
        exercises.append(_replace(exercise, changes))
    return dataclasses.replace(routine, exercises=tuple(exercises))


def _replace(exercise: Exercise, changes: dict[str, Any]) -> Exercise:
    return dataclasses.replace(exercise, **changes) if changes else exercise


DEFAULT_BITRATE = "96k"
_MP3_BITRATES_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def parse_bitrate(raw: str) -> str:
    """ "96k" or "96" -> "96k"; only bitrates MP3 has at 44.1 kHz."""
    text = raw.strip().lower().removesuffix("k")
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or (
        int(text) not in _MP3_BITRATES_KBPS
    ):  # ASCII digits only: '²', '①' or '٩٦' are digits to str.isdigit(), not to int()
        allowed = ", ".join(f"{b}k" for b in _MP3_BITRATES_KBPS)
        raise SettingsError(f"--bitrate {quoted(raw)}: MP3 bitrates are {allowed}")
    return f"{int(text)}k"


def parse_bed(raw: str, base: Path | None = None) -> str:
    """``"pad"``, or a music file's path made absolute (relative to ``base``, else to the
    working folder; ``~`` is the home folder). Whether the file can be a bed is checked
    when it is opened (:func:`voiceguide.sound.bed.open_bed`)."""
    text = raw.strip()
    if text.lower() == "pad":
        return "pad"
    if not text or not text.isprintable():
        raise SettingsError(f"--bed {quoted(raw)}: give pad, a music file's path, or off")
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base or Path.cwd()) / path)


def parse_bed_level(raw: str) -> float:
    """``"-18"`` or ``"-18dB"`` -> -18.0: the bed in holds, in dB relative to the speech."""
    value = parse_number(raw.strip().lower().removesuffix("db"))
    low, high = BED_LEVEL_LIMITS_DB
    if value is None or not low <= value <= high:
        raise SettingsError(
            f"--bed-level {quoted(raw)}: give dB relative to the speech, between {low:g} and "
            f"{high:g} (default {BED_LEVEL_DB:g})"
        )
    return value
