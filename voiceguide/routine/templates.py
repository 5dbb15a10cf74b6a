"""Template variables in narration text: ``"Hold for {hold_s} seconds."``.

Which variables a text may use depends on where it is spoken; :func:`check` reports
unknown names when a script is loaded, so a typo never reaches the renderer.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

__all__ = ["ALLOWED", "VARIABLES", "check", "fill", "format_number"]

# Every variable, with what it means (documented in the README).
VARIABLES: dict[str, str] = {
    "title": "the exercise's title",
    "next": "the next exercise's title (or: the closing)",
    "hold_s": "the hold length in seconds",
    "rounds": "how many rounds (hold exercises)",
    "reps": "how many reps per set",
    "sets": "how many sets",
    "rest_s": "the rest between rounds or sets, in seconds",
    "work_s": "the effort part of a rep (e.g. squeeze), in seconds",
    "release_s": "the release part of a rep, in seconds",
    "side": "the current side: left or right",
    "Side": "the current side, capitalised: Left or Right",
    "other_side": "the other side",
    "round": "the current round number",
    "set": "the current set number",
    "rep": "the current rep number",
}

_EXERCISE_WIDE = frozenset(
    {"title", "next", "hold_s", "rounds", "reps", "sets", "rest_s", "work_s", "release_s"}
)
_PER_SIDE = _EXERCISE_WIDE | {"side", "Side", "other_side", "round"}

# Field name -> the variables it may use.
ALLOWED: dict[str, frozenset[str]] = {
    "intro": _EXERCISE_WIDE,
    "caution": _EXERCISE_WIDE,
    "setup": _EXERCISE_WIDE,
    "closing": _EXERCISE_WIDE,
    "side_setup": _PER_SIDE,
    "side_again": _PER_SIDE,
    "round_intro": _EXERCISE_WIDE | {"round"},
    "round_end": _EXERCISE_WIDE | {"round"},
    "round_again": _EXERCISE_WIDE | {"round"},
    "rest_cue": _EXERCISE_WIDE,
    "hold_cue": _PER_SIDE,
    "during": _PER_SIDE,
    "reminders": _PER_SIDE,
    "breathing": _PER_SIDE,
    "after": _PER_SIDE,
    "set_intro": _EXERCISE_WIDE | {"set"},
    "rep_cue": _EXERCISE_WIDE | {"set", "rep"},
    "set_end": _EXERCISE_WIDE | {"set"},
}

_FORMATTER = string.Formatter()


def _names(text: str) -> list[str]:
    """The variable names a template uses; raises ValueError on broken braces."""
    names = []
    for _literal, name, spec, conversion in _FORMATTER.parse(text):
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"'{{{name}}}' may not carry a format spec or conversion")
        names.append(name)
    return names


def check(text: str, allowed: frozenset[str]) -> str | None:
    """Return a problem description, or None when the template is fine."""
    try:
        names = _names(text)
    except ValueError as error:
        return f"bad template ({error}); write {{{{ and }}}} for literal braces"
    for name in names:
        if name not in allowed:
            known = ", ".join("{" + n + "}" for n in sorted(allowed))
            return f"unknown template variable {{{name}}} (known here: {known})"
    return None


def format_number(value: float) -> str:
    """30.0 -> "30", 22.5 -> "22.5": how a number is spoken."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def fill(text: str, values: Mapping[str, object]) -> str:
    """Fill a checked template."""
    if "{" not in text and "}" not in text:
        return text
    shown = {k: format_number(v) if isinstance(v, float) else v for k, v in values.items()}
    return text.format_map(shown)
