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
    extras: list[str]  # said inside the hold where they fit, else left out


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
