"""The cue vocabulary: every cue, its notes, how long it lasts, and what it means.

Pure data: the compiler places cues with :data:`CUE_MS` without touching audio;
:mod:`voiceguide.sound.tones` makes each sound from :data:`NOTES`.

========== ============================================= =========
cue        sound                                          length
========== ============================================= =========
start      two notes rising (E5 -> B5): the hold begins   400 ms
halfway    one soft bell (A5)                             450 ms
tick       a short high blip (C6), three in the last 3 s  90 ms
end        two notes falling (B5 -> E5): hold ends,       400 ms
           or release in a rep
switch     three quick alternating notes (D5 G5 D5)       450 ms
set_end    two low knocks (C4 C4)                         450 ms
finish     a rising four-note arpeggio (C5 E5 G5 C6)      1200 ms
inhale     a soft low rise (G3 -> A3), with --breath      500 ms
exhale     a soft low fall (A3 -> G3), with --breath      500 ms
========== ============================================= =========
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CUE_MS", "DESCRIPTIONS", "MEANINGS", "NOTES", "SHORT_NAMES", "Cue"]


class Cue(StrEnum):
    START = "start"
    HALFWAY = "halfway"
    TICK = "tick"
    END = "end"
    SWITCH = "switch"
    SET_END = "set_end"
    FINISH = "finish"
    INHALE = "inhale"
    EXHALE = "exhale"


# (frequency Hz, onset ms, length ms) notes of each cue, and the cue's total length.
NOTES: dict[Cue, tuple[tuple[float, int, int], ...]] = {
    Cue.START: ((659.25, 0, 180), (987.77, 170, 230)),
    Cue.HALFWAY: ((880.0, 0, 450),),
    Cue.TICK: ((1046.5, 0, 90),),
    Cue.END: ((987.77, 0, 180), (659.25, 170, 230)),
    Cue.SWITCH: ((587.33, 0, 140), (783.99, 150, 140), (587.33, 300, 150)),
    Cue.SET_END: ((261.63, 0, 200), (261.63, 250, 200)),
    Cue.FINISH: ((523.25, 0, 400), (659.25, 200, 400), (783.99, 400, 400), (1046.5, 600, 600)),
    Cue.INHALE: ((196.0, 0, 350), (220.0, 150, 350)),
    Cue.EXHALE: ((220.0, 0, 350), (196.0, 150, 350)),
}
CUE_MS: dict[Cue, int] = {
    cue: max(onset + length for _f, onset, length in notes) for cue, notes in NOTES.items()
}
DESCRIPTIONS: dict[Cue, str] = {
    Cue.START: "two notes rising: the hold begins",
    Cue.HALFWAY: "one soft bell: halfway through the hold",
    Cue.TICK: "a short high blip, once a second in the last three seconds",
    Cue.END: "two notes falling: the hold ends (in reps: release)",
    Cue.SWITCH: "three quick notes: switch sides",
    Cue.SET_END: "two low knocks: the set is done",
    Cue.FINISH: "a rising four-note arpeggio: the routine is done",
    Cue.INHALE: "a soft low rise: breathe in (with --breath)",
    Cue.EXHALE: "a soft low fall: breathe out (with --breath)",
}
# What each cue means, said right before it is played in a routine's introduction (the sound
# itself is heard there, so it is not described).
MEANINGS: dict[Cue, str] = {
    Cue.START: "The hold begins.",
    Cue.HALFWAY: "Halfway.",
    Cue.TICK: "The last three seconds.",
    Cue.END: "Release.",
    Cue.SWITCH: "Switch sides.",
    Cue.SET_END: "The set is done.",
    Cue.FINISH: "The routine is done.",
    Cue.INHALE: "Breathe in.",
    Cue.EXHALE: "Breathe out.",
}
# Each cue in a few words, for the short introduction's one line (a returning listener knows
# the sounds: the line reminds, the full introduction plays them).
SHORT_NAMES: dict[Cue, str] = {
    Cue.START: "rising notes start",
    Cue.HALFWAY: "a bell is halfway",
    Cue.TICK: "blips count down",
    Cue.END: "falling notes stop",
    Cue.SWITCH: "three notes switch",
    Cue.SET_END: "knocks end a set",
    Cue.FINISH: "an arpeggio ends the routine",
    Cue.INHALE: "a soft rise is in",
    Cue.EXHALE: "a soft fall is out",
}
