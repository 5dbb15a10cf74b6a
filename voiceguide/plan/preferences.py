"""Saved preferences, and the one place the settings are put together from every source.

The config file (TOML, ``config.toml`` in the user config folder, or in
``$VOICEGUIDE_CONFIG_DIR``) holds the command-line options' values: at its top level for
every routine, and in a ``[routines.NAME]`` table for one routine::

    voice = "gmw/en-gb-x-rp"
    rate = 150
    hold = 40                                   # every hold, in every routine
    verbosity = "coach"

    [routines.outer-hip]
    hold = ["supine-hip-stretch=60"]            # a number, "ID=N", or a list of them
    breath = "4-6"

Precedence, lowest first: defaults < the routine's own files < the config file's top level
< its ``[routines.NAME]`` table < the command line. A global value (``hold = 40``) set at
one level replaces every value of that option from the levels below it, per exercise ones
included; within one level a per-exercise value wins over the global one. Values at the top
level that do not apply to a routine (an exercise it does not have, sets in a routine
without reps) are left out for that routine; in a routine's own table they are mistakes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from voiceguide.errors import SettingsError
from voiceguide.plan.settings import (
    DEFAULT_BITRATE,
    OPTION_FIELDS,
    VERBOSITIES,
    Override,
    Settings,
    Verbosity,
    apply_settings,
    parse_bitrate,
    parse_breath,
    parse_duration,
    parse_override,
)
from voiceguide.routine import templates
from voiceguide.routine.model import Routine
from voiceguide.routine.text import clock, did_you_mean

__all__ = [
    "CONFIG_KEYS",
    "Choices",
    "Config",
    "Resolved",
    "Row",
    "Source",
    "command_line",
    "config_dir",
    "config_path",
    "load_config",
    "resolve",
]

CONFIG_NAME = "config.toml"
CONFIG_KEYS = (*OPTION_FIELDS, "voice", "rate", "verbosity", "breath", "fit", "bitrate")
Off = Literal["off"]
_OFF_WORDS = ("off", "none", "no")


def config_dir() -> Path:
    """``$VOICEGUIDE_CONFIG_DIR``, else the platform's user config folder for voiceguide."""
    override = os.environ.get("VOICEGUIDE_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("voiceguide", appauthor=False))


def config_path() -> Path:
    return config_dir() / CONFIG_NAME


@dataclass(frozen=True)
class Source:
    """Where a setting's value comes from."""

    kind: Literal["default", "routine", "config", "command line"]
    path: Path | None = None  # the file holding the value: a script, or the config file
    table: str | None = None  # the config table ("routines.outer-hip"); None: the top level

    def __str__(self) -> str:
        if self.kind == "config":
            return f"config file {self.path}" + (f" [{self.table}]" if self.table else "")
        return self.kind


DEFAULT = Source("default")
COMMAND_LINE = Source("command line")


@dataclass(frozen=True)
class Choices:
    """The settings one source gives; None: this source does not say."""

    source: Source
    overrides: tuple[Override, ...] = ()
    voice: str | None = None
    rate_wpm: int | None = None
    verbosity: Verbosity | None = None
    breath_s: tuple[float, float] | Off | None = None
    fit_s: float | Off | None = None
    bitrate: str | None = None


@dataclass(frozen=True)
class Config:
    """A config file: its top level and its per-routine tables."""

    path: Path
    top: Choices
    routines: Mapping[str, Choices] = field(default_factory=dict)


# ---------------------------------------------------------------- reading the config file


def load_config(path: Path | None = None) -> Config | None:
    """The config file, every value checked; None when there is none."""
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SettingsError(f"{path}: cannot read the config file: {error.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: the config file is not valid TOML: {error}") from None
    tables = data.pop("routines", {})
    top = _choices(data, _Place(path, None))
    if not isinstance(tables, dict):
        raise _Place(path, None).error(
            "routines", tables, "must hold one table per routine, such as [routines.outer-hip]"
        )
    routines: dict[str, Choices] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise _Place(path, "routines").error(
                name, table, f"must be a table of settings, [routines.{name}]"
            )
        routines[name] = _choices(table, _Place(path, f"routines.{name}"))
    return Config(path, top, routines)


@dataclass(frozen=True)
class _Place:
    """A table of the config file, for messages naming the file, the table and the key."""

    path: Path
    table: str | None

    @property
    def source(self) -> Source:
        return Source("config", self.path, self.table)

    def error(self, key: str, value: Any, reason: str) -> SettingsError:
        table = f"table [{self.table}]" if self.table else "top level"
        key = key if len(key) <= 64 else key[:61] + "..."
        return SettingsError(f"{self.path}: {table}, key '{key}' = {_shown(value)}: {reason}")

    def restated(self, key: str, value: Any, error: SettingsError, prefix: str) -> SettingsError:
        """A command-line style error (``--hold 'x': ...``) said of this key instead."""
        message = str(error)
        return self.error(key, value, message.removeprefix(prefix))


def _shown(value: Any) -> str:
    """A value as TOML writes it (short)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= 60 else shown[:56] + '..."'
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value[:4]) + (", ...]" if len(value) > 4 else "]")
    return "{...}" if isinstance(value, dict) else repr(value)[:60]


def _choices(table: dict[str, Any], place: _Place) -> Choices:
    values: dict[str, Any] = {}
    overrides: list[Override] = []
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            hint = did_you_mean(key, CONFIG_KEYS)
            raise place.error(key, value, f"unknown setting{hint}; settings: "
                              + ", ".join(CONFIG_KEYS))  # fmt: skip
        if key in OPTION_FIELDS:
            overrides += _overrides(key, value, place)
        else:
            values.update(_scalar(key, value, place))
    return Choices(place.source, tuple(overrides), **values)


def _overrides(option: str, value: Any, place: _Place) -> list[Override]:
    items = value if isinstance(value, list) else [value]
    parsed = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | str):
            raise place.error(
                option, value, 'must be a number, "EXERCISE=N" text, or a list of them'
            )
        text = str(item)
        try:
            parsed.append(parse_override(option, text))
        except SettingsError as error:
            raise place.restated(option, item, error, f"--{option} {text!r}: ") from None
    return parsed


def _scalar(key: str, value: Any, place: _Place) -> dict[str, Any]:
    """One of the settings that are not per exercise, checked: {Choices field: value}."""
    off = value is False or (isinstance(value, str) and value.strip().lower() in _OFF_WORDS)

    def check(prefix: str, call: Callable[[], Any]) -> Any:
        """A command-line check; its error (``--rate 9: ...``) is said of this key instead."""
        try:
            return call()
        except SettingsError as error:
            raise place.restated(key, value, error, prefix) from None

    if key == "voice":
        if not isinstance(value, str):
            raise place.error(key, value, 'must be an espeak-ng voice id such as "gmw/en-us" '
                              "(see voiceguide voices)")  # fmt: skip
        check(f"--voice {value!r}: ", lambda: Settings(voice=value))
        return {"voice": value}
    if key == "rate":
        if isinstance(value, bool) or not isinstance(value, int):
            raise place.error(key, value, "must be a whole number of words per minute")
        check(f"--rate {value}: ", lambda: Settings(rate_wpm=value))
        return {"rate_wpm": value}
    if key == "verbosity":
        if value not in VERBOSITIES:
            raise place.error(key, value, "must be one of " + ", ".join(VERBOSITIES))
        return {"verbosity": value}
    if key == "breath":
        if off:
            return {"breath_s": "off"}
        if not isinstance(value, str):
            raise place.error(key, value, 'must be inhale-exhale seconds such as "4-6", or "off"')
        return {"breath_s": check(f"--breath {value!r}: ", lambda: parse_breath(value))}
    if key == "fit":
        if off:
            return {"fit_s": "off"}
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise place.error(key, value, 'must be a duration such as "15m", or "off"')
        text = value if isinstance(value, str) else templates.format_number(value)
        return {"fit_s": check(f"--fit {text!r}: ", lambda: parse_duration(text))}
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise place.error(key, value, 'must be an MP3 bitrate such as "96k"')
    text = str(value)
    return {"bitrate": check(f"--bitrate {text!r}: ", lambda: parse_bitrate(text))}


# ---------------------------------------------------------------- the command line


def command_line(
    overrides: Iterable[tuple[str, str]] = (), voice: str | None = None,
    rate_wpm: int | None = None, verbosity: str | None = None, breath: str | None = None,
    fit: str | None = None, bitrate: str | None = None,
) -> Choices:  # fmt: skip
    """The command line's choices, checked (``("hold", "45")`` pairs and option values as
    typed; ``--breath off`` and ``--fit off`` turn off a saved preference)."""

    def is_off(raw: str | None) -> bool:
        return raw is not None and raw.strip().lower() in _OFF_WORDS

    if verbosity is not None and verbosity not in VERBOSITIES:
        raise SettingsError(f"--verbosity {verbosity!r}: must be one of {', '.join(VERBOSITIES)}")
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
        breath_s="off" if is_off(breath) else parse_breath(breath) if breath is not None else None,
        fit_s="off" if is_off(fit) else parse_duration(fit) if fit is not None else None,
        bitrate=parse_bitrate(bitrate) if bitrate is not None else None,
    )


# ---------------------------------------------------------------- putting it together


@dataclass(frozen=True)
class Row:
    """One line of ``voiceguide config``: a setting (of one exercise), its value, its source."""

    setting: str
    value: str
    source: Source
    exercise: str | None = None


@dataclass(frozen=True)
class Resolved:
    """The settings to use, the export bitrate, and where every value comes from."""

    settings: Settings
    bitrate: str
    rows: tuple[Row, ...]
    config: Path  # the config file (it may not exist)
    config_found: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "config_file": str(self.config),
            "config_file_found": self.config_found,
            "settings": [
                {"setting": r.setting, "exercise": r.exercise, "value": r.value,
                 "from": r.source.kind, "path": str(r.source.path) if r.source.path else None,
                 "table": r.source.table}
                for r in self.rows
            ],
        }  # fmt: skip


def resolve(routine: Routine | None, command: Choices, config: Config | None) -> Resolved:
    """Settings for ``routine`` from the defaults, the routine, the config file (its top
    level, then the routine's table) and the command line, each overriding the one before.
    Without a routine (the cue legend), only what is not per routine: voice, rate, bitrate."""
    layers: list[Choices] = []
    if config is not None:
        top = config.top
        kept = tuple(o for o in top.overrides if routine is not None and _applies(o, routine))
        layers.append(dataclasses.replace(top, overrides=kept))
        own = config.routines.get(routine.name) if routine is not None else None
        if routine is not None and own is not None:
            place = _Place(config.path, f"routines.{routine.name}")
            for o in own.overrides:
                _check_applies(o, routine, place)
            layers.append(own)
    layers.append(command if routine is not None else dataclasses.replace(command, overrides=()))
    overrides = _merge_overrides(layers)

    def pick(name: str, default: Any) -> tuple[Any, Source]:
        for layer in reversed(layers):
            value = getattr(layer, name)
            if value is not None:
                return (None if value == "off" else value), layer.source
        return default, DEFAULT

    picked = {
        name: pick(name, default)
        for name, default in (("voice", Settings.voice), ("rate_wpm", Settings.rate_wpm),
                              ("verbosity", Settings.verbosity), ("breath_s", None),
                              ("fit_s", None), ("bitrate", DEFAULT_BITRATE))
    }  # fmt: skip
    settings = Settings(
        overrides=tuple(o for o, _source in overrides),
        **{name: value for name, (value, _s) in picked.items() if name != "bitrate"},
    )
    rows = _exercise_rows(routine, settings, overrides) if routine is not None else []
    shown: dict[str, Callable[[Any], str]] = {
        "voice": str, "rate_wpm": str, "verbosity": str,
        "breath_s": lambda v: "-".join(templates.format_number(s) for s in v) if v else "off",
        "fit_s": lambda v: clock(round(v * 1000)) if v else "off", "bitrate": str,
    }  # fmt: skip
    names = {"rate_wpm": "rate", "breath_s": "breath", "fit_s": "fit"}
    rows += [Row(names.get(name, name), shown[name](value), source)
             for name, (value, source) in picked.items()]  # fmt: skip
    path = config.path if config is not None else config_path()
    return Resolved(settings, picked["bitrate"][0], tuple(rows), path, config is not None)


def _applies(o: Override, routine: Routine) -> bool:
    kinds = OPTION_FIELDS[o.option][1]
    if o.exercise is None:
        return any(e.kind in kinds for e in routine.exercises)
    return any(e.id == o.exercise and e.kind in kinds for e in routine.exercises)


def _check_applies(o: Override, routine: Routine, place: _Place) -> None:
    try:
        apply_settings(routine, Settings(overrides=(o,)))
    except SettingsError as error:
        number = int(o.value) if o.value.is_integer() else o.value
        shown: Any = f"{o.exercise}={number}" if o.exercise else number
        raise place.restated(o.option, shown, error, f"{o.describe()}: ") from None


def _merge_overrides(layers: Sequence[Choices]) -> list[tuple[Override, Source]]:
    """Each level's values replace the levels' below: a global one every value of its
    option, a per-exercise one that exercise's."""
    merged: list[tuple[Override, Source]] = []
    for layer in layers:
        every = {o.option for o in layer.overrides if o.exercise is None}
        one = {(o.option, o.exercise) for o in layer.overrides if o.exercise is not None}
        merged = [(o, s) for o, s in merged
                  if o.option not in every and (o.option, o.exercise) not in one]  # fmt: skip
        merged += [(o, layer.source) for o in layer.overrides]
    return merged


def _exercise_rows(
    routine: Routine, settings: Settings, overrides: list[tuple[Override, Source]]
) -> list[Row]:
    applied = apply_settings(routine, settings)
    rows = []
    for option, (field_name, kinds) in OPTION_FIELDS.items():
        for exercise in applied.exercises:
            if exercise.kind not in kinds:
                continue
            source = Source("routine", exercise.source)
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
