"""The one place the settings are put together from every source: the defaults, the
routine's files, the config file (:mod:`.config`) and the command line (:mod:`.choices`).

Precedence, lowest first: defaults < the routine's own files < the config file's top level
< its ``[routines.NAME]`` table < the command line. A global value (``hold = 40``) set at
one level replaces every value of that option from the levels below it, per exercise ones
included; within one level a per-exercise value wins over the global one. Values at the top
level that do not apply to a routine (an exercise it does not have, sets in a routine
without reps) are left out for that routine; in a routine's own table they are mistakes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.plan.catalog import CONFIG_KEYS, OPTION_FIELDS, SETTINGS
from voiceguide.plan.choices import DEFAULT, Choices, SettingSource, command_line
from voiceguide.plan.config import Config, Place
from voiceguide.plan.settings import Override, Settings, apply_settings
from voiceguide.routine import templates
from voiceguide.routine.lexicon import merge
from voiceguide.routine.model import Routine

__all__ = [
    "CONFIG_KEYS",
    "Choices",
    "Config",
    "Resolved",
    "Row",
    "SettingSource",
    "command_line",
    "resolve",
]


# ---------------------------------------------------------------- putting it together


@dataclass(frozen=True)
class Row:
    """One line of ``voiceguide config``: a setting (of one exercise), its value, its source."""

    setting: str
    value: str
    source: SettingSource
    exercise: str | None = None


@dataclass(frozen=True)
class Resolved:
    """The settings to use, the export bitrate, and where every value comes from."""

    settings: Settings
    bitrate: str
    rows: tuple[Row, ...]
    config: Path | None  # the config file (it may not exist); None: not said
    config_found: bool
    log: bool = True  # record played sessions in the practice log
    check_in: bool = True  # play asks for a pain score after the closing

    def to_json(self) -> dict[str, Any]:
        return {
            "config_file": str(self.config) if self.config is not None else None,
            "config_file_found": self.config_found,
            "settings": [
                {
                    "setting": r.setting,
                    "exercise": r.exercise,
                    "value": r.value,
                    "from": r.source.kind,
                    "path": str(r.source.path) if r.source.path else None,
                    "table": r.source.table,
                }
                for r in self.rows
            ],
        }


def resolve(
    routine: Routine | None,
    command: Choices,
    config: Config | None,
    kept: Choices | None = None,
    returning: SettingSource | None = None,
    config_file: Path | None = None,
) -> Resolved:
    """Settings for ``routine`` from the defaults, the routine, the config file (its top
    level, then the routine's table), the settings kept from the phone (:mod:`.kept`) and
    the command line, each overriding the one before. Without a routine (the cue legend),
    only what is not per routine: voice, rate, bitrate. ``returning``: the practice log shows
    the listener knows the routine (the caller read it, this stays pure), so the
    introduction is short unless another source says. ``config_file``: where the config
    file would be, said when there is none."""
    layers: list[Choices] = []
    if returning is not None and routine is not None:
        layers.append(Choices(returning, intro="short"))
    if config is not None:
        top = config.top
        applying = tuple(o for o in top.overrides if routine is not None and _applies(o, routine))
        layers.append(dataclasses.replace(top, overrides=applying))
        own = config.routines.get(routine.name) if routine is not None else None
        if routine is not None and own is not None:
            place = Place(config.path, f"routines.{routine.name}")
            for o in own.overrides:
                _check_applies(o, routine, place)
            layers.append(own)
    if routine is not None and kept is not None:  # what no longer applies is left out
        fits = tuple(o for o in kept.overrides if _fits(o, routine))
        layers.append(dataclasses.replace(kept, overrides=fits))
    layers.append(command if routine is not None else dataclasses.replace(command, overrides=()))
    overrides = _merge_overrides(layers)

    def pick(name: str, default: Any, can_be_off: bool) -> tuple[Any, SettingSource]:
        for layer in reversed(layers):
            value = getattr(layer, name)
            if value is not None:
                # "off" turns off a saved value only where the setting can be off; elsewhere
                # it is a value like any other, checked as such (a voice named "off")
                return (None if can_be_off and value == "off" else value), layer.source
        return default, DEFAULT

    scalars = [s for s in SETTINGS if not s.per_exercise and s.kind != "table"]
    picked = {s.attribute: pick(s.attribute, s.default, s.can_be_off) for s in scalars}
    intro_source = picked["intro"][1]
    settings = Settings(
        overrides=tuple(o for o, _source in overrides),
        intro_chosen=intro_source.kind not in ("default", "practice log"),
        lexicon=merge(routine.lexicon if routine else (), *(x.lexicon for x in layers)),
        **{s.attribute: picked[s.attribute][0] for s in scalars if s.renders},
    )
    rows = _exercise_rows(routine, settings, overrides) if routine is not None else []
    rows += [Row(s.name, s.shown(picked[s.attribute][0]), picked[s.attribute][1]) for s in scalars]
    return Resolved(
        settings,
        picked["bitrate"][0],
        tuple(rows),
        config.path if config is not None else config_file,
        config is not None,
        log=picked["log"][0],
        check_in=picked["check_in"][0],
    )


def _applies(o: Override, routine: Routine) -> bool:
    kinds = OPTION_FIELDS[o.option][1]
    if o.exercise is None:
        return any(e.kind in kinds for e in routine.exercises)
    return any(e.id == o.exercise and e.kind in kinds for e in routine.exercises)


def _fits(o: Override, routine: Routine) -> bool:
    try:
        apply_settings(routine, Settings(overrides=(o,)))
    except SettingsError:
        return False
    return _applies(o, routine)


def _check_applies(o: Override, routine: Routine, place: Place) -> None:
    try:
        apply_settings(routine, Settings(overrides=(o,)))
    except SettingsError as error:
        number = int(o.value) if o.value.is_integer() else o.value
        shown: Any = f"{o.exercise}={number}" if o.exercise else number
        raise place.restated(o.option, shown, error, f"{o.describe()}: ") from None


def _merge_overrides(layers: Sequence[Choices]) -> list[tuple[Override, SettingSource]]:
    """Each level's values replace the levels' below: a global one every value of its
    option, a per-exercise one that exercise's."""
    merged: list[tuple[Override, SettingSource]] = []
    for layer in layers:
        every = {o.option for o in layer.overrides if o.exercise is None}
        one = {(o.option, o.exercise) for o in layer.overrides if o.exercise is not None}
        merged = [
            (o, s) for o, s in merged if o.option not in every and (o.option, o.exercise) not in one
        ]
        merged += [(o, layer.source) for o in layer.overrides]
    return merged


def _exercise_rows(
    routine: Routine, settings: Settings, overrides: list[tuple[Override, SettingSource]]
) -> list[Row]:
    applied = apply_settings(routine, settings)
    rows = []
    for option, (field_name, kinds) in OPTION_FIELDS.items():
        for exercise in applied.exercises:
            if exercise.kind not in kinds:
                continue
            source = SettingSource("routine", exercise.source)
            for o, origin in overrides:  # the last one that applies wins, per exercise first
                if o.option == option and o.exercise is None:
                    source = origin
            for o, origin in overrides:
                if o.option == option and o.exercise == exercise.id:
                    source = origin
            value = templates.format_number(getattr(exercise, field_name))
            unit = " s" if field_name.endswith("_s") else ""
            rows.append(Row(option, value + unit, source, exercise.id))
    return rows
