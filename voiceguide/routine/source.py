"""One YAML file being read: its text and fields, and where its problems go.

:func:`read_source` reads a routine file or a narration script (a regular file, bounded in
size, UTF-8, plain YAML types only, a mapping of text keys, no key given twice) into a
:class:`Source`, the context every check reports through: the file, the exercise and the
field, and the line the YAML says.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voiceguide.errors import RoutineError
from voiceguide.files import read_regular
from voiceguide.routine import plain_yaml

__all__ = ["Problems", "SourceFile", "field_name", "read_source", "shown", "unreadable_reason"]

_MAX_FILE_BYTES = 256 * 1024


class Problems:
    """Where the checks report: loading stops at the first problem (it is raised); checking
    keeps every problem and goes on with what is left, leaving out what depends on a wrong
    value (so one mistake is reported once)."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.found: list[RoutineError] = []

    def add(self, error: RoutineError) -> None:
        if not self.collect:
            raise error from None
        self.found.append(error)


@dataclass(frozen=True)
class SourceFile:
    """A file's fields (``data``) and ``text``, the exercise it describes (None for a routine
    file), and the problems it reports into."""

    path: Path
    text: str
    data: dict[str, Any]
    problems: Problems
    exercise: str | None = None

    def about(self, exercise: str | None) -> SourceFile:
        """The same file, its problems naming ``exercise``."""
        return dataclasses.replace(self, exercise=exercise)

    def line(self, key: str | None) -> int | None:
        """The line of a top-level key (None when it cannot be found)."""
        return _key_lines(self.text).get(key) if key is not None else None

    def item_line(self, key: str, index: int) -> int | None:
        """The line of the ``index``-th (from 0) item of the top-level list ``key``, else the
        key's line."""
        lines = _item_lines(self.text).get(key, ())
        return lines[index] if index < len(lines) else self.line(key)

    def report(
        self,
        message: str,
        field: str | None = None,
        *,
        line_key: str | None = None,
        exercise: str | None = None,
        line: int | None = None,
    ) -> None:
        """A problem with ``field`` (at ``line``, else at the line of ``line_key``, by default
        the field's)."""
        self.problems.add(
            RoutineError(
                message,
                path=self.path,
                exercise=exercise or self.exercise,
                field=field,
                line=line if line is not None else self.line(line_key or field),
            )
        )


def read_source(path: Path, problems: Problems, exercise: str | None = None) -> SourceFile | None:
    """The file as a :class:`Source`; None (after reporting why) when it cannot be read.
    ``exercise``: the exercise a narration script is for, named by problems with a field."""
    try:
        text, data = _read(path)
    except _Unreadable as unreadable:
        named = exercise if unreadable.field is not None else None
        problems.add(
            RoutineError(
                unreadable.message,
                path=path,
                line=unreadable.line,
                field=unreadable.field,
                exercise=named,
            )
        )
        return None
    refused = plain_yaml.refused_values(data)
    for key, value in refused:  # every one, then nothing more of this file
        name = field_name(key) if isinstance(key, str) else None
        problems.add(
            RoutineError(
                value.reason,
                path=path,
                line=value.line,
                field=name,
                exercise=exercise if name is not None else None,
            )
        )
    if refused:
        return None
    return SourceFile(path, text, data, problems)


class _Unreadable(Exception):
    def __init__(self, message: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.field = message, line, field


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and fields, or :class:`_Unreadable` saying why not."""
    try:
        raw = read_regular(path, _MAX_FILE_BYTES)
    except FileNotFoundError:
        raise _Unreadable("no such file") from None
    except OSError as error:
        reason = unreadable_reason(error, "256 KiB, the most a narration file may be")
        raise _Unreadable(reason) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Unreadable(
            f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8",
            line=raw[: error.start].count(b"\n") + 1,
        ) from None
    try:
        data = plain_yaml.parse(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "malformed YAML"
        line = mark.line + 1 if mark else None
        raise _Unreadable(f"malformed YAML: {_brief(problem)}", line=line) from None
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (NUL, ...)
        character = error.character if isinstance(error.character, int) else 0
        raise _Unreadable(
            f"malformed YAML: character U+{character:04X} is not allowed in YAML text",
            line=text[: error.position].count("\n") + 1,
        ) from None
    except yaml.YAMLError as error:
        raise _Unreadable(f"malformed YAML: {_brief(' '.join(str(error).split()))}") from None
    except RecursionError:
        raise _Unreadable("malformed YAML: nested too deeply") from None
    if data is None:
        raise _Unreadable("is empty; it must be a YAML mapping of fields")
    if isinstance(data, plain_yaml.Refused):
        raise _Unreadable(data.reason, line=data.line)
    if not isinstance(data, dict):
        raise _Unreadable(f"must be a YAML mapping of fields, got {type(data).__name__}")
    odd = [key for key in data if not isinstance(key, str | plain_yaml.Refused)]
    if odd:
        raise _Unreadable(f"field names must be text, got {shown(odd[0])}")
    duplicate = _duplicate_key(text)
    if duplicate is not None:
        raise _Unreadable("is given twice", line=duplicate[1], field=field_name(duplicate[0]))
    return text, data


def unreadable_reason(error: OSError, largest: str) -> str:
    """Why :func:`~voiceguide.files.read_regular` could not read a file, in a few words."""
    if error.errno == errno.EINVAL:
        return "is not a regular file (a folder, a device or a pipe)"
    if error.errno == errno.EFBIG:
        return f"is larger than {largest}"
    return f"cannot read: {error.strerror or error}"


def _brief(problem: str) -> str:
    """PyYAML's problem, each piece of the file it quotes (an alias, a tag...) cut short."""
    return re.sub(r"'([^'\n]{20})[^'\n]+'", r"'\1...'", problem)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxlevel = 2


def shown(value: Any) -> str:
    """A short, one-line repr of a value from a file, whatever its size or depth."""
    return _REPR.repr(value)


def field_name(key: str) -> str:
    """A field name as an error message shows it: odd ones (control characters, very long)
    as a short repr, so a message stays one readable line."""
    if key.isprintable() and len(key) <= 64:
        return key
    escaped = key.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= 64 else escaped[:61] + "..."


def _duplicate_key(text: str) -> tuple[str, int] | None:
    """The first mapping key given twice (PyYAML silently keeps the last), with its line."""
    try:
        root = plain_yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return None
    stack, visited = [root], set()
    while stack:  # iterative, visiting shared (aliased) nodes once
        node = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    if key_node.value in keys:
                        return str(key_node.value), int(key_node.start_mark.line) + 1
                    keys.add(key_node.value)
                stack.extend((key_node, value_node))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def _top_level(text: str) -> list[tuple[str, yaml.Node]]:
    """The file's top-level keys and their value nodes (none when it is not a mapping)."""
    try:
        node = plain_yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    return [
        (key.value, value)
        for key, value in node.value
        if isinstance(getattr(key, "value", None), str)
    ]


@functools.lru_cache(maxsize=16)
def _key_lines(text: str) -> dict[str, int]:
    """Each top-level key's line: the file is composed once, however many fields ask."""
    lines: dict[str, int] = {}
    for key, value_node in _top_level(text):
        if key not in lines:
            lines[key] = int(value_node.start_mark.line) + 1
    return lines


@functools.lru_cache(maxsize=16)
def _item_lines(text: str) -> dict[str, tuple[int, ...]]:
    """The line of each item of each top-level list."""
    lines: dict[str, tuple[int, ...]] = {}
    for key, value_node in _top_level(text):
        if isinstance(value_node, yaml.SequenceNode):
            lines.setdefault(key, tuple(int(i.start_mark.line) + 1 for i in value_node.value))
    return lines
