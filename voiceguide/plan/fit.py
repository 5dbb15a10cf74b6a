"""``--fit 15m``: stretch or shrink holds and rests, within each exercise's allowed range,
so the whole routine lasts the time the user has.

Every exercise with a ``fit`` range in its script moves its hold (and rest) from its own
value toward the range's longest (to lengthen) or shortest (to shorten) by one shared
fraction, so everything grows or shrinks together; the fraction is found by bisection on the
compiled total, so the result is exact to the compiler's own arithmetic (values are kept to
0.1 s, which keeps the total within a second of the target). Numbers the user set on the
command line are left as they are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from voiceguide.errors import SettingsError
from voiceguide.plan.compiler import Measure, compile_routine
from voiceguide.plan.settings import OPTION_FIELDS, Override, Settings
from voiceguide.routine.model import Routine
from voiceguide.routine.text import clock

__all__ = ["FitResult", "fit"]

_OPTION_OF_FIELD = {field: option for option, (field, _kinds) in OPTION_FIELDS.items()}
_STEPS = 40


@dataclass(frozen=True)
class FitResult:
    settings: Settings  # the settings with the fitted overrides added
    total_ms: int
    changes: tuple[str, ...]  # "supine-hip-stretch hold_s 30 -> 24.5 s", ...


def fit(routine: Routine, settings: Settings, measure: Measure) -> FitResult:
    """Settings that make the routine last ``settings.fit_s`` (within a second)."""
    assert settings.fit_s is not None
    target_ms = round(settings.fit_s * 1000)
    pinned = {(o.exercise, o.field) for o in settings.overrides}
    globally = {o.field for o in settings.overrides if o.exercise is None}
    movable = [
        (exercise, field, low, high)
        for exercise in routine.exercises
        for field, low, high in exercise.fit_ranges
        if (exercise.id, field) not in pinned and field not in globally
    ]
    base = dataclasses.replace(settings, fit_s=None)
    if not movable:
        raise SettingsError(
            f"--fit: nothing in routine '{routine.name}' may change length (no exercise has a "
            "'fit' range for its holds or rests, or the command line set them all)"
        )

    def at(fraction: float) -> tuple[Settings, int]:
        """-1: every movable number at its shortest; 0: as it is; 1: at its longest."""
        extra = []
        for exercise, field, low, high in movable:
            now = float(getattr(exercise, field))
            value = now + fraction * ((high - now) if fraction > 0 else (now - low))
            extra.append(Override(_OPTION_OF_FIELD[field], round(value, 1), exercise.id))
        candidate = dataclasses.replace(base, overrides=base.overrides + tuple(extra))
        return candidate, compile_routine(routine, candidate, measure).total_ms

    shortest, current, longest = at(-1.0), at(0.0), at(1.0)
    if not shortest[1] - 1000 <= target_ms <= longest[1] + 1000:
        raise SettingsError(
            f"--fit {clock(target_ms)}: routine '{routine.name}' lasts from "
            f"{clock(shortest[1])} to {clock(longest[1])} with its holds and rests in their "
            "allowed ranges; choose a time in that range (or change --rounds, --sets, --reps)"
        )
    low, high = (0.0, 1.0) if target_ms >= current[1] else (-1.0, 0.0)
    best = min((shortest, current, longest), key=lambda r: abs(r[1] - target_ms))
    for _ in range(_STEPS):
        if abs(best[1] - target_ms) <= 100:
            break
        middle = (low + high) / 2
        candidate = at(middle)
        if abs(candidate[1] - target_ms) < abs(best[1] - target_ms):
            best = candidate
        if candidate[1] < target_ms:
            low = middle
        else:
            high = middle
    chosen, total_ms = best
    fitted = chosen.overrides[len(base.overrides) :]
    changes = tuple(
        f"{exercise.id} {field} {getattr(exercise, field):g} -> {o.value:g} s"
        for (exercise, field, _low, _high), o in zip(movable, fitted, strict=True)
        if o.value != getattr(exercise, field)
    )
    return FitResult(settings=chosen, total_ms=total_ms, changes=changes)
