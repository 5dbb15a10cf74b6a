"""The compiler: (routine, settings) -> timeline. Pure and deterministic.

It places every phrase, cue and silence at an exact millisecond. The only thing it needs
to know about audio is how long each phrase is, which ``measure`` tells it (the phrase
cache in real use, a fixed function in tests); same input, same timeline.

Timing rules (the README explains them to users):

* A hold lasts exactly ``hold_s``, from the onset of its start cue to the onset of its end
  cue. The halfway bell (holds of 12 s or more) and the three countdown ticks (at 3, 2 and
  1 s before the end) play inside it and never move its ends. Both sides get the same time.
* Text spoken during a hold (``during``) is placed right after the start cue if it fits
  before the next cue; otherwise it is spoken just before the hold begins.
* A rep lasts exactly ``work_s + release_s``: the count is spoken at its start, the release
  cue sounds ``work_s`` after the start.
* Rests (``rest_s``) and get-into-position pauses (``settle_s``, ``switch_s``) are quiet
  time, after the words that announce them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voiceguide import templates
from voiceguide.cues import CUE_MS, Cue
from voiceguide.errors import RoutineError
from voiceguide.model import Exercise, ExerciseKind, Routine, Side
from voiceguide.settings import Settings, apply_settings
from voiceguide.timeline import (
    Chapter,
    Event,
    Hold,
    RepSet,
    Section,
    Silence,
    Speech,
    Timeline,
    Tone,
)

__all__ = ["Measure", "compile_routine", "compile_timeline", "paragraphs"]

Measure = Callable[[str], int]
"""Returns how long a phrase lasts when spoken, in whole milliseconds."""

PHRASE_GAP_MS = 450  # quiet between two phrases, or between a cue and a phrase
CUE_LEAD_MS = 700  # quiet between the words announcing a hold and its start cue
HALFWAY_MIN_MS = 12_000  # shorter holds get no halfway bell
COUNTDOWN_S = 3  # ticks at 3, 2, 1 s before the end of a hold
SET_READY_MS = 1_500  # quiet between "Set 2 of 3." and the first rep
END_TAIL_MS = 1_500  # quiet after the final cue
_REFERENCE_NUMBER = 77  # "seventy-seven": as long to say as any number up to 99
_NUMERIC = frozenset(
    {"hold_s", "rounds", "reps", "sets", "rest_s", "work_s", "release_s", "round", "set", "rep"}
)


def paragraphs(text: str) -> list[str]:
    """A text field's phrases: its paragraphs (blank-line separated)."""
    return [p for p in text.split("\n\n") if p.strip()]


def compile_routine(routine: Routine, settings: Settings, measure: Measure) -> Timeline:
    """Apply the settings' overrides, then compile."""
    timeline = compile_timeline(apply_settings(routine, settings), measure)
    return Timeline(
        title=timeline.title,
        events=timeline.events,
        chapters=timeline.chapters,
        sections=timeline.sections,
        holds=timeline.holds,
        sets=timeline.sets,
        settings=settings.describe(),
    )


def compile_timeline(routine: Routine, measure: Measure) -> Timeline:
    """Compile a routine whose numbers are final."""
    b = _Builder(measure)
    b.open_chapter("Introduction", None)
    b.say(routine.title + ".")
    b.say(routine.intro)
    b.say(routine.safety)
    b.close_chapter(routine.chapter_gap_s)
    for exercise in routine.exercises:
        b.open_chapter(exercise.title, exercise.id)
        if exercise.kind is ExerciseKind.HOLD:
            _hold_exercise(b, exercise)
        else:
            _reps_exercise(b, exercise)
        b.close_chapter(routine.chapter_gap_s)
    b.open_chapter("Closing", None)
    b.say(routine.closing)
    b.tone(Cue.FINISH)
    b.pause(END_TAIL_MS)
    b.close_chapter(0)
    return b.timeline(routine.title)


# ------------------------------------------------------------------ exercises


def _values(exercise: Exercise, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": exercise.title,
        "hold_s": exercise.hold_s,
        "rounds": exercise.rounds,
        "reps": exercise.reps,
        "sets": exercise.sets,
        "rest_s": exercise.rest_s,
        "work_s": exercise.work_s,
        "release_s": exercise.release_s,
    }
    side: Side | None = extra.pop("side", None)
    if side is not None:
        other = "right" if side == "left" else "left"
        values.update(side=side, Side=side.capitalize(), other_side=other)
    values.update(extra)
    return values


def _opening(b: _Builder, exercise: Exercise) -> None:
    v = _values(exercise)
    b.say(exercise.title + ".")
    for text in (exercise.intro, exercise.caution, exercise.setup):
        b.say_template(text, v)


def _hold_exercise(b: _Builder, exercise: Exercise) -> None:
    _opening(b, exercise)
    sides: tuple[Side | None, ...] = exercise.sides or (None,)
    first = True
    for round_number in range(1, exercise.rounds + 1):
        if round_number > 1 and exercise.rest_s > 0:
            b.say_template(exercise.rest_cue, _values(exercise))
            b.pause(_ms(exercise.rest_s))
        for side in sides:
            v = _values(exercise, side=side, round=round_number)
            if side is not None:
                b.open_section(f"{exercise.title} - {side} side", side, round_number)
            if round_number > 1 and side == sides[0]:
                b.say_template(exercise.round_intro, v)
            if not first and side is not None:
                b.tone(Cue.SWITCH)
            if side is not None:
                text = exercise.side_setup if round_number == 1 else exercise.side_again
                b.say_template(text or exercise.side_again, v)
            b.pause(_ms(exercise.settle_s if first else exercise.switch_s))
            during = templates.fill(exercise.during, v) if round_number == 1 else ""
            _hold(b, exercise, side, round_number, v, during)
            b.say_template(exercise.after, v)
            first = False
    b.say_template(exercise.closing, _values(exercise))


def _hold(
    b: _Builder, exercise: Exercise, side: Side | None, round_number: int,
    values: dict[str, Any], during: str,
) -> None:  # fmt: skip
    hold_ms = _ms(exercise.hold_s)
    fixed: list[tuple[int, Cue]] = []
    if hold_ms >= HALFWAY_MIN_MS:
        fixed.append((hold_ms // 2, Cue.HALFWAY))
    fixed.extend((hold_ms - k * 1000, Cue.TICK) for k in range(COUNTDOWN_S, 0, -1))
    # Place the text meant for the hold in the quiet gaps between its cues, in order;
    # if it cannot all fit, it is all spoken before the hold instead.
    lengths = [b.measure(p) for p in paragraphs(during)]
    placement = _place_inside(lengths, fixed)
    b.say_template(exercise.hold_cue, values)
    if placement is None:
        b.say(during)
    b.pause(CUE_LEAD_MS)
    start = b.t
    b.tone(Cue.START)
    phrases = paragraphs(during) if placement is not None else []
    for index, (offset, cue) in enumerate(fixed):
        for phrase, gap_index in zip(phrases, placement or [], strict=True):
            if gap_index == index:
                b.say(phrase)
        b.pause_until(start + offset)
        b.tone(cue)
    b.pause_until(start + hold_ms)
    b.holds.append(Hold(exercise.id, side, round_number, start, start + hold_ms))
    b.tone(Cue.END)


def _place_inside(lengths: list[int], fixed: list[tuple[int, Cue]]) -> list[int] | None:
    """For each phrase, the index of the cue it is spoken before; None if they do not fit."""
    if not lengths:
        return []
    gaps: list[tuple[int, int]] = []  # (free from, free until) in ms from the hold start
    free_from = CUE_MS[Cue.START]
    for offset, cue in fixed:
        gaps.append((free_from, offset))
        free_from = offset + CUE_MS[cue]
    placement: list[int] = []
    gap_index, cursor = 0, gaps[0][0]
    for length in lengths:
        while gap_index < len(gaps):
            if cursor + PHRASE_GAP_MS + length + PHRASE_GAP_MS <= gaps[gap_index][1]:
                placement.append(gap_index)
                cursor += PHRASE_GAP_MS + length
                break
            gap_index += 1
            if gap_index < len(gaps):
                cursor = gaps[gap_index][0]
        else:
            return None
    return placement


def _reps_exercise(b: _Builder, exercise: Exercise) -> None:
    _opening(b, exercise)
    b.pause(_ms(exercise.settle_s))
    work_ms, release_ms = _ms(exercise.work_s), _ms(exercise.release_s)
    for set_number in range(1, exercise.sets + 1):
        v = _values(exercise, set=set_number)
        if exercise.sets > 1:
            b.open_section(f"{exercise.title} - set {set_number}", None, set_number)
            b.say_template(exercise.set_intro, v)
            b.pause(SET_READY_MS)
        start = b.t
        for rep in range(1, exercise.reps + 1):
            rep_start = b.t
            count = templates.fill(exercise.rep_cue, _values(exercise, set=set_number, rep=rep))
            spoken_ms = sum(b.measure(p) for p in paragraphs(count))
            if spoken_ms > work_ms - PHRASE_GAP_MS // 3:
                raise RoutineError(
                    f"the spoken count {count!r} takes {spoken_ms} ms, longer than the "
                    f"{templates.format_number(exercise.work_s)} s effort of a rep; "
                    "lengthen work_s or shorten rep_cue",
                    path=exercise.source, exercise=exercise.id, field="work_s",
                )  # fmt: skip
            b.say(count, gap=False)
            b.pause_until(rep_start + work_ms)
            b.tone(Cue.END)
            b.pause_until(rep_start + work_ms + release_ms)
        b.sets.append(RepSet(exercise.id, set_number, exercise.reps, start, b.t))
        b.tone(Cue.SET_END)
        b.say_template(exercise.set_end, v)
        if set_number < exercise.sets and exercise.rest_s > 0:
            b.say_template(exercise.rest_cue, v)
            b.pause(_ms(exercise.rest_s))
    b.say_template(exercise.closing, _values(exercise))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


# ------------------------------------------------------------------ the builder


@dataclass
class _Builder:
    """Appends contiguous events at a cursor ``t`` and records the structure around them."""

    measure: Measure
    t: int = 0
    events: list[Event] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    sets: list[RepSet] = field(default_factory=list)
    _chapter: tuple[str, str | None, int, int] | None = None  # title, exercise, start, first event

    def say(self, text: str, gap: bool = True) -> None:
        for phrase in paragraphs(text):
            if gap and self.events and not isinstance(self.events[-1], Silence):
                self.pause(PHRASE_GAP_MS)
            length = self.measure(phrase)
            if length <= 0:
                raise ValueError(f"measure() gave {length} ms for {phrase!r}")
            self._add(Speech(self.t, self.t + length, phrase))

    def say_template(self, template: str, values: dict[str, Any]) -> None:
        """Say a filled template in slots that do not depend on the numbers in it.

        A phrase with a number ("Hold for 45 seconds.") gets the longer of its own length
        and that of the same phrase with every number at a long-to-say reference value, so
        changing a hold by N seconds moves the rest of the timeline by exactly N seconds.
        """
        text = templates.fill(template, values)
        reference = templates.fill(template, {
            k: (_REFERENCE_NUMBER if k in _NUMERIC and isinstance(v, int | float) else v)
            for k, v in values.items()
        })  # fmt: skip
        if reference == text:
            self.say(text)
            return
        for phrase, ref_phrase in zip(paragraphs(text), paragraphs(reference), strict=True):
            self.say(phrase)
            spare = self.measure(ref_phrase) - self.measure(phrase)
            if spare > 0:
                self.pause(spare)

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
        return self._chapter[3] if self._chapter else 0

    def open_chapter(self, title: str, exercise: str | None) -> None:
        assert self._chapter is None
        self._chapter = (title, exercise, self.t, len(self.events))
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
        self.pause(_ms(gap_s))
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
        )
