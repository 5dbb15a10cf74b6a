"""Settings: what the user changes before rendering (hold lengths, reps, sets, rests, voice).

Overrides apply on top of the routine's own numbers: ``--hold 45`` sets every hold,
``--hold supine-hip-stretch=60`` one exercise; the per-exercise value wins. What each
setting is, takes and defaults to is declared in :mod:`.catalog`; the checks of a value as
typed are in :mod:`.parsing` (their names are also offered here).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.plan.catalog import OPTION_FIELDS
from voiceguide.plan.parsing import (
    BED_LEVEL_DB,
    DEFAULT_RATE_WPM,
    DEFAULT_VOICE,
    INTROS,
    PACES,
    VERBOSITIES,
    Intro,
    Pace,
    Verbosity,
    check_choice,
    check_rate,
    check_voice,
    parse_bed_level,
    parse_number,
    quoted,
)
from voiceguide.routine import templates
from voiceguide.routine.lexicon import Lexicon
from voiceguide.routine.model import LIMITS, Exercise, Routine
from voiceguide.routine.text import clock, did_you_mean

__all__ = [
    "DEFAULT_VOICE",  # offered here too: the speech engines' default voice
    "OPTION_FIELDS",
    "Override",
    "Settings",
    "apply_settings",
    "parse_override",
]


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
    pace: Pace = "standard"  # the time given to move (--pace)
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
        check_choice("verbosity", self.verbosity, VERBOSITIES)
        check_choice("intro", self.intro, INTROS)
        check_choice("pace", self.pace, PACES)
        check_rate(self.rate_wpm)
        check_voice(self.voice)
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
            "pace": self.pace,
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
        if self.pace != "standard":
            parts.append(f"{self.pace} pace")
        if self.breath_s:
            parts.append("breathing " + "-".join(templates.format_number(s) for s in self.breath_s))
        if self.fit_s:
            parts.append(f"fit to {clock(round(self.fit_s * 1000))}")
        if self.bed:
            parts.append("with music")
        return ", ".join(parts)


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
