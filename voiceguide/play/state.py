"""The words of live playback: the listener's commands, the player's states, a plan that
may arrive in stages, and the status the display shows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from voiceguide.plan.timeline import Chapter, Hold, RepSet, Section, Timeline

__all__ = ["Command", "Message", "PlanStage", "State", "Status"]


class Command(StrEnum):
    TOGGLE = "toggle"  # space
    PAUSE = "pause"
    RESUME = "resume"
    NEXT = "next"  # n, right arrow: the start of the next section
    BACK = "back"  # b, left arrow: the start of this section; twice quickly, the previous one
    STOP = "stop"  # q, Esc


class State(StrEnum):
    STARTING = "starting"
    PLAYING = "playing"
    PAUSED = "paused"
    WAITING = "waiting"  # for phrases still being synthesized
    DONE = "done"  # played to the end
    STOPPED = "stopped"  # stopped by the listener


@dataclass(frozen=True)
class PlanStage:
    """A timeline and how much of it is final.

    While phrases are still being synthesized only ``events[:ready_events]`` are final; a
    later stage keeps them unchanged and makes more final. No stage is longer than
    ``bound_ms`` (if one is, playback still goes on, with a short gap).
    """

    timeline: Timeline
    ready_events: int
    bound_ms: int

    @classmethod
    def complete(cls, timeline: Timeline) -> PlanStage:
        return cls(timeline, len(timeline.events), timeline.total_ms)

    @property
    def final(self) -> bool:
        return self.ready_events >= len(self.timeline.events)

    @property
    def ready_ms(self) -> int:
        return self.timeline.events[self.ready_events - 1].end_ms if self.ready_events else 0


@dataclass(frozen=True)
class Status:
    """Where playback is, for the display."""

    state: State
    title: str
    position_ms: int
    total_ms: int | None  # None until the whole plan is known
    chapter: Chapter | None = None
    chapters: int = 0
    section: Section | None = None
    hold: Hold | None = None
    hold_left_ms: int | None = None
    rounds: int | None = None  # of the current hold's exercise
    rep_set: RepSet | None = None
    rep: int | None = None
    sets: int | None = None  # of the current set's exercise


Message = tuple[Command, float] | PlanStage | BaseException
