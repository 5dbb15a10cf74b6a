"""The cue legend: a short track that names each cue sound, then plays it
(``voiceguide cues``), so a listener learns them before a routine.

It is a timeline like a routine's (contiguous events at exact milliseconds, one chapter,
one section per cue), so it renders, exports and plays through the same machinery.
"""

from __future__ import annotations

from voiceguide.plan.compiler import Measure
from voiceguide.plan.cues import CUE_MS, DESCRIPTIONS, Cue
from voiceguide.plan.timeline import Chapter, Event, Section, Silence, Speech, Timeline, Tone

__all__ = ["LEGEND_TITLE", "cue_phrase", "legend_phrases", "legend_timeline"]

LEGEND_TITLE = "voiceguide cue sounds"
_INTRO = "The sounds of voiceguide. Each one is named, then played."
_OUTRO = "Those are all the sounds."
_NAME_TO_SOUND_MS = 600  # quiet between a cue's name and its sound
_AFTER_SOUND_MS = 1_500  # quiet after the sound, before the next name
_TICKS = 3  # the countdown: a tick a second, three times


def cue_phrase(cue: Cue) -> str:
    """What is said before the cue is played: its description, as a sentence."""
    description = DESCRIPTIONS[cue].replace(" (with --breath)", ", when breathing tones are on")
    return description[0].upper() + description[1:] + "."


def legend_phrases() -> list[str]:
    """Every phrase of the legend, in order (to synthesize them together)."""
    return [_INTRO, *(cue_phrase(cue) for cue in Cue), _OUTRO]


def legend_timeline(measure: Measure) -> Timeline:
    """The legend: an introduction, then each cue's name followed by its sound (the countdown
    tick three times, a second apart, as in a hold), then a closing line."""
    events: list[Event] = []
    sections: list[Section] = []

    def now() -> int:
        return events[-1].end_ms if events else 0

    def say(text: str) -> None:
        events.append(Speech(now(), now() + measure(text), text))

    def pause(length_ms: int) -> None:
        events.append(Silence(now(), now() + length_ms))

    def section(title: str, start_ms: int) -> None:
        sections.append(Section(title, 1, start_ms, now()))

    say(_INTRO)
    pause(_AFTER_SOUND_MS)
    section("The cue sounds", 0)
    for cue in Cue:
        start = now()
        say(cue_phrase(cue))
        pause(_NAME_TO_SOUND_MS)
        for tick in range(_TICKS if cue is Cue.TICK else 1):
            if tick:
                pause(1000 - CUE_MS[cue])
            events.append(Tone(now(), now() + CUE_MS[cue], cue))
        pause(_AFTER_SOUND_MS)
        section(cue_phrase(cue).removesuffix("."), start)
    start = now()
    say(_OUTRO)
    pause(_AFTER_SOUND_MS)
    section("The end", start)
    chapter = Chapter(1, LEGEND_TITLE, None, 0, now(), 0, len(events))
    return Timeline(LEGEND_TITLE, tuple(events), (chapter,), tuple(sections))
