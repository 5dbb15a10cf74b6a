"""The longest plan voiceguide makes: a routine (or options) that would play for more than
12 hours is a mistake (a zero too many, an exercise list pasted twice), refused before
anything is synthesized, naming what makes it long."""

from __future__ import annotations

from voiceguide.errors import SettingsError
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.text import clock

__all__ = ["MAX_PLAN_MS", "check_length", "too_long"]

MAX_PLAN_MS = 12 * 3600 * 1000


def too_long(timeline: Timeline, settings: Settings | None = None) -> str | None:
    """Why the timeline is too long (its length, its longest exercises, the options that
    lengthen it), or None."""
    if timeline.total_ms <= MAX_PLAN_MS:
        return None
    longest = sorted(timeline.chapters, key=lambda c: c.start_ms - c.end_ms)[:3]
    named = ", ".join(f"'{c.title}' {clock(c.end_ms - c.start_ms)}" for c in longest)
    options = [o.describe() for o in settings.overrides] if settings is not None else []
    return (
        f"the plan lasts {clock(timeline.total_ms)}, more than the {MAX_PLAN_MS // 3_600_000} "
        f"hours allowed: {len(timeline.chapters)} parts, the longest {named}"
        + (f"; options: {' '.join(options)}" if options else "")
    )


def check_length(timeline: Timeline, settings: Settings | None = None) -> None:
    """Raise SettingsError (exit 2) when the timeline is longer than :data:`MAX_PLAN_MS`."""
    problem = too_long(timeline, settings)
    if problem is not None:
        raise SettingsError(problem)
