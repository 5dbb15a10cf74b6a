"""The introduction of a routine, as a physical therapist would give it: why the routine,
what to have ready, its safety note (at every verbosity), and the cue sounds heard, each
played right after its meaning is said, so none is new when the routine uses it."""

from __future__ import annotations

from voiceguide.plan.builder import Builder, Coaching, ms
from voiceguide.plan.cues import CUE_MS, MEANINGS, SHORT_NAMES, Cue
from voiceguide.plan.holds import COUNTDOWN_S, HALFWAY_MIN_MS
from voiceguide.routine.model import ExerciseKind, Routine, then_s

__all__ = [
    "LEGEND_INTRO",
    "cues_line",
    "cues_used",
    "introduce",
    "needs_phrase",
    "spoken_list",
]

LEGEND_INTRO = "You can keep your eyes closed: these sounds guide you. Each is named, then played."
_NAME_TO_SOUND_MS = 600  # quiet between a cue's meaning and its sound (as in 'cues')
_AFTER_SOUND_MS = 1_200  # quiet after the sound, before the next meaning


def introduce(b: Builder, routine: Routine) -> None:
    """The introduction chapter's words and sounds (after the routine's title). The short
    one, for a returning listener, keeps what to have ready and the safety note (the pain
    rule with it), and names the cue sounds in one line."""
    if b.coaching.intro == "short":
        if b.talks:
            b.say(needs_phrase(routine))
        b.say_template(routine.safety, {}, then_s(routine.steps, "safety"))
        if b.talks:
            b.say(cues_line(routine, b.coaching))
        return  # no sound is played, so no quiet after one: the chapter's gap follows
    if b.talks:
        b.say_template(routine.intro, {}, then_s(routine.steps, "intro"))
        b.say(needs_phrase(routine))
    b.say_template(routine.safety, {}, then_s(routine.steps, "safety"))  # at every level
    if b.talks:
        b.say(LEGEND_INTRO)
        for cue in cues_used(routine, b.coaching):
            b.pause(_AFTER_SOUND_MS)
            b.say(MEANINGS[cue], gap=False)
            b.pause(_NAME_TO_SOUND_MS)
            for tick in range(COUNTDOWN_S if cue is Cue.TICK else 1):
                if tick:
                    b.pause(1000 - CUE_MS[cue])
                b.tone(cue)
        b.pause(_AFTER_SOUND_MS)


def cues_line(routine: Routine, coaching: Coaching) -> str:
    """The short introduction's one line naming the cue sounds the routine plays ("Rising
    notes start, a bell is halfway, ..."): a returning listener knows them, the line
    reminds."""
    names = [SHORT_NAMES[cue] for cue in cues_used(routine, coaching) if cue is not Cue.FINISH]
    line = spoken_list(names)
    return line[:1].upper() + line[1:] + "." if names else ""


def needs_phrase(routine: Routine) -> str:
    """The introduction's "Have ready: ..." line: the routine's needs, then each exercise's
    not named yet ("" when there are none)."""
    items: dict[str, str] = {}
    for item in (*routine.needs, *(n for e in routine.exercises for n in e.needs)):
        items.setdefault(item.lower().rstrip("."), item.rstrip("."))
    return f"Have ready: {spoken_list(list(items.values()))}." if items else ""


def spoken_list(items: list[str]) -> str:
    """["a", "b", "c"] -> "a, b, and c"."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def cues_used(routine: Routine, coaching: Coaching) -> list[Cue]:
    """Every cue the compiled routine plays (its numbers final), in the order of ``Cue``; a
    test checks it against the timeline."""
    used = {Cue.FINISH}
    for e in routine.exercises:
        if e.kind is ExerciseKind.HOLD:
            used |= {Cue.START, Cue.TICK, Cue.END}
            if ms(e.hold_s) >= HALFWAY_MIN_MS:
                used.add(Cue.HALFWAY)
            if e.sides and (len(e.sides) > 1 or e.rounds > 1):
                used.add(Cue.SWITCH)
        else:
            used |= {Cue.END, Cue.SET_END}
            if coaching.verbosity == "minimal":
                used.add(Cue.START)
    if coaching.breath_ms is not None and any(
        e.kind is ExerciseKind.HOLD for e in routine.exercises
    ):
        used |= {Cue.INHALE, Cue.EXHALE}
    return [cue for cue in Cue if cue in used]
