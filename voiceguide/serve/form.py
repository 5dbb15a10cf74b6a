"""The settings form's words: field values as the command line takes them, what a render
is for, and the errors a form gets back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["duration", "error_answer", "field_of", "number", "what"]


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "off"
    minutes, rest = divmod(seconds, 60)
    if rest == 0:
        return f"{number(minutes)}m"
    return f"{number(minutes)}m{number(rest)}s" if minutes else f"{number(rest)}s"


def what(changed: Mapping[str, str]) -> str:
    """The changes a render is for, in words: "hold of supine-hip-stretch 45, rate 150"."""
    parts = []
    for name, value in changed.items():
        option, _, exercise = name.partition(":")
        parts.append(f"{option} of {exercise} {value}" if exercise else f"{option} {value}")
    return ", ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")


def field_of(message: str) -> str | None:
    """The form field a render's error names (``--fit 1m: ...`` -> ``fit``), if any."""
    match = re.match(r"--(voice|rate|verbosity|breath|fit)\b", message)
    return match.group(1) if match else None


def error_answer(errors: list[tuple[str | None, str]]) -> dict[str, Any]:
    return {"errors": [{"field": field, "message": message} for field, message in errors]}
