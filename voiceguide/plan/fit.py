"""``--fit 15m``: change holds, rests, and when needed rounds, sets and reps, within each
exercise's declared ``fit`` ranges, so the whole routine lasts the time the user has.

Holds and rests move first: every exercise with a range for them moves its hold (and rest)
from its own value toward the range's longest (to lengthen) or shortest (to shorten) by one
shared fraction, so everything grows or shrinks together; the fraction is found by bisection
on the compiled total, so the result is exact to the compiler's own arithmetic (values are
kept to 0.1 s, which keeps the total within a second of the target).

Only when holds and rests at the ends of their ranges cannot reach the target are the counts
(rounds, sets, reps) changed: by the fewest steps, all one way, that bring the target into
reach, so holds and rests still do as much of the fitting as they can.
Numbers the user set on the command line are left as they are, and so is an introduction
the listener chose (``--intro full`` stays full).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

from voiceguide.errors import SettingsError
from voiceguide.plan.catalog import OPTION_FIELDS
from voiceguide.plan.compiler import Measure, compile_routine
from voiceguide.plan.settings import Override, Settings
from voiceguide.routine.model import Exercise, Routine
from voiceguide.routine.text import clock

__all__ = ["FitResult", "fit"]

_OPTION_OF_FIELD = {field: option for option, (field, _kinds) in OPTION_FIELDS.items()}
_CONTINUOUS = ("hold_s", "rest_s")  # moved first, together
_STEPS = 40
_TOLERANCE_MS = 1000
_MAX_COMBINATIONS = 400  # counts tried together; beyond it, one step at a time


@dataclass(frozen=True)
class FitResult:
    settings: Settings  # the settings with the fitted overrides added
    total_ms: int
    changes: tuple[str, ...]  # "supine-hip-stretch hold_s 30 -> 24.5 s", "... rounds 3 -> 2"


@dataclass(frozen=True)
class _Movable:
    exercise: Exercise
    field: str
    low: float
    high: float

    @property
    def now(self) -> float:
        return float(getattr(self.exercise, self.field))


Counts = tuple[int, ...]  # a value for each count that may move, in the order of _Fitter.counts


class _Fitter:
    def __init__(self, routine: Routine, settings: Settings, measure: Measure) -> None:
        self.measure = measure
        pinned = {(o.exercise, o.field) for o in settings.overrides}
        globally = {o.field for o in settings.overrides if o.exercise is None}
        movable = [
            _Movable(exercise, field, low, high)
            for exercise in routine.exercises
            for field, low, high in exercise.fit_ranges
            if (exercise.id, field) not in pinned and field not in globally
        ]
        self.lengths = [m for m in movable if m.field in _CONTINUOUS]
        self.counts = [m for m in movable if m.field not in _CONTINUOUS]
        self.routine, self.measure = routine, measure
        self.base = dataclasses.replace(settings, fit_s=None)
        self._totals: dict[tuple[Counts, float], tuple[Settings, int]] = {}

    def at(self, counts: Counts, fraction: float) -> tuple[Settings, int]:
        """The settings and total with these counts and the holds and rests at ``fraction``
        (-1: every one at its shortest; 0: as it is; 1: at its longest)."""
        key = (counts, fraction)
        if key not in self._totals:
            extra = []
            for m in self.lengths:
                value = m.now + fraction * ((m.high - m.now) if fraction > 0 else (m.now - m.low))
                # rests in whole seconds (spoken: "Rest for 8 seconds"), holds to 0.1 s
                kept = round(value) if m.field == "rest_s" else round(value, 1)
                extra.append(Override(_OPTION_OF_FIELD[m.field], kept, m.exercise.id))
            for m, count in zip(self.counts, counts, strict=True):
                extra.append(Override(_OPTION_OF_FIELD[m.field], count, m.exercise.id))
            candidate = dataclasses.replace(self.base, overrides=self.base.overrides + tuple(extra))
            total = compile_routine(self.routine, candidate, self.measure).total_ms
            self._totals[key] = (candidate, total)
        return self._totals[key]

    def reach(self, counts: Counts) -> tuple[int, int]:
        """The shortest and longest totals with these counts."""
        return self.at(counts, -1.0)[1], self.at(counts, 1.0)[1]

    def extreme(self, direction: int) -> Counts:
        """Every count at the end of its range in ``direction`` (-1 fewest, 1 most)."""
        return tuple(
            int(min(m.low, m.now) if direction < 0 else max(m.high, m.now)) for m in self.counts
        )

    def steps(self, counts: Counts, direction: int) -> list[Counts]:
        """The counts with one of them moved one step in ``direction``, inside its range."""
        result = []
        for index, m in enumerate(self.counts):
            value = counts[index] + direction
            if min(m.low, m.now) <= value <= max(m.high, m.now):
                result.append((*counts[:index], value, *counts[index + 1 :]))
        return result


def fit(routine: Routine, settings: Settings, measure: Measure) -> FitResult:
    """Settings that make the routine last ``settings.fit_s`` (within a second). To shorten
    it, the full introduction becomes the short one before any round, set or rep is cut,
    unless the listener chose the introduction (``intro_chosen``)."""
    assert settings.fit_s is not None
    target_ms = round(settings.fit_s * 1000)
    f = _Fitter(routine, settings, measure)
    if not f.lengths and not f.counts:
        raise SettingsError(
            f"--fit: nothing in routine '{routine.name}' may change length (no exercise has a "
            "'fit' range, or the command line set them all)"
        )
    current: Counts = tuple(int(m.now) for m in f.counts)
    shortens = settings.intro == "full" and not settings.intro_chosen
    if shortens and target_ms < f.reach(current)[0] - _TOLERANCE_MS:
        short = _Fitter(routine, dataclasses.replace(settings, intro="short"), measure)
        result = _fit(short, routine, target_ms, full=f)
        return dataclasses.replace(result, changes=("introduction full -> short", *result.changes))
    return _fit(f, routine, target_ms)


def _fit(f: _Fitter, routine: Routine, target_ms: int, full: _Fitter | None = None) -> FitResult:
    """The fit with this fitter's settings (``full``: the same with the full introduction,
    for a refusal to name both ways)."""
    shortest, longest = f.at(f.extreme(-1), -1.0)[1], f.at(f.extreme(1), 1.0)[1]
    if full is not None:
        longest = full.at(full.extreme(1), 1.0)[1]
    if not shortest - _TOLERANCE_MS <= target_ms <= longest + _TOLERANCE_MS:
        raise SettingsError(_out_of_reach(f, routine, target_ms, shortest, longest))
    counts = _choose_counts(f, target_ms)
    current = f.at(counts, 0.0)
    low, high = (0.0, 1.0) if target_ms >= current[1] else (-1.0, 0.0)
    best = min(
        (f.at(counts, -1.0), current, f.at(counts, 1.0)), key=lambda r: abs(r[1] - target_ms)
    )
    for _ in range(_STEPS if f.lengths else 0):
        if abs(best[1] - target_ms) <= 100:
            break
        middle = (low + high) / 2
        candidate = f.at(counts, middle)
        if abs(candidate[1] - target_ms) < abs(best[1] - target_ms):
            best = candidate
        if candidate[1] < target_ms:
            low = middle
        else:
            high = middle
    chosen, total_ms = best
    if abs(total_ms - target_ms) > _TOLERANCE_MS:  # counts alone move in whole steps
        raise SettingsError(
            f"--fit {clock(target_ms)}: the nearest routine '{routine.name}' can last is "
            f"{clock(total_ms)} (only whole rounds, sets or reps may change); choose that, "
            "or change --hold or --rest"
        )
    fitted = chosen.overrides[len(f.base.overrides) :]
    changes = tuple(
        f"{m.exercise.id} {m.field} {m.now:g} -> {o.value:g}{_unit(m.field)}"
        for m, o in zip([*f.lengths, *f.counts], fitted, strict=True)
        if o.value != m.now
    )
    return FitResult(settings=chosen, total_ms=total_ms, changes=changes)


def _out_of_reach(f: _Fitter, routine: Routine, target_ms: int, shortest: int, longest: int) -> str:
    """The refusal of a target out of reach, in one line: the length possible and how."""
    if target_ms > longest:
        return (
            f"--fit {clock(target_ms)}: routine '{routine.name}' lasts at most {clock(longest)} "
            "with its holds, rests and counts in their allowed ('fit') ranges; choose "
            f"--fit {_typed(longest, up=False)} or less, or add --rounds or --sets"
        )
    ways = ["fewest rounds, sets and reps", "shortest holds and rests"]
    if f.base.intro == "short":
        ways.insert(0, "--intro short")
    elif f.base.intro_chosen:  # the full introduction was asked for: the short one is a way
        short = _Fitter(routine, dataclasses.replace(f.base, intro="short"), f.measure)
        shortest_short = short.at(short.extreme(-1), -1.0)[1]
        if target_ms >= shortest_short - _TOLERANCE_MS:
            return (
                f"--fit {clock(target_ms)}: routine '{routine.name}' lasts at least "
                f"{clock(shortest)} with the full introduction ({', '.join(ways)}); choose "
                f"--fit {_typed(shortest)} or more, or --intro short"
            )
    if f.base.verbosity != "minimal":
        minimal = dataclasses.replace(f.base, verbosity="minimal")
        quick = _Fitter(routine, minimal, f.measure)
        shortest_minimal = quick.at(quick.extreme(-1), -1.0)[1]
        if shortest_minimal < shortest:
            minimal_way = (
                "add --verbosity minimal"
                if target_ms >= shortest_minimal
                else f"--fit {_typed(shortest_minimal)} or more with --verbosity minimal"
            )
            return (
                f"--fit {clock(target_ms)}: routine '{routine.name}' lasts at least "
                f"{clock(shortest)} ({', '.join(ways)}), {clock(shortest_minimal)} with "
                f"--verbosity minimal; choose --fit {_typed(shortest)} or more, or " + minimal_way
            )
    return (
        f"--fit {clock(target_ms)}: routine '{routine.name}' lasts at least {clock(shortest)} "
        f"({', '.join(ways)}); choose --fit {_typed(shortest)} or more"
    )


def _typed(total_ms: int, up: bool = True) -> str:
    """A --fit value at or above ``total_ms`` (``up``; else at or below), as typed: whole
    minutes, or minutes and seconds."""
    seconds = -(-total_ms // 1000) + 1 if up else total_ms // 1000 - 1  # a second to spare
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if rest else f"{minutes}m"


def _choose_counts(f: _Fitter, target_ms: int) -> Counts:
    """The counts to fit with: as they are when holds and rests can reach the target; else
    the fewest steps in the one direction (fewer to shorten, more to lengthen) that bring it
    into reach, and among those the one that changes the routine's length least (so holds
    and rests still do as much of the fitting as they can)."""
    current: Counts = tuple(int(m.now) for m in f.counts)

    def distance(option: Counts) -> int:
        low, high = f.reach(option)
        return max(low - target_ms, target_ms - high, 0)

    if distance(current) == 0:
        return current
    direction = -1 if target_ms < f.reach(current)[0] else 1
    ends = f.extreme(direction)
    choices = [
        range(now, end + direction, direction) for now, end in zip(current, ends, strict=True)
    ]
    if math.prod(len(c) for c in choices) <= _MAX_COMBINATIONS:
        by_steps: dict[int, list[Counts]] = {}
        for option in itertools.product(*choices):
            steps = sum(abs(a - b) for a, b in zip(option, current, strict=True))
            by_steps.setdefault(steps, []).append(option)
        now = f.at(current, 0.0)[1]
        for steps in sorted(by_steps):
            reachable = [c for c in by_steps[steps] if distance(c) == 0]
            if reachable:
                return min(reachable, key=lambda c: (abs(f.at(c, 0.0)[1] - now), c))
    counts = current  # too many to try: one step at a time, each nearest to the target
    while distance(counts) > 0:
        options = f.steps(counts, direction)
        if not options:
            break
        counts = min(options, key=distance)
    return counts


def _unit(field: str) -> str:
    return " s" if field.endswith("_s") else ""
