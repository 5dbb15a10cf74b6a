"""Saved preferences: the config file.

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
    bed = "~/Music/calm.mp3"                    # or "pad"; bed_level = -18 (dB under speech)

This module reads its text (:func:`parse_config`: bytes in, checked settings out); where
the file is and reading it is the caller's (:mod:`voiceguide.pipeline.saved`). How its
values combine with the others: :mod:`voiceguide.plan.preferences`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.plan.catalog import CONFIG_KEYS, Setting, setting
from voiceguide.plan.choices import Choices, SettingSource, is_off
from voiceguide.plan.settings import Override, parse_override
from voiceguide.routine import templates
from voiceguide.routine.lexicon import lexicon_problem
from voiceguide.routine.text import did_you_mean

__all__ = ["CONFIG_KEYS", "Config", "Place", "parse_config"]


@dataclass(frozen=True)
class Config:
    """A config file: its top level and its per-routine tables."""

    path: Path
    top: Choices
    routines: Mapping[str, Choices] = field(default_factory=dict)


# ---------------------------------------------------------------- reading the config file


def parse_config(raw: bytes, path: Path) -> Config:
    """The config file's content, every value checked (``path``: the file, for messages and
    for a relative music file's folder)."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # Notepad saves a BOM first
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: the config file is not UTF-8 text") from None
    not_toml = f"{path}: the config file is not valid TOML"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{not_toml}: {error}") from None
    except RecursionError:  # arrays or inline tables nested hundreds deep
        raise SettingsError(f"{not_toml}: nested too deeply") from None
    except ValueError:  # an integer of more than 4,300 digits (Python will not read one)
        raise SettingsError(f"{not_toml}: a number is too long{_long_number_line(text)}") from None
    _check_shape(data, path)
    tables = data.pop("routines", {})
    top = _choices(data, Place(path, None))
    if not isinstance(tables, dict):
        raise Place(path, None).error(
            "routines", tables, "must hold one table per routine, such as [routines.outer-hip]"
        )
    routines: dict[str, Choices] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise Place(path, "routines").error(
                name, table, f"must be a table of settings, [routines.{name}]"
            )
        routines[name] = _choices(table, Place(path, f"routines.{name}"))
    return Config(path, top, routines)


_MAX_DEPTH = 8  # [routines.NAME] key = [list]: 4 deep; the rest is never a setting
_TOML_INTEGERS = range(-(2**63), 2**63)  # TOML's integers are 64-bit


def _long_number_line(text: str) -> str:
    match = re.search(r"[0-9_]{4000,}", text)
    return f" (line {text.count(chr(10), 0, match.start()) + 1})" if match else ""


def _check_shape(data: dict[str, Any], path: Path) -> None:
    """No table or array nested deeper than settings ever are (a dotted key 5,000 long is
    5,000 tables), no integer outside TOML's 64 bits (``0x`` and 5,000 f's)."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        key = where if len(where) <= 40 else where[:37] + "..."
        if depth > _MAX_DEPTH:
            raise SettingsError(f"{path}: key '{key}': nested too deeply for a setting")
        if isinstance(value, int) and not isinstance(value, bool) and value not in _TOML_INTEGERS:
            raise SettingsError(f"{path}: key '{key}': the integer is larger than TOML allows")
        if isinstance(value, dict):
            stack += [(v, depth + 1, f"{where}.{k}" if where else str(k)) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, depth + 1, where) for v in value]


@dataclass(frozen=True)
class Place:
    """A table of the config file, for messages naming the file, the table and the key."""

    path: Path
    table: str | None

    @property
    def source(self) -> SettingSource:
        return SettingSource("config", self.path, self.table)

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


def _choices(table: dict[str, Any], place: Place) -> Choices:
    values: dict[str, Any] = {}
    overrides: list[Override] = []
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            hint = did_you_mean(key, CONFIG_KEYS)
            raise place.error(
                key, value, f"unknown setting{hint}; settings: " + ", ".join(CONFIG_KEYS)
            )
        declared = setting(key)
        if declared.per_exercise:
            overrides += _overrides(declared, value, place)
        else:
            values[declared.attribute] = _value(declared, value, place)
    return Choices(place.source, tuple(overrides), **values)


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    """``value`` is of one of the TOML ``types`` (true and false are not integers here)."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _overrides(declared: Setting, value: Any, place: Place) -> list[Override]:
    items = value if isinstance(value, list) else [value]
    parsed = []
    for item in items:
        if isinstance(item, list) or not _is_a(item, declared.toml_types):
            raise place.error(declared.name, value, declared.toml_hint)
        text = str(item)
        try:
            parsed.append(parse_override(declared.name, text))
        except SettingsError as error:
            raise place.restated(declared.name, item, error, declared.prefix(text)) from None
    return parsed


def _value(declared: Setting, value: Any, place: Place) -> Any:
    """The value of a setting that is not per exercise, checked as the command line checks
    it; its error (``--rate 9: ...``) is said of this key instead."""
    key = declared.name
    if declared.can_be_off and (value is False or (isinstance(value, str) and is_off(value))):
        return "off"
    if not _is_a(value, declared.toml_types):
        raise place.error(key, value, declared.toml_hint)
    if declared.kind == "switch":
        return value
    if declared.kind == "table":
        for word, respelling in value.items():
            problem = lexicon_problem(word, respelling)
            if problem is not None:
                raise place.error(key, value, problem)
        return tuple((w, r.strip()) for w, r in value.items())
    text = value if isinstance(value, str) else templates.format_number(value)
    try:  # a relative path is relative to the config file's folder
        return declared.parse(text, place.path.parent)
    except SettingsError as error:
        raise place.restated(key, value, error, declared.prefix(text)) from None
