"""Reading one field of a :class:`~voiceguide.routine.source.Source`: text, a list of texts,
a number in its range, the sides. Each reports what is wrong and returns None for it."""

from __future__ import annotations

import re
from typing import Any

from voiceguide.routine import templates
from voiceguide.routine.model import PER_DAY_LIMIT, SIDES, Limit, Side
from voiceguide.routine.source import SourceFile, field_name, shown
from voiceguide.routine.text import did_you_mean

__all__ = ["number", "per_day", "reject_unknown", "sides", "text", "text_list"]


def reject_unknown(src: SourceFile, known: frozenset[str]) -> None:
    """Every key of the file that is not a known field is a problem (with a "did you mean")."""
    for key in src.data:
        if key not in known:
            src.report(f"unknown field{did_you_mean(key, known)}", field_name(key), line_key=key)


def text(src: SourceFile, key: str, required: bool, value: Any = None) -> str | None:
    """The cleaned text of a field ("" when it is not given; ``value`` instead of the file's
    when given); None when it is wrong."""
    present = value is not None or key in src.data
    if value is None:
        value = src.data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        src.report(f"must be text, got {type(value).__name__}", key)
        return None
    if any((ord(ch) < 32 and ch not in "\n\t\r") or 0xD800 <= ord(ch) < 0xE000 for ch in value):
        src.report("contains control characters or an unpaired surrogate", key)
        return None
    cleaned = _clean_text(value)
    if required and present and not cleaned:
        src.report("is empty; write the text to speak, or leave the field out", key)
        return None
    if key == "title" and not cleaned:
        src.report("is missing", key)  # (not in the file: no line)
        return None
    return cleaned


def text_list(src: SourceFile, key: str) -> tuple[str, ...] | None:
    """A list of texts (one text alone is a list of one); None when it is wrong."""
    value = src.data.get(key)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        src.report("must be a list of texts", key)
        return None
    cleaned = []
    for item in items:
        one = text(src, key, True, item)
        if one is None:
            return None
        cleaned.append(one)
    return tuple(cleaned)


def number(
    src: SourceFile,
    value: Any,
    limit: Limit,
    key: str,
    line_key: str | None = None,
    line: int | None = None,
) -> float | None:
    """The checked value of a number field (at ``line``, else at the line of ``line_key``,
    by default the field's); None when it is wrong."""
    at: dict[str, Any] = {"line_key": line_key or key, "line": line}
    if isinstance(value, bool) or not isinstance(value, int | float):
        src.report(f"must be a number, got {shown(value)}", key, **at)
        return None
    if limit.integer and isinstance(value, float) and not value.is_integer():
        src.report(f"must be a whole number, got {shown(value)}", key, **at)
        return None
    if not limit.low <= value <= limit.high:
        unit = " s" if key.endswith("_s") else ""
        src.report(
            f"must be between {templates.format_number(limit.low)}{unit} and "
            f"{templates.format_number(limit.high)}{unit}, got {shown(value)}",
            key,
            **at,
        )
        return None
    return int(value) if limit.integer else float(value)


def per_day(src: SourceFile, value: Any) -> tuple[int, int] | None:
    """``per_day: 2`` or ``per_day: [1, 2]`` (once or twice a day): (fewest, most); None
    when it is wrong."""
    pair = value if isinstance(value, list) else [value, value]
    if len(pair) != 2:
        src.report(
            f"must be a number of times a day, or [fewest, most], got {shown(value)}", "per_day"
        )
        return None
    low, high = (number(src, v, PER_DAY_LIMIT, "per_day") for v in pair)
    if low is None or high is None:
        return None
    if low > high:
        src.report(f"the fewest ({low:g}) is more than the most ({high:g})", "per_day")
        return None
    return int(low), int(high)


def sides(src: SourceFile, value: Any) -> tuple[Side, ...] | None:
    """``sides: [left, right]`` (or [] or nothing: no sides); None when it is wrong."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        src.report("must be a list such as [left, right], or [] for no sides", "sides")
        return None
    found: list[Side] = []
    for side in value:
        if side not in SIDES:
            src.report(f"must hold only 'left' and 'right', got {shown(side)}", "sides")
            return None
        if side in found:
            src.report(f"names '{side}' twice", "sides")
            return None
        found.append(side)
    return tuple(found)


def _clean_text(value: str) -> str:
    """Fold white space inside paragraphs; keep blank lines between paragraphs."""
    paragraphs = re.split(r"\n\s*\n", value.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
