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

from voiceguide.errors import RoutineError
from voiceguide.plan.cues import CUE_MS, Cue
from voiceguide.plan.settings import Settings, Verbosity, apply_settings
from voiceguide.plan.timeline import (
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
from voiceguide.routine import templates
from voiceguide.routine.model import Exercise, ExerciseKind, Routine, Side

__all__ = ["Coaching", "Measure", "Verbosity", "compile_routine", "compile_timeline", "paragraphs"]

Measure = Callable[[str], int]
"""Returns how long a phrase lasts when spoken, in whole milliseconds."""

PHRASE_GAP_MS = 450  # quiet between two phrases, or between a cue and a phrase
CUE_LEAD_MS = 700  # quiet between the words announcing a hold and its start cue
HALFWAY_MIN_MS = 12_000  # shorter holds get no halfway bell
COUNTDOWN_S = 3  # ticks at 3, 2, 1 s before the end of a hold
SET_READY_MS = 1_500  # quiet between "Set 2 of 3." and the first rep
END_TAIL_MS = 1_500  # quiet after the final cue
_BREATH_MARGIN_MS = 250  # quiet kept around a breath tone
_REFERENCE_NUMBER = 77  # "seventy-seven": as long to say as any number up to 99
_NUMERIC = frozenset(
    {"hold_s", "rounds", "reps", "sets", "rest_s", "work_s", "release_s", "round", "set", "rep"}
)


def paragraphs(text: str) -> list[str]:
    """A text field's phrases: its paragraphs (blank-line separated)."""
    return [p for p in text.split("\n\n") if p.strip()]


@dataclass(frozen=True)
class Coaching:
    """How much is said, and whether breathing is paced (``Settings`` carries these)."""

    verbosity: Verbosity = "standard"
    breath_ms: tuple[int, int] | None = None  # (inhale, exhale) tones during holds


def compile_routine(routine: Routine, settings: Settings, measure: Measure) -> Timeline:
    """Apply the settings' overrides, then compile."""
    breath = settings.breath_s
    coaching = Coaching(
        verbosity=settings.verbosity,
        breath_ms=(_ms(breath[0]), _ms(breath[1])) if breath else None,
    )
    timeline = compile_timeline(apply_settings(routine, settings), measure, coaching)
    return Timeline(
        title=timeline.title,
        events=timeline.events,
        chapters=timeline.chapters,
        sections=timeline.sections,
        holds=timeline.holds,
        sets=timeline.sets,
        settings=settings.describe(),
    )


def compile_timeline(
    routine: Routine, measure: Measure, coaching: Coaching | None = None
) -> Timeline:
    """Compile a routine whose numbers are final."""
    b = _Builder(measure, coaching or Coaching())
    b.open_chapter("Introduction", None)
    b.say(routine.title + ".")
    if b.talks:
        b.say(routine.intro)
        b.say(routine.safety)
    b.close_chapter(routine.chapter_gap_s)
    titles = [e.title for e in routine.exercises]
    for index, exercise in enumerate(routine.exercises):
        b.next_title = titles[index + 1] if index + 1 < len(titles) else "the closing"
        b.open_chapter(exercise.title, exercise.id)
        if exercise.kind is ExerciseKind.HOLD:
            _hold_exercise(b, exercise, routine.breathing)
        else:
            _reps_exercise(b, exercise)
        b.close_chapter(routine.chapter_gap_s)
    b.open_chapter("Closing", None)
    if b.talks:
        b.say(routine.closing)
    b.tone(Cue.FINISH)
    b.pause(END_TAIL_MS)
    b.close_chapter(0)
    return b.timeline(routine.title)


# ------------------------------------------------------------------ exercises


def _values(exercise: Exercise, b: _Builder, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": exercise.title,
        "next": b.next_title,
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
    v = _values(exercise, b)
    b.say(exercise.title + ".")
    if b.talks:
        for text in (exercise.intro, exercise.caution, exercise.setup):
            b.say_template(text, v)


def _hold_exercise(b: _Builder, exercise: Exercise, breathing: tuple[str, ...]) -> None:
    _opening(b, exercise)
    sides: tuple[Side | None, ...] = exercise.sides or (None,)
    first = True
    for round_number in range(1, exercise.rounds + 1):
        if round_number > 1 and exercise.rest_s > 0:
            if b.talks:
                b.say_template(exercise.rest_cue, _values(exercise, b))
            b.pause(_ms(exercise.rest_s))
        for side in sides:
            v = _values(exercise, b, side=side, round=round_number)
            if side is not None:
                b.open_section(f"{exercise.title} - {side} side", side, round_number)
            if round_number > 1 and side == sides[0] and b.talks:
                b.say_template(exercise.round_intro, v)
            if not first and side is not None:
                b.tone(Cue.SWITCH)
            if side is not None:
                if not b.talks:
                    b.say(f"{side.capitalize()}.")
                else:
                    text = exercise.side_setup if round_number == 1 else exercise.side_again
                    b.say_template(text or exercise.side_again, v)
            b.pause(_ms(exercise.settle_s if first else exercise.switch_s))
            inside = _HoldWords(
                cue=templates.fill(exercise.hold_cue, v) if b.talks else "",
                during=templates.fill(exercise.during, v) if round_number == 1 and b.talks else "",
                extras=_coach_words(b, exercise, v, breathing),
            )
            _hold(b, exercise, side, round_number, inside)
            if b.talks:
                b.say_template(exercise.after, v)
            first = False
    if b.talks:
        b.say_template(exercise.closing, _values(exercise, b))


def _coach_words(
    b: _Builder, exercise: Exercise, values: dict[str, Any], breathing: tuple[str, ...]
) -> list[str]:
    """Coach level: the script's form reminders, then a breathing prompt, during each hold."""
    if b.coaching.verbosity != "coach":
        return []
    words = [templates.fill(text, values) for text in exercise.reminders]
    return words + [templates.fill(text, values) for text in breathing[:1]]


@dataclass(frozen=True)
class _HoldWords:
    cue: str  # said just before the hold
    during: str  # must be heard: inside the hold if it fits, else just before it
    extras: list[str]  # said inside the hold where they fit, else left out


def _hold(
    b: _Builder, exercise: Exercise, side: Side | None, round_number: int, words: _HoldWords
) -> None:
    hold_ms = _ms(exercise.hold_s)
    fixed: list[tuple[int, Cue]] = []
    if hold_ms >= HALFWAY_MIN_MS:
        fixed.append((hold_ms // 2, Cue.HALFWAY))
    fixed.extend((hold_ms - k * 1000, Cue.TICK) for k in range(COUNTDOWN_S, 0, -1))
    # The words meant for the hold go in the quiet gaps between its cues, in order; if
    # they cannot all fit, they are all spoken before the hold instead.
    during = paragraphs(words.during)
    gaps = _Gaps(fixed)
    inner = gaps.place_all([(p, b.measure(p)) for p in during])
    b.say(words.cue)
    if inner is None:
        b.say(words.during)
        inner = []
    for phrase in words.extras:
        placed = gaps.place(phrase, b.measure(phrase))
        if placed is not None:
            inner.append(placed)
    b.pause(CUE_LEAD_MS)
    start = b.t
    items: list[tuple[int, str | Cue]] = [(0, Cue.START), *fixed, *inner]
    if b.coaching.breath_ms is not None:
        items += _breath_cues(items, hold_ms, b.coaching.breath_ms, b.measure)
    for offset, item in sorted(items, key=lambda pair: pair[0]):
        b.pause_until(start + offset)
        if isinstance(item, Cue):
            b.tone(item)
        else:
            b.say(item, gap=False)
    b.pause_until(start + hold_ms)
    b.holds.append(Hold(exercise.id, side, round_number, start, start + hold_ms))
    b.tone(Cue.END)


def _breath_cues(
    items: list[tuple[int, str | Cue]], hold_ms: int, breath_ms: tuple[int, int], measure: Measure
) -> list[tuple[int, str | Cue]]:
    """Soft inhale and exhale tones at the breathing pace, wherever the hold is quiet."""
    busy = [
        (offset, offset + (CUE_MS[item] if isinstance(item, Cue) else measure(item)))
        for offset, item in items
    ]
    inhale_ms, exhale_ms = breath_ms
    cues: list[tuple[int, str | Cue]] = []
    t = CUE_MS[Cue.START] + PHRASE_GAP_MS
    while t < hold_ms:
        for cue, offset in ((Cue.INHALE, t), (Cue.EXHALE, t + inhale_ms)):
            end = offset + CUE_MS[cue]
            quiet = all(
                end + _BREATH_MARGIN_MS <= a or offset >= z + _BREATH_MARGIN_MS for a, z in busy
            )
            if quiet and end <= hold_ms - _BREATH_MARGIN_MS:
                cues.append((offset, cue))
                busy.append((offset, end))
        t += inhale_ms + exhale_ms
    return cues


class _Gaps:
    """The quiet gaps of a hold between its fixed cues, filled in order."""

    def __init__(self, fixed: list[tuple[int, Cue]]) -> None:
        self.gaps: list[tuple[int, int]] = []  # (free from, free until), ms from the start
        free_from = CUE_MS[Cue.START]
        for offset, cue in fixed:
            self.gaps.append((free_from, offset))
            free_from = offset + CUE_MS[cue]
        self.index = 0
        self.cursor = self.gaps[0][0] if self.gaps else 0

    def place(self, phrase: str, length: int) -> tuple[int, str] | None:
        """Where the phrase is said (ms from the hold's start), or None when it fits nowhere
        at or after the last placed phrase."""
        while self.index < len(self.gaps):
            if self.cursor + PHRASE_GAP_MS + length + PHRASE_GAP_MS <= self.gaps[self.index][1]:
                offset = self.cursor + PHRASE_GAP_MS
                self.cursor = offset + length
                return offset, phrase
            self.index += 1
            if self.index < len(self.gaps):
                self.cursor = self.gaps[self.index][0]
        return None

    def place_all(self, phrases: list[tuple[str, int]]) -> list[tuple[int, str | Cue]] | None:
        """Place every phrase, or none (and leave the gaps as they were)."""
        saved = (self.index, self.cursor)
        placed: list[tuple[int, str | Cue]] = []
        for phrase, length in phrases:
            spot = self.place(phrase, length)
            if spot is None:
                self.index, self.cursor = saved
                return None
            placed.append(spot)
        return placed


def _reps_exercise(b: _Builder, exercise: Exercise) -> None:
    _opening(b, exercise)
    b.pause(_ms(exercise.settle_s))
    work_ms, release_ms = _ms(exercise.work_s), _ms(exercise.release_s)
    for set_number in range(1, exercise.sets + 1):
        v = _values(exercise, b, set=set_number)
        if exercise.sets > 1:
            b.open_section(f"{exercise.title} - set {set_number}", None, set_number)
            if b.talks:
                b.say_template(exercise.set_intro, v)
            else:
                b.say(f"Set {set_number}.")
            b.pause(SET_READY_MS)
        start = b.t
        for rep in range(1, exercise.reps + 1):
            rep_start = b.t
            if not b.talks:  # minimal: a start tone instead of the spoken count
                b.tone(Cue.START)
                b.pause_until(rep_start + work_ms)
                b.tone(Cue.END)
                b.pause_until(rep_start + work_ms + release_ms)
                continue
            count = templates.fill(exercise.rep_cue, _values(exercise, b, set=set_number, rep=rep))
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
        if b.talks:
            b.say_template(exercise.set_end, v)
        if set_number < exercise.sets and exercise.rest_s > 0:
            if b.talks:
                b.say_template(exercise.rest_cue, v)
            b.pause(_ms(exercise.rest_s))
    if b.talks:
        b.say_template(exercise.closing, _values(exercise, b))


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


# ------------------------------------------------------------------ the builder


@dataclass
class _Builder:
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
    _chapter: tuple[str, str | None, int, int] | None = None  # title, exercise, start, first event

    @property
    def talks(self) -> bool:
        """False at minimal verbosity: tones and names only."""
        return self.coaching.verbosity != "minimal"

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
