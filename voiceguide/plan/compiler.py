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
  time, after the words that announce them; a step's ``then_s`` is quiet time after it.
* Safety notes (the routine's ``safety``, an exercise's ``caution``) are said at every
  verbosity; ``minimal`` leaves out the rest of the words (and the cue legend), never the
  time a step gives to move (getting into position, changing sides, lowering the legs).
"""

from __future__ import annotations

from typing import Any

from voiceguide.errors import RoutineError
from voiceguide.plan.builder import PHRASE_GAP_MS, Builder, Coaching, Measure, ms, paragraphs
from voiceguide.plan.checkin import check_in
from voiceguide.plan.cues import Cue
from voiceguide.plan.holds import HoldWords, place_hold
from voiceguide.plan.intro import introduce, spoken_list
from voiceguide.plan.parsing import Verbosity
from voiceguide.plan.settings import Settings, apply_settings
from voiceguide.plan.timeline import RepSet, Speech, Timeline
from voiceguide.routine import templates
from voiceguide.routine.model import Exercise, ExerciseKind, Routine, Side, guarded, then_s

__all__ = ["Coaching", "Measure", "Verbosity", "compile_routine", "compile_timeline", "paragraphs"]

SET_READY_MS = 1_500  # quiet between "Set 2 of 3." and the first rep
END_TAIL_MS = 1_500  # quiet after the final cue


def compile_routine(routine: Routine, settings: Settings, measure: Measure) -> Timeline:
    """Apply the settings' overrides, then compile."""
    breath = settings.breath_s
    coaching = Coaching(
        verbosity=settings.verbosity,
        intro=settings.intro,
        breath_ms=(ms(breath[0]), ms(breath[1])) if breath else None,
        pace=settings.pace,
    )
    timeline = compile_timeline(apply_settings(routine, settings), measure, coaching)
    return Timeline(
        title=timeline.title,
        events=timeline.events,
        chapters=timeline.chapters,
        sections=timeline.sections,
        holds=timeline.holds,
        sets=timeline.sets,
        steps=timeline.steps,
        check_in=check_in(measure) if settings.check_in else None,
        settings=settings,
    )


def compile_timeline(
    routine: Routine, measure: Measure, coaching: Coaching | None = None
) -> Timeline:
    """Compile a routine whose numbers are final."""
    b = Builder(measure, coaching or Coaching())
    b.open_chapter("Introduction", None)
    b.say(routine.title + ".")
    introduce(b, routine)
    b.close_chapter(routine.chapter_gap_s)
    titles = [e.title for e in routine.exercises]
    for index, exercise in enumerate(routine.exercises):
        b.next_title = titles[index + 1] if index + 1 < len(titles) else "the closing"
        b.open_chapter(exercise.title, exercise.id)
        if exercise.kind is ExerciseKind.HOLD:
            _hold_exercise(b, exercise, routine.breathing)
        else:
            _reps_exercise(b, exercise, routine.breathing)
        b.close_chapter(routine.chapter_gap_s)
    b.open_chapter("Closing", None)
    if b.talks:  # its steps (roll onto one side, push up) are moves too
        b.say_template(routine.closing, {}, _paced(b, then_s(routine.steps, "closing")))
    b.tone(Cue.FINISH)
    b.pause(END_TAIL_MS)
    b.close_chapter(0)
    return b.timeline(routine.title)


# ------------------------------------------------------------------ exercises


def _values(exercise: Exercise, b: Builder, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": exercise.title,
        "next": b.next_title,
        "hold_s": _spoken_seconds(exercise.hold_s),
        "rounds": exercise.rounds,
        "reps": exercise.reps,
        "sets": exercise.sets,
        "rest_s": _spoken_seconds(exercise.rest_s),
        "work_s": _spoken_seconds(exercise.work_s),
        "release_s": _spoken_seconds(exercise.release_s),
    }
    side: Side | None = extra.pop("side", None)
    if side is not None:
        other = "right" if side == "left" else "left"
        values.update(side=side, Side=side.capitalize(), other_side=other)
    values.update(extra)
    return values


def _spoken_seconds(seconds: float) -> float:
    """A length as it is said: whole seconds from 10 s on ("about 30 seconds" for a hold
    --fit made 30.2 s), tenths below."""
    return float(round(seconds)) if seconds >= 10 else round(seconds, 1)


def _steps(exercise: Exercise, field: str) -> tuple[str, tuple[float, ...]]:
    """One of the exercise's texts and the time after each of its phrases, without the
    steps whose ``when`` the exercise's numbers do not meet."""
    text, seconds = getattr(exercise, field), then_s(exercise.steps, field)
    guards = guarded(exercise.guards, field)
    if not guards:
        return text, seconds
    kept = [
        (phrase, seconds[i] if i < len(seconds) else 0.0)
        for i, (phrase, guard) in enumerate(zip(paragraphs(text), guards, strict=True))
        if guard is None or guard.holds(float(getattr(exercise, guard.name)))
    ]
    return "\n\n".join(p for p, _s in kept), tuple(s for _p, s in kept)


def _say(b: Builder, exercise: Exercise, field: str, values: dict[str, Any]) -> None:
    """One of the exercise's texts, with the time its steps give after each phrase."""
    text, seconds = _steps(exercise, field)
    b.say_template(text, values, seconds)


def _paced(b: Builder, seconds: tuple[float, ...]) -> tuple[float, ...]:
    """Steps' times to act, at the listener's pace (--pace)."""
    return tuple(b.coaching.move_ms(s) / 1000 for s in seconds)


def _move(b: Builder, exercise: Exercise, field: str, values: dict[str, Any]) -> None:
    """A text that asks for a movement: said with its steps' time (at the listener's
    pace), or at minimal left unsaid with that time kept (the listener still has to get
    into position)."""
    text, seconds = _steps(exercise, field)
    if b.talks:
        b.say_template(text, values, _paced(b, seconds))
    elif text:
        b.pause(b.coaching.move_ms(sum(seconds)))


def _opening(b: Builder, exercise: Exercise) -> None:
    v = _values(exercise, b)
    b.say(exercise.title + ".")
    if b.talks and b.coaching.intro == "full":  # a returning listener knows why
        _say(b, exercise, "intro", v)
    _say(b, exercise, "caution", v)  # a safety note: at every level
    if b.talks and exercise.needs:
        b.say(f"Have {spoken_list([n.rstrip('.') for n in exercise.needs])} within reach.")
    _move(b, exercise, "setup", v)


def _hold_exercise(b: Builder, exercise: Exercise, breathing: tuple[str, ...]) -> None:
    _opening(b, exercise)
    sides: tuple[Side | None, ...] = exercise.sides or (None,)
    first = True
    # holds so far: the coach's reminders and breathing prompts rotate by it, shifted by the
    # round, so a side's next hold hears the other one (two of each, two sides)
    held = 0
    for round_number in range(1, exercise.rounds + 1):
        if round_number > 1:
            _move(b, exercise, "round_end", _values(exercise, b, round=round_number - 1))
            if exercise.rest_s > 0:
                if b.talks:
                    _say(b, exercise, "rest_cue", _values(exercise, b))
                b.pause(ms(exercise.rest_s))
        for side in sides:
            v = _values(exercise, b, side=side, round=round_number)
            if side is not None:
                b.open_section(f"{exercise.title} - {side} side", side, round_number)
            if exercise.rounds > 1 and side == sides[0] and b.talks:
                _say(b, exercise, "round_intro", v)  # "Round 1 of 3." too
            if round_number > 1 and side == sides[0]:
                _move(b, exercise, "round_again", _values(exercise, b, round=round_number))
            if not first and side is not None:
                b.tone(Cue.SWITCH)
            said_from = len(b.events)
            if side is not None:
                if not b.talks:
                    b.say(f"{side.capitalize()}.")
                field = "side_setup" if round_number == 1 else "side_again"
                _move(b, exercise, field if getattr(exercise, field) else "side_again", v)
            b.pause(b.coaching.move_ms(exercise.settle_s if first else exercise.switch_s))
            during = templates.fill(exercise.during, v) if round_number == 1 and b.talks else ""
            said = {e.text for e in b.events[said_from:] if isinstance(e, Speech)}
            inside = HoldWords(
                cue=templates.fill(exercise.hold_cue, v) if b.talks else "",
                during=during,
                extras=_coach_words(
                    b,
                    exercise,
                    v,
                    breathing,
                    held + round_number - 1,
                    frozenset(said),
                    bool(during),
                ),
            )
            held += 1
            place_hold(b, exercise, side, round_number, inside)
            _move(b, exercise, "after", v)
            first = False
    _move(b, exercise, "closing", _values(exercise, b))


def _coach_words(
    b: Builder,
    exercise: Exercise,
    values: dict[str, Any],
    breathing: tuple[str, ...],
    index: int,
    said: frozenset[str] = frozenset(),
    said_during: bool = False,
) -> list[str]:
    """Coach level: one of the script's form reminders and one breathing prompt for the
    ``index``-th hold (or set), each in turn, so no hold hears the same sentence twice: a
    reminder just said in the set-up is passed over, and a hold that has its own words
    (``during``, ``said_during``) gets the breathing prompt only."""
    if b.coaching.verbosity != "coach":
        return []
    words = []
    # a hold whose own words are said in it (``during``) is coached by them already
    reminders = [] if said_during else [templates.fill(t, values) for t in exercise.reminders]
    fresh = [
        reminders[(index + k) % len(reminders)]
        for k in range(len(reminders))
        if reminders[(index + k) % len(reminders)] not in said
    ]
    words += fresh[:1]
    if breathing:
        words.append(templates.fill(breathing[index % len(breathing)], values))
    return words


def _reps_exercise(b: Builder, exercise: Exercise, breathing: tuple[str, ...]) -> None:
    _opening(b, exercise)
    b.pause(b.coaching.move_ms(exercise.settle_s))
    work_ms, release_ms = ms(exercise.work_s), ms(exercise.release_s)
    for set_number in range(1, exercise.sets + 1):
        v = _values(exercise, b, set=set_number)
        if exercise.sets > 1:
            b.open_section(f"{exercise.title} - set {set_number}", None, set_number)
            if b.talks:
                _say(b, exercise, "set_intro", v)
            else:
                b.say(f"Set {set_number}.")
        # coach level: a reminder before each set, in turn ("Breathe out as you squeeze."): a
        # rep's count leaves no room for one
        b.say(" ".join(_coach_words(b, exercise, v, (), set_number - 1)))
        if exercise.sets > 1 or b.coaching.verbosity == "coach":
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
                    path=exercise.source,
                    exercise=exercise.id,
                    field="work_s",
                )
            b.say(count, gap=False)
            b.pause_until(rep_start + work_ms)
            b.tone(Cue.END)
            b.pause_until(rep_start + work_ms + release_ms)
        b.sets.append(RepSet(exercise.id, set_number, exercise.reps, start, b.t))
        b.tone(Cue.SET_END)
        if b.talks and exercise.sets > 1:
            _say(b, exercise, "set_end", v)
        elif b.talks:  # one set is not "set 1 of 1": its quiet is kept
            b.pause(ms(sum(_steps(exercise, "set_end")[1])))
        if set_number < exercise.sets and exercise.rest_s > 0:
            if b.talks:
                _say(b, exercise, "rest_cue", v)
            rest_end = b.t + ms(exercise.rest_s)
            if b.coaching.verbosity == "coach" and breathing:  # inside the rest, if it fits
                words = templates.fill(breathing[(set_number - 1) % len(breathing)], v)
                if b.t + 2 * PHRASE_GAP_MS + b.measure(words) <= rest_end:
                    b.pause(PHRASE_GAP_MS)
                    b.say(words, gap=False)
            b.pause_until(rest_end)
    _move(b, exercise, "closing", _values(exercise, b))
