"""The settings form's words: what a render is for, and the errors a form gets back (the
fields themselves are declared in :mod:`voiceguide.plan.catalog`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from voiceguide.plan.catalog import SETTINGS

__all__ = ["LABELS", "error_answer", "field_of", "plain", "what"]


def what(changed: Mapping[str, str]) -> str:
    """The changes a render is for, in words: "hold of supine-hip-stretch 45, rate 150"."""
    parts = []
    for name, value in changed.items():
        option, _, exercise = name.partition(":")
        parts.append(f"{option} of {exercise} {value}" if exercise else f"{option} {value}")
    return ", ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")


def field_of(message: str) -> str | None:
    """The form field a render's error names (``--fit 1m: ...`` -> ``fit``), if any."""
    match = _FIELD.match(message)
    return match.group(1) if match else None


def error_answer(errors: list[tuple[str | None, str]]) -> dict[str, Any]:
    return {"errors": [{"field": field, "message": message} for field, message in errors]}


LABELS = {s.name: s.label for s in SETTINGS if s.on_form}
# the form's fields of the whole routine, as the options a message starts with
_FIELD = re.compile(
    "--(" + "|".join(s.name for s in SETTINGS if s.on_form and not s.per_exercise) + r")\b"
)
_PLAIN = (
    (re.compile(r"must be between (\S+) s and (\S+) s\b"), r"\1 to \2 seconds"),
    (re.compile(r"must be between (\S+) and (\S+)"), r"\1 to \2"),
    (re.compile(r"must be one of (.*)"), r"one of \1"),
    (re.compile(r"'' is not a number.*"), "give a number"),
    (re.compile(r"'(.*)' is not a number.*"), r"give a number ('\1' is not one)"),
    (re.compile(r"Input should be a valid integer.*"), "give a whole number"),
)


def plain(field: str | None, message: str) -> str:
    """The command line's message for a form: "Hold: 5 to 600 seconds" instead of
    "--hold 'supine-hip-stretch=3': must be between 5 s and 600 s" (the field's label, not
    the option; the value is in the field itself)."""
    option = (field or "").partition(":")[0]
    match = re.match(
        r"(?:Invalid value for '--([a-z-]+)'|--([a-z-]+)(?: '[^']*'| \S+)?):\s*", message
    )
    if match is None:
        return message
    option = option or match.group(1) or match.group(2)
    reason = message[match.end() :]
    reason = re.sub(r"\s*\(see 'voiceguide [^)]*'\)$", "", reason)
    for pattern, words in _PLAIN:
        if pattern.match(reason):
            reason = pattern.sub(words, reason, count=1)
            break
    # other options named in the reason, by their labels too
    reason = re.sub(r"--([a-z]+)", lambda m: LABELS.get(m[1], m[1]).lower(), reason)
    return f"{LABELS.get(option, option.capitalize())}: {reason}"
