"""The compiler's builder: appends contiguous events at a cursor and records the structure
around them (chapters, sections, holds, sets). Knows phrase lengths only through
``measure``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from voiceguide.plan.cues import CUE_MS, Cue
from voiceguide.plan.parsing import PACE_SCALES, Intro, Pace, Verbosity
from voiceguide.plan.timeline import (
    Chapter,
    Event,
    Hold,
    RepSet,
    Section,
    Silence,
    Speech,
    Step,
    Timeline,
    Tone,
)
from voiceguide.routine import templates
from voiceguide.routine.model import Side

__all__ = ["PHRASE_GAP_MS", "Builder", "Coaching", "Measure", "ms", "paragraphs"]

Measure = Callable[[str], int]
"""Returns how long a phrase lasts when spoken, in whole milliseconds."""

PHRASE_GAP_MS = 450  # quiet between two phrases, or between a cue and a phrase
_REFERENCE_NUMBER = 77  # "seventy-seven": as long to say as any number up to 99
_NUMERIC = frozenset(
    {"hold_s", "rounds", "reps", "sets", "rest_s", "work_s", "release_s", "round", "set", "rep"}
)


def paragraphs(text: str) -> list[str]:
    """A text field's phrases: its paragraphs (blank-line separated)."""
    return [p for p in text.split("\n\n") if p.strip()]


def ms(seconds: float) -> int:
    """Seconds as whole milliseconds."""
    return round(seconds * 1000)


@dataclass(frozen=True)
class Coaching:
    """How much is said, whether breathing is paced, and the time to move (``Settings``
    carries these)."""

    verbosity: Verbosity = "standard"
    intro: Intro = "full"
    breath_ms: tuple[int, int] | None = None  # (inhale, exhale) tones during holds
    pace: Pace = "standard"

    def move_ms(self, seconds: float) -> int:
        """Time given to move (settle, switch, a step's time to act) at this pace."""
        return ms(seconds * PACE_SCALES[self.pace])


class _OpenChapter(NamedTuple):
    title: str
    exercise: str | None
    start_ms: int
    first_event: int


@dataclass
class Builder:
    """Appends contiguous events at a cursor ``t`` and records the structure around them."""

    measure: Measure
    coaching: Coaching = field(default_factory=lambda: Coaching())
    next_title: str = ""  # the title of the exercise after the current one ({next})
    t: int = 0
    events: list[Event] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    sets: list[RepSet] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    _chapter: _OpenChapter | None = None

    @property
    def talks(self) -> bool:
        """False at minimal verbosity: tones, names and safety notes only."""
        return self.coaching.verbosity != "minimal"

    def say(self, text: str, gap: bool = True) -> None:
        for phrase in paragraphs(text):
            if gap and self.events and not isinstance(self.events[-1], Silence):
                self.pause(PHRASE_GAP_MS)
            length = self.measure(phrase)
            if length <= 0:
                raise ValueError(f"measure() gave {length} ms for {phrase!r}")
            self._add(Speech(self.t, self.t + length, phrase))

    def say_template(
        self, template: str, values: dict[str, Any], then_s: tuple[float, ...] = ()
    ) -> None:
        """Say a filled template in slots that do not depend on the numbers in it, with
        ``then_s[i]`` seconds of quiet after paragraph ``i`` (time to do what it said).

        A phrase with a number ("Hold for 45 seconds.") gets the longer of its own length
        and that of the same phrase with every number at a long-to-say reference value, so
        changing a hold by N seconds moves the rest of the timeline by exactly N seconds.
        Without ``values`` (the routine's own texts) the text is said as written.
        """
        text = reference = template
        if values:
            text = templates.fill(template, values)
            reference = templates.fill(
                template,
                {
                    k: (_REFERENCE_NUMBER if k in _NUMERIC and isinstance(v, int | float) else v)
                    for k, v in values.items()
                },
            )
        pairs = zip(paragraphs(text), paragraphs(reference), strict=True)
        for index, (phrase, ref_phrase) in enumerate(pairs):
            self.say(phrase)
            start = self.events[-1].start_ms
            if ref_phrase != phrase:
                spare = self.measure(ref_phrase) - self.measure(phrase)
                if spare > 0:
                    self.pause(spare)
            if index < len(then_s) and then_s[index] > 0:
                self.pause(ms(then_s[index]))
                exercise = self._chapter.exercise if self._chapter else None
                self.steps.append(Step(exercise, phrase, start, ms(then_s[index])))

    def tone(self, cue: Cue) -> None:
        self._add(Tone(self.t, self.t + CUE_MS[cue], cue))

    def pause(self, length_ms: int) -> None:
        if length_ms <= 0:
            return
        last = self.events[-1] if self.events else None
        if isinstance(last, Silence) and len(self.events) > self._first_event():
            self.events[-1] = Silence(last.start_ms, last.end_ms + length_ms)
            self.t += length_ms
        else:
            self._add(Silence(self.t, self.t + length_ms))

    def pause_until(self, t_ms: int) -> None:
        if t_ms < self.t:
            raise AssertionError(f"timeline overrun: at {self.t} ms, asked to wait until {t_ms}")
        self.pause(t_ms - self.t)

    def _add(self, event: Event) -> None:
        assert event.start_ms == self.t
        self.events.append(event)
        self.t = event.end_ms

    def _first_event(self) -> int:
        return self._chapter.first_event if self._chapter else 0

    def open_chapter(self, title: str, exercise: str | None) -> None:
        assert self._chapter is None
        self._chapter = _OpenChapter(title, exercise, self.t, len(self.events))
        self.sections.append(Section(title, len(self.chapters) + 1, self.t, self.t))

    def open_section(self, title: str, side: Side | None, number: int) -> None:
        if number > 1 and side is not None:
            title = f"{title}, round {number}"
        self._end_section()
        self.sections.append(Section(title, len(self.chapters) + 1, self.t, self.t, side))

    def _end_section(self) -> None:
        last = self.sections[-1]
        self.sections[-1] = Section(last.title, last.chapter, last.start_ms, self.t, last.side)
        if self.sections[-1].start_ms == self.t:  # an empty section: drop it
            self.sections.pop()

    def close_chapter(self, gap_s: float) -> None:
        assert self._chapter is not None
        self.pause(ms(gap_s))
        title, exercise, start, first = self._chapter
        self._end_section()
        self.chapters.append(
            Chapter(len(self.chapters) + 1, title, exercise, start, self.t, first, len(self.events))
        )
        self._chapter = None

    def timeline(self, title: str) -> Timeline:
        return Timeline(
            title=title,
            events=tuple(self.events),
            chapters=tuple(self.chapters),
            sections=tuple(self.sections),
            holds=tuple(self.holds),
            sets=tuple(self.sets),
            steps=tuple(self.steps),
        )
