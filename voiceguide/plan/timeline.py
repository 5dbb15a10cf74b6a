"""The timeline: every sound of a routine with its exact place in milliseconds.

It is the one thing rendering, live playback and export consume. Events are contiguous
(each starts where the previous ended), chapters and sections partition the timeline, and
holds and sets point into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voiceguide.plan.cues import Cue
from voiceguide.plan.settings import Settings
from voiceguide.routine.model import Side

__all__ = [
    "Chapter",
    "CheckIn",
    "Event",
    "Hold",
    "RepSet",
    "Section",
    "Silence",
    "Speech",
    "Step",
    "Timeline",
    "Tone",
]


@dataclass(frozen=True)
class Speech:
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class Tone:
    start_ms: int
    end_ms: int
    cue: Cue


@dataclass(frozen=True)
class Silence:
    start_ms: int
    end_ms: int


Event = Speech | Tone | Silence


@dataclass(frozen=True)
class Chapter:
    """The introduction, one exercise, or the closing: one exported track each."""

    index: int  # 1-based, the track number
    title: str
    exercise: str | None  # the exercise id, None for the introduction and the closing
    start_ms: int
    end_ms: int
    first_event: int  # events[first_event:end_event] belong to the chapter
    end_event: int


@dataclass(frozen=True)
class Section:
    """A finer division for chapter marks and skipping: a chapter's opening, or one side."""

    title: str
    chapter: int  # the Chapter.index it belongs to
    start_ms: int
    end_ms: int
    side: Side | None = None


@dataclass(frozen=True)
class Hold:
    exercise: str
    side: Side | None
    round: int
    start_ms: int  # the onset of the start cue
    end_ms: int  # the onset of the end cue


@dataclass(frozen=True)
class RepSet:
    exercise: str
    set: int
    reps: int
    start_ms: int  # the start of the first rep
    end_ms: int  # the end of the last release


@dataclass(frozen=True)
class Step:
    """A phrase asking for a movement, and the quiet after it to make it (``then_s``)."""

    exercise: str | None  # None in the introduction and the closing
    text: str
    start_ms: int  # the phrase's start
    then_ms: int  # the quiet after it: from the phrase's end to then_ms later


@dataclass(frozen=True)
class CheckIn:
    """The pain check-in after a live session: the question the player asks once the
    closing has played, and what it says back for each score (``noted[score]``)."""

    question: str
    noted: tuple[str, ...]  # 11 phrases, for the scores 0 to 10
    skipped: str

    def phrases(self) -> list[str]:
        return [self.question, *self.noted, self.skipped]


@dataclass(frozen=True)
class Timeline:
    title: str
    events: tuple[Event, ...]
    chapters: tuple[Chapter, ...]
    sections: tuple[Section, ...]
    holds: tuple[Hold, ...] = ()
    sets: tuple[RepSet, ...] = ()
    steps: tuple[Step, ...] = ()
    check_in: CheckIn | None = None  # asked after the last event (live play only)
    # what it was made with: the settings asked for, and what --fit changed to reach its length
    settings: Settings | None = field(default=None, compare=False, hash=False)
    fit_changes: tuple[str, ...] = field(default=(), compare=False, hash=False)

    @property
    def total_ms(self) -> int:
        return self.events[-1].end_ms if self.events else 0

    def phrases(self) -> list[str]:
        """Every distinct spoken text, in order of first use."""
        return list(dict.fromkeys(e.text for e in self.events if isinstance(e, Speech)))

    def described_settings(self) -> dict[str, Any]:
        """The settings it was made with, as plain data (with ``fit_changes`` after --fit)."""
        if self.settings is None:
            return {}
        described = self.settings.describe()
        return (
            {**described, "fit_changes": list(self.fit_changes)} if self.fit_changes else described
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as plain data (``voiceguide plan --json``)."""

        def s(ms: int) -> float:
            return round(ms / 1000, 3)

        return {
            "title": self.title,
            "total_s": s(self.total_ms),
            "settings": self.described_settings(),
            "chapters": [
                {
                    "index": c.index,
                    "title": c.title,
                    "exercise": c.exercise,
                    "start_s": s(c.start_ms),
                    "end_s": s(c.end_ms),
                }
                for c in self.chapters
            ],
            "sections": [
                {
                    "title": x.title,
                    "chapter": x.chapter,
                    "side": x.side,
                    "start_s": s(x.start_ms),
                    "end_s": s(x.end_ms),
                }
                for x in self.sections
            ],
            "holds": [
                {
                    "exercise": h.exercise,
                    "side": h.side,
                    "round": h.round,
                    "start_s": s(h.start_ms),
                    "end_s": s(h.end_ms),
                }
                for h in self.holds
            ],
            "sets": [
                {
                    "exercise": r.exercise,
                    "set": r.set,
                    "reps": r.reps,
                    "start_s": s(r.start_ms),
                    "end_s": s(r.end_ms),
                }
                for r in self.sets
            ],
            "steps": [
                {
                    "exercise": x.exercise,
                    "text": x.text,
                    "start_s": s(x.start_ms),
                    "then_s": s(x.then_ms),
                }
                for x in self.steps
            ],
            "events": len(self.events),
        }
