"""A hold on the timeline: its start and end cues exactly ``hold_s`` apart, the halfway bell
and the countdown inside it, the words meant for it in its quiet gaps, and (with
``--breath``) soft breathing tones wherever it is quiet."""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.plan.builder import PHRASE_GAP_MS, Builder, Measure, ms, paragraphs
from voiceguide.plan.cues import CUE_MS, Cue
from voiceguide.plan.timeline import Hold
from voiceguide.routine.model import Exercise, Side

__all__ = ["HoldWords", "place_hold"]

CUE_LEAD_MS = 700  # quiet between the words announcing a hold and its start cue
HALFWAY_MIN_MS = 12_000  # shorter holds get no halfway bell
COUNTDOWN_S = 3  # ticks at 3, 2, 1 s before the end of a hold
_BREATH_MARGIN_MS = 250  # quiet kept around a breath tone


@dataclass(frozen=True)
class HoldWords:
    cue: str  # said just before the hold
    during: str  # must be heard: inside the hold if it fits, else just before it
    extras: list[str]  # said inside the hold wherever they fit, else left out


def place_hold(
    b: Builder, exercise: Exercise, side: Side | None, round_number: int, words: HoldWords
) -> None:
    """The hold, with the words said just before it and inside it."""
    hold_ms = ms(exercise.hold_s)
    fixed: list[tuple[int, Cue]] = []
    if hold_ms >= HALFWAY_MIN_MS:
        fixed.append((hold_ms // 2, Cue.HALFWAY))
    fixed.extend((hold_ms - k * 1000, Cue.TICK) for k in range(COUNTDOWN_S, 0, -1))
    # The words meant for the hold go in the quiet gaps between its cues, in order; if
    # they cannot all fit, they are all spoken before the hold instead. Coach-level words
    # then take the earliest quiet left anywhere in the hold, or are left out.
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
    """The quiet of a hold between its fixed cues: free intervals (ms from the hold's start)
    that phrases are placed into, each kept ``PHRASE_GAP_MS`` away from any other sound."""

    def __init__(self, fixed: list[tuple[int, Cue]]) -> None:
        self.free: list[tuple[int, int]] = []  # (free from, free until), in time order
        free_from = CUE_MS[Cue.START]
        for offset, cue in fixed:
            self.free.append((free_from, offset))
            free_from = offset + CUE_MS[cue]

    def place(self, phrase: str, length: int, after: int = 0) -> tuple[int, str] | None:
        """Where the phrase is said: the earliest spot with room at or after ``after``
        (None when there is none); that time is taken."""
        for index, (free_from, free_until) in enumerate(self.free):
            offset = max(free_from, after) + PHRASE_GAP_MS
            if offset + length + PHRASE_GAP_MS <= free_until:
                self.free[index : index + 1] = [(free_from, offset), (offset + length, free_until)]
                return offset, phrase
        return None

    def place_all(self, phrases: list[tuple[str, int]]) -> list[tuple[int, str | Cue]] | None:
        """Place every phrase, in order, or none (and leave the gaps as they were)."""
        saved = list(self.free)
        placed: list[tuple[int, str | Cue]] = []
        after = 0
        for phrase, length in phrases:
            spot = self.place(phrase, length, after)
            if spot is None:
                self.free = saved
                return None
            placed.append(spot)
            after = spot[0] + length
        return placed
