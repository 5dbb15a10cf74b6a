"""How far a session got: which exercises were completed, skipped or stopped in.

Pure: it is fed what the player says now and then (its state and position, and when) and
the plan's outline, and keeps the stretches of the timeline that were heard. An exercise
is *completed* when every hold and set of it was heard (at least :data:`HEARD_FRACTION` of
each), *skipped* when playback left it without that, *stopped* when the session ended in it,
and *not played* when playback never reached it (after a stop, or before ``--from``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceguide.plan.timeline import Timeline

__all__ = ["HEARD_FRACTION", "ExerciseState", "Outline", "Part", "Tracker"]

HEARD_FRACTION = 0.8  # of each hold and set, for the exercise to count as completed
SLACK_MS = 750  # a position may run ahead of the clock by this much and still be heard


class ExerciseState(StrEnum):
    PENDING = "pending"  # not reached yet (while playing)
    PLAYING = "playing"  # playing now
    COMPLETED = "completed"
    SKIPPED = "skipped"
    STOPPED = "stopped"  # the session ended in it
    NOT_PLAYED = "not_played"  # never reached


ENDED_STATES = frozenset(
    {
        ExerciseState.COMPLETED,
        ExerciseState.SKIPPED,
        ExerciseState.STOPPED,
        ExerciseState.NOT_PLAYED,
    }
)


@dataclass(frozen=True)
class Part:
    """One exercise's chapter, and its work: the holds and sets that must be heard."""

    exercise: str
    title: str
    start_ms: int
    end_ms: int
    work: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Outline:
    """What the session plays: the plan's exercises, length and settings."""

    title: str
    total_ms: int
    parts: tuple[Part, ...]
    settings: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, timeline: Timeline) -> Outline:
        parts = []
        for chapter in timeline.chapters:
            if chapter.exercise is None:
                continue
            work = [
                (h.start_ms, h.end_ms) for h in timeline.holds if h.exercise == chapter.exercise
            ]
            work += [
                (s.start_ms, s.end_ms) for s in timeline.sets if s.exercise == chapter.exercise
            ]
            parts.append(
                Part(
                    chapter.exercise,
                    chapter.title,
                    chapter.start_ms,
                    chapter.end_ms,
                    tuple(sorted(work)),
                )
            )
        return cls(timeline.title, timeline.total_ms, tuple(parts), timeline.described_settings())


class _Heard:
    """A set of [start, end) stretches of milliseconds, merged."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        merged = []
        for s, e in self.spans:
            if e < start or s > end:
                merged.append((s, e))
            else:
                start, end = min(s, start), max(e, end)
        merged.append((start, end))
        self.spans = sorted(merged)

    def within(self, start: int, end: int) -> int:
        return sum(max(0, min(e, end) - max(s, start)) for s, e in self.spans)

    @property
    def total(self) -> int:
        return sum(e - s for s, e in self.spans)


class Tracker:
    """Follows one session: feed it samples (:meth:`feed`) and, when the plan comes in
    stages, each later stage (:meth:`replan`); :meth:`states` says where each exercise is."""

    def __init__(self, outline: Outline) -> None:
        self.outline = outline
        self.heard = _Heard()
        self.position_ms = 0
        self.first_ms: int | None = None  # where the session started
        self.furthest_ms = 0
        self.ended: str | None = None  # "done" or "stopped" once over
        self._last: tuple[str, int, float] | None = None
        self._left: set[int] = set()  # parts playback has been beyond the end of

    def replan(self, outline: Outline) -> None:
        """A later stage of the same plan (only the part not played yet may have moved)."""
        self.outline = outline

    def add_heard(self, start_ms: int, end_ms: int) -> None:
        """A stretch a player says it played (the phone page reports its own)."""
        self.heard.add(max(0, start_ms), min(end_ms, self.outline.total_ms))

    def feed(self, state: str, position_ms: int, at_s: float) -> None:
        """What the player said at clock time ``at_s`` (seconds, monotonic): its state
        ("starting", "playing", "paused", "waiting", "done" or "stopped") and position."""
        if self.ended is not None:
            return
        if state == "done":
            position_ms = max(position_ms, self.outline.total_ms)
        if self._last is not None:
            last_state, last_ms, last_s = self._last
            moved = position_ms - last_ms
            if last_state == "playing" and 0 <= moved <= (at_s - last_s) * 1000 + SLACK_MS:
                self.heard.add(last_ms, position_ms)
        if state in ("playing", "paused", "waiting", "done", "stopped"):
            if self.first_ms is None:
                self.first_ms = position_ms
            self.position_ms = position_ms
            self.furthest_ms = max(self.furthest_ms, position_ms)
            for i, part in enumerate(self.outline.parts):
                if position_ms >= part.end_ms:
                    self._left.add(i)
        self._last = (state, position_ms, at_s)
        if state in ("done", "stopped"):
            self.ended = state

    def _completed(self, part: Part) -> bool:
        spans = part.work or ((part.start_ms, part.end_ms),)
        return all(self.heard.within(s, e) >= HEARD_FRACTION * (e - s) for s, e in spans if e > s)

    def states(self) -> list[ExerciseState]:
        """Each exercise's state now (final ones once the session has ended)."""
        result = []
        first = self.first_ms if self.first_ms is not None else 0
        for i, part in enumerate(self.outline.parts):
            inside = part.start_ms <= self.position_ms < part.end_ms
            if self._completed(part):
                state = ExerciseState.COMPLETED
            elif inside and self.ended is None:
                state = ExerciseState.PLAYING
            elif inside and self.ended == "stopped":
                state = ExerciseState.STOPPED
            elif i in self._left and (
                part.end_ms > first or self.heard.within(part.start_ms, part.end_ms) > 0
            ):
                state = ExerciseState.SKIPPED
            elif self.ended is None:
                state = ExerciseState.PENDING
            else:
                state = ExerciseState.NOT_PLAYED
            result.append(state)
        return result

    def heard_ms(self, part: Part | None = None) -> int:
        if part is None:
            return self.heard.total
        return self.heard.within(part.start_ms, part.end_ms)

    @property
    def completed(self) -> bool:
        """Over, with every exercise completed (the closing words may have been cut)."""
        return self.ended is not None and all(s is ExerciseState.COMPLETED for s in self.states())
