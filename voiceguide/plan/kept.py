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
never stops a command. This module reads and writes its text (bytes in, values out, and
back); where the file is, reading and writing it is :mod:`voiceguide.pipeline.saved`'s.
"""

from __future__ import annotations

import contextlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.plan.catalog import OPTION_FIELDS, SETTINGS
from voiceguide.plan.choices import Choices, SettingSource
from voiceguide.plan.config import Place, _choices

__all__ = ["KeptTables", "kept_choices", "kept_tables", "kept_text", "with_fields"]

KeptTables = dict[str, dict[str, Any]]
"""phone.toml's tables, by routine name."""

# what the phone's form sets besides the per-exercise numbers (the rest is the config file's)
_FORM_ATTRIBUTES = tuple(s.attribute for s in SETTINGS if s.on_form and not s.per_exercise)
_INTEGER = {s.name: s.kind == "integer" for s in SETTINGS}
_HEADER = (
    "# Settings changed from the phone page (voiceguide serve), kept per routine.\n"
    "# voiceguide writes this file. The config file's values come before these, the\n"
    "# command line's after them; delete a line (or the file) to forget them.\n"
)


def kept_tables(raw: bytes | None) -> KeptTables:
    """The file's tables by routine; nothing when it is missing (None), or damaged."""
    if raw is None:
        return {}
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return {}
    tables = data.get("routines")
    if not isinstance(tables, dict):
        return {}
    return {name: table for name, table in tables.items() if isinstance(table, dict)}


def kept_choices(tables: KeptTables, routine: str, path: Path) -> Choices | None:
    """The settings kept for ``routine``, each value checked alone (a wrong one is left
    out); None when none are kept. ``path``: the file, for where a value comes from."""
    table = tables.get(routine)
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


def with_fields(tables: KeptTables, routine: str, fields: Mapping[str, str]) -> KeptTables:
    """``tables`` with the phone form's ``fields`` (``{"hold:supine-hip-stretch": "60",
    "rate": "150"}``, values checked already) added to what is kept for ``routine``."""
    tables = dict(tables)
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
    return tables


def kept_text(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """The file's text for ``tables`` (a header saying whose file it is, then a
    ``[routines.NAME]`` table each)."""
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
