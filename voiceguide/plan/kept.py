"""Settings changed from the phone, kept: ``phone.toml`` beside the config file.

The phone page (``voiceguide serve``) keeps what it changed as that routine's saved
preferences, so a restart of the server, ``export`` and ``play`` use them too. They are one
more level of :mod:`.preferences`: above the config file, below the command line. The file
is voiceguide's own (the config file is the user's, comments and all, and stays untouched)
and has the config file's shape and keys::

    [routines."outer-hip"]
    hold = ["supine-hip-stretch=60"]
    rate = 150

Reading it is forgiving where the config file is strict: a value that is wrong (or no
longer applies) is left out alone, and a damaged file counts as empty, so one bad value
never stops a command. Writing it is all-or-nothing (a whole new file renamed into place).
"""

from __future__ import annotations

import contextlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.files import atomic_write, read_regular
from voiceguide.plan.catalog import OPTION_FIELDS, SETTINGS
from voiceguide.plan.choices import Choices, SettingSource
from voiceguide.plan.config import Place, _choices, config_dir

__all__ = ["KEPT_NAME", "keep", "kept_path", "load_kept"]

KEPT_NAME = "phone.toml"
# what the phone's form sets besides the per-exercise numbers (the rest is the config file's)
_FORM_ATTRIBUTES = tuple(s.attribute for s in SETTINGS if s.on_form and not s.per_exercise)
_INTEGER = {s.name: s.kind == "integer" for s in SETTINGS}
_MAX_BYTES = 256 * 1024
_HEADER = (
    "# Settings changed from the phone page (voiceguide serve), kept per routine.\n"
    "# voiceguide writes this file. The config file's values come before these, the\n"
    "# command line's after them; delete a line (or the file) to forget them.\n"
)


def kept_path() -> Path:
    return config_dir() / KEPT_NAME


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """The file's tables by routine; nothing when it is missing, unreadable or damaged."""
    try:
        data = tomllib.loads(read_regular(path, _MAX_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return {}
    tables = data.get("routines")
    if not isinstance(tables, dict):
        return {}
    return {name: table for name, table in tables.items() if isinstance(table, dict)}


def load_kept(routine: str, path: Path | None = None) -> Choices | None:
    """The settings kept for ``routine``, each value checked alone (a wrong one is left
    out); None when none are kept."""
    path = path or kept_path()
    table = _read(path).get(routine)
    if not table:
        return None
    place = Place(path, f"routines.{routine}")
    values: dict[str, Any] = {}
    overrides: list[Any] = []
    for key, value in table.items():
        items = value if key in OPTION_FIELDS and isinstance(value, list) else [value]
        for item in items:
            with contextlib.suppress(SettingsError):
                one = _choices({key: item}, place)
                overrides += one.overrides
                values.update(
                    {
                        name: getattr(one, name)
                        for name in _FORM_ATTRIBUTES
                        if getattr(one, name) is not None
                    }
                )
    if not overrides and not values:
        return None
    return Choices(SettingSource("phone", path, f"routines.{routine}"), tuple(overrides), **values)


def keep(routine: str, fields: Mapping[str, str], path: Path | None = None) -> Path:
    """Add the phone form's ``fields`` (``{"hold:supine-hip-stretch": "60", "rate":
    "150"}``, values checked already) to what is kept for ``routine``. Raises OSError."""
    path = path or kept_path()
    tables = _read(path)
    table = dict(tables.get(routine, {}))
    for name, value in fields.items():
        option, _, exercise = name.partition(":")
        if exercise:
            old = table.get(option, [])
            items = [str(x) for x in (old if isinstance(old, list) else [old])]
            items = [x for x in items if x.partition("=")[0].strip() != exercise]
            table[option] = [*items, f"{exercise}={value}"]
        elif _INTEGER.get(option, False):
            table[option] = int(value)
        else:
            table[option] = value
    tables[routine] = table
    atomic_write(path, _toml(tables).encode("utf-8"))
    return path


def _toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [_HEADER]
    for name, table in sorted(tables.items()):
        lines.append(f"\n[routines.{_string(name)}]\n")
        for key, value in table.items():
            lines.append(f"{_string(key)} = {_value(value)}\n")
    return "".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return _string(str(value))


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, but for the characters kept as is)."""
    return json.dumps(text, ensure_ascii=False)
