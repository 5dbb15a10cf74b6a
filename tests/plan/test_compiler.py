"""The compiler's guarantees, on the bundled routine and on small made-up ones."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from tests.conftest import fake_measure
from voiceguide.errors import RoutineError, SettingsError
from voiceguide.plan.compiler import compile_routine, compile_timeline
from voiceguide.plan.cues import CUE_MS, Cue
from voiceguide.plan.settings import Settings, parse_override
from voiceguide.plan.timeline import Silence, Speech, Timeline, Tone
from voiceguide.routine.model import Exercise, ExerciseKind, Routine


def plan(routine: Routine, *overrides: tuple[str, str]) -> Timeline:
    settings = Settings(overrides=tuple(parse_override(o, v) for o, v in overrides))
    return compile_routine(routine, settings, fake_measure)


def tones(timeline: Timeline, cue: Cue) -> list[int]:
    return [e.start_ms for e in timeline.events if isinstance(e, Tone) and e.cue is cue]


def check_invariants(timeline: Timeline) -> None:
    events = timeline.events
    assert events[0].start_ms == 0
    for before, after in itertools.pairwise(events):
        assert before.end_ms == after.start_ms, (before, after)
    for event in events:
        assert event.end_ms > event.start_ms, event
    # chapters partition the timeline and the event list
    assert timeline.chapters[0].start_ms == 0
    assert timeline.chapters[-1].end_ms == timeline.total_ms
    for before, after in zip(timeline.chapters, timeline.chapters[1:], strict=False):
        assert before.end_ms == after.start_ms
        assert before.end_event == after.first_event
    for chapter in timeline.chapters:
        inside = events[chapter.first_event : chapter.end_event]
        assert inside[0].start_ms == chapter.start_ms and inside[-1].end_ms == chapter.end_ms
    # sections partition the timeline too
    assert timeline.sections[0].start_ms == 0
    assert timeline.sections[-1].end_ms == timeline.total_ms
    for before, after in zip(timeline.sections, timeline.sections[1:], strict=False):
        assert before.end_ms == after.start_ms


def test_bundled_routine_compiles_to_a_consistent_timeline(routine: Routine) -> None:
    timeline = plan(routine)
    check_invariants(timeline)
    titles = [c.title for c in timeline.chapters]
    assert titles == [
        "Introduction",
        "Supine hip stretch",
        "Seated twist hip release",
        "Adductor ball squeeze",
        "Closing",
    ]
    # supine: 3 rounds x 2 sides; twist: 1 round x 2 sides
    assert [(h.exercise, h.side) for h in timeline.holds] == [
        *[("supine-hip-stretch", side) for _ in range(3) for side in ("left", "right")],
        ("seated-twist-hip-release", "right"),
        ("seated-twist-hip-release", "left"),
    ]
    assert [(s.exercise, s.set, s.reps) for s in timeline.sets] == [
        ("adductor-ball-squeeze", 1, 12),
        ("adductor-ball-squeeze", 2, 12),
    ]
    assert tones(timeline, Cue.FINISH) and timeline.events[-1].end_ms == timeline.total_ms


def test_same_input_same_timeline(routine: Routine) -> None:
    assert plan(routine, ("hold", "40")) == plan(routine, ("hold", "40"))


@pytest.mark.parametrize("hold_s", ["5", "12", "30", "45", "61.5", "600"])
def test_every_hold_lasts_exactly_its_seconds_from_start_cue_to_end_cue(
    routine: Routine, hold_s: str
) -> None:
    timeline = plan(routine, ("hold", hold_s))
    check_invariants(timeline)
    expected_ms = round(float(hold_s) * 1000)
    starts, ends = tones(timeline, Cue.START), tones(timeline, Cue.END)
    for hold in timeline.holds:
        assert hold.end_ms - hold.start_ms == expected_ms
        assert hold.start_ms in starts and hold.end_ms in ends


def test_cues_inside_a_hold_stay_inside_it(routine: Routine) -> None:
    timeline = plan(routine)
    for hold in timeline.holds:
        inside = [e for e in timeline.events if hold.start_ms <= e.start_ms < hold.end_ms]
        assert isinstance(inside[0], Tone) and inside[0].cue is Cue.START
        assert all(e.end_ms <= hold.end_ms for e in inside)
        ticks = [e.start_ms for e in inside if isinstance(e, Tone) and e.cue is Cue.TICK]
        assert ticks == [hold.end_ms - 3000, hold.end_ms - 2000, hold.end_ms - 1000]
        halfway = [e.start_ms for e in inside if isinstance(e, Tone) and e.cue is Cue.HALFWAY]
        assert halfway == [hold.start_ms + (hold.end_ms - hold.start_ms) // 2]


def test_short_holds_skip_the_halfway_bell_but_keep_the_countdown(routine: Routine) -> None:
    timeline = plan(routine, ("hold", "8"))
    for hold in timeline.holds:
        inside = [e for e in timeline.events if hold.start_ms <= e.start_ms < hold.end_ms]
        cues = [e.cue for e in inside if isinstance(e, Tone)]
        assert cues == [Cue.START, Cue.TICK, Cue.TICK, Cue.TICK]


def test_both_sides_get_the_same_hold_time_and_each_switch_is_announced(routine: Routine) -> None:
    timeline = plan(routine, ("hold", "supine-hip-stretch=40"))
    lengths = {(h.exercise, h.side): h.end_ms - h.start_ms for h in timeline.holds}
    assert (
        lengths[("supine-hip-stretch", "left")]
        == lengths[("supine-hip-stretch", "right")]
        == 40_000
    )
    assert lengths[("seated-twist-hip-release", "left")] == 30_000
    # a switch cue before every hold but the first of each exercise, and the side is named
    switches = [t for t in tones(timeline, Cue.SWITCH) if t >= timeline.chapters[0].end_ms]
    assert len(switches) == (6 - 1) + (2 - 1)
    for at in switches:
        following = next(
            e
            for e in timeline.events
            if e.start_ms >= at + CUE_MS[Cue.SWITCH] and isinstance(e, Speech)
        )
        assert following.text.startswith(("Left side", "Right side"))


def test_text_meant_for_a_hold_is_spoken_inside_it_when_it_fits(routine: Routine) -> None:
    timeline = plan(routine)
    first = timeline.holds[0]
    inside = [
        e.text
        for e in timeline.events
        if isinstance(e, Speech) and first.start_ms <= e.start_ms < first.end_ms
    ]
    assert any("cheating" in text for text in inside)
    # too short a hold: the same words come just before it instead, and the hold is intact
    short = plan(routine, ("hold", "6"))
    hold = short.holds[0]
    before = [e.text for e in short.events if isinstance(e, Speech) and e.end_ms <= hold.start_ms]
    assert any("cheating" in text for text in before)
    assert hold.end_ms - hold.start_ms == 6000


def test_longer_holds_lengthen_the_routine_by_exactly_the_difference(routine: Routine) -> None:
    base, longer = plan(routine), plan(routine, ("hold", "45"))
    assert len(base.holds) == 8
    assert longer.total_ms - base.total_ms == (45_000 - 30_000) * len(base.holds)


def test_rest_and_rounds_and_sets_and_reps_overrides(routine: Routine) -> None:
    base = plan(routine)
    more_rest = plan(routine, ("rest", "adductor-ball-squeeze=50"))
    assert more_rest.total_ms - base.total_ms == (50 - 20) * 1000 * (2 - 1)
    more_rounds = plan(routine, ("rounds", "supine-hip-stretch=4"))
    assert sum(h.exercise == "supine-hip-stretch" for h in more_rounds.holds) == 8
    reps = plan(routine, ("reps", "15"), ("sets", "3"))
    assert [(s.set, s.reps) for s in reps.sets] == [(1, 15), (2, 15), (3, 15)]
    check_invariants(reps)


def test_reps_keep_an_exact_tempo_and_are_counted_aloud(routine: Routine) -> None:
    timeline = plan(routine)
    squeeze = routine.exercise("adductor-ball-squeeze")
    rep_ms = round((squeeze.work_s + squeeze.release_s) * 1000)
    for rep_set in timeline.sets:
        assert rep_set.end_ms - rep_set.start_ms == rep_set.reps * rep_ms
        counts = [
            e
            for e in timeline.events
            if isinstance(e, Speech) and rep_set.start_ms <= e.start_ms < rep_set.end_ms
        ]
        assert [c.start_ms - rep_set.start_ms for c in counts] == [i * rep_ms for i in range(12)]
        assert [c.text for c in counts][:2] == ["Squeeze, 1.", "Squeeze, 2."]
        releases = [t for t in tones(timeline, Cue.END) if rep_set.start_ms <= t < rep_set.end_ms]
        assert [t - rep_set.start_ms for t in releases] == [i * rep_ms + 3000 for i in range(12)]
    # a rest between the two sets, and the set end is signalled after each set (the
    # introduction plays it once first, to learn it)
    assert len(tones(timeline, Cue.SET_END)) == 1 + 2


def test_each_set_up_step_is_followed_by_its_time_and_the_hold_by_settle_time(
    routine: Routine,
) -> None:
    timeline = plan(routine)
    first = timeline.holds[0]
    events = timeline.events

    def quiet_after(text: str) -> int:
        said = next(e for e in events if isinstance(e, Speech) and e.text.startswith(text))
        after = events[events.index(said) + 1]
        return after.end_ms - after.start_ms if isinstance(after, Silence) else 0

    assert quiet_after("Lie on your back with your knees bent") == 4000  # then_s: 4
    assert quiet_after("Left side. Place your left ankle") == 4000
    cue = next(
        e
        for e in events
        if isinstance(e, Speech) and e.text == "Stay in the stretch." and e.end_ms <= first.start_ms
    )
    assert quiet_after("Keep your left knee pointing outward") == 2000  # settle_s
    assert (
        events.index(cue)
        == events.index(
            next(
                e
                for e in events
                if isinstance(e, Speech) and e.text.startswith("Keep your left knee")
            )
        )
        + 2
    )


def _tiny(kind: ExerciseKind, **fields: object) -> Routine:
    exercise = Exercise(id="x", title="X", kind=kind, source=Path("x.yaml"), **fields)  # type: ignore[arg-type]
    return Routine(name="t", title="T", source=Path("t.routine.yaml"), exercises=(exercise,))


def test_an_exercise_without_sides_and_several_rounds() -> None:
    timeline = compile_timeline(_tiny(ExerciseKind.HOLD, rounds=3, hold_s=10), fake_measure)
    check_invariants(timeline)
    assert [(h.side, h.round) for h in timeline.holds] == [(None, 1), (None, 2), (None, 3)]
    assert not tones(timeline, Cue.SWITCH)


def test_a_spoken_count_longer_than_the_effort_is_refused_naming_the_field() -> None:
    routine = _tiny(
        ExerciseKind.REPS, rep_cue="This count is far too long to fit, {rep}.", work_s=1.0
    )
    with pytest.raises(RoutineError, match=r"exercise 'x', field 'work_s'"):
        compile_timeline(routine, fake_measure)


def test_overrides_name_real_exercises_of_the_right_kind(routine: Routine) -> None:
    with pytest.raises(SettingsError, match="did you mean 'supine-hip-stretch'"):
        plan(routine, ("hold", "supine-hip-strech=40"))
    with pytest.raises(SettingsError, match="'reps' exercise, which has no hold_s"):
        plan(routine, ("hold", "adductor-ball-squeeze=40"))
    hold_only = dataclasses.replace(routine, exercises=routine.exercises[:2])
    with pytest.raises(SettingsError, match="no exercise with reps"):
        plan(hold_only, ("reps", "12"))


@pytest.mark.parametrize(
    ("option", "raw", "message"),
    [
        ("hold", "abc", "'abc' is not a number"),
        ("hold", "0", "between 5 s and 600 s"),
        ("hold", "-5", "between 5 s and 600 s"),
        ("hold", "nan", "between"),
        ("hold", "=40", "exercise id before '=' is empty"),
        ("rest", "-1", "between 0 s and 600 s"),
        ("reps", "2.5", "whole number"),
        ("sets", "21", "between 1 and 20"),
    ],
)
def test_bad_option_values_are_refused_clearly(option: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_override(option, raw)
