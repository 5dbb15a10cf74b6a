"""Coaching depth: verbosity levels, form reminders, breathing tones, {next}."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tests.conftest import FakeSynthesizer, fake_measure
from tests.plan.test_compiler import check_invariants
from voiceguide.errors import SettingsError
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.cues import Cue
from voiceguide.plan.parsing import parse_breath
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Event, Speech, Timeline, Tone
from voiceguide.routine.model import Routine


def plan(routine: Routine, **settings: object) -> Timeline:
    return compile_routine(routine, Settings(**settings), fake_measure)  # type: ignore[arg-type]


def spoken(timeline: Timeline) -> list[str]:
    return [e.text for e in timeline.events if isinstance(e, Speech)]


def after_intro(timeline: Timeline) -> tuple[Event, ...]:
    """The events after the introduction (which plays every cue once, as a legend)."""
    return timeline.events[timeline.chapters[0].end_event :]


def inside_holds(timeline: Timeline) -> list[list[Speech | Tone]]:
    result = []
    for hold in timeline.holds:
        result.append(
            [
                e
                for e in timeline.events
                if isinstance(e, Speech | Tone) and hold.start_ms <= e.start_ms < hold.end_ms
            ]
        )
    return result


@pytest.mark.parametrize("verbosity", ["minimal", "standard", "coach"])
def test_every_level_keeps_the_holds_and_reps_exact(routine: Routine, verbosity: str) -> None:
    timeline = plan(routine, verbosity=verbosity)
    check_invariants(timeline)
    assert [h.end_ms - h.start_ms for h in timeline.holds] == [30_000] * 8
    assert [(s.end_ms - s.start_ms) for s in timeline.sets] == [12 * 5000] * 2
    ticks = [e for e in after_intro(timeline) if isinstance(e, Tone) and e.cue is Cue.TICK]
    assert len(ticks) == 3 * 8


def test_minimal_says_only_names_sides_and_the_safety_notes(routine: Routine) -> None:
    words = spoken(plan(routine, verbosity="minimal"))
    assert "Supine hip stretch." in words and "Left." in words and "Right." in words
    assert "Set 1." in words
    assert not any("ankle" in w or "Squeeze, 1" in w for w in words)
    notes = [routine.safety, *(e.caution for e in routine.exercises)]
    said = [p for note in notes for p in note.split("\n\n")]
    assert [w for w in words if w in said] == said  # at every level, in order
    # the pain rule: in the introduction and with every exercise
    rule = re.compile(r"(brings on pain|it hurts), (ease off|squeeze more gently)")
    assert sum(bool(rule.search(w)) for w in words) == 4


def test_coach_adds_form_reminders_and_breathing_prompts_inside_every_hold(
    routine: Routine,
) -> None:
    coach = plan(routine, verbosity="coach")
    standard = plan(routine)
    # said inside the holds: no hold moves; the squeezes get one line before each set
    before_sets = [s.start_ms - c.start_ms for s, c in zip(coach.sets, standard.sets, strict=True)]
    assert [h.start_ms for h in coach.holds] == [h.start_ms for h in standard.holds]
    assert 0 < before_sets[0] < before_sets[1] == coach.total_ms - standard.total_ms
    breathing = set(routine.breathing)
    squeeze = routine.exercise("adductor-ball-squeeze")
    for hold, inside in zip(coach.holds, inside_holds(coach), strict=True):
        words = [e.text for e in inside if isinstance(e, Speech)]
        assert len(words) == len(set(words)), words  # no sentence twice in one hold
        assert len(breathing & set(words)) == 1, words
        other = "left" if hold.side == "right" else "right"
        reminders = {
            r.replace("{side}", hold.side or "").replace("{other_side}", other)
            for r in routine.exercise(hold.exercise).reminders
        }
        said = reminders & set(words)
        if hold.round == 1:  # the hold's own words coach it: no reminder on top of them
            assert not said, words
        else:
            assert len(said) == 1, words
    # reminders and breathing prompts rotate: the same side's holds hear different ones
    left = [
        [e.text for e in inside if isinstance(e, Speech)]
        for hold, inside in zip(coach.holds, inside_holds(coach), strict=True)
        if hold.exercise == "supine-hip-stretch" and hold.side == "left" and hold.round > 1
    ]
    assert left[0] != left[1]
    said = spoken(coach)
    assert [w for w in said if w in squeeze.reminders] == list(squeeze.reminders)
    assert any("Keep breathing" in w for w in said)
    assert not any("Keep breathing" in w or "Breathe out" in w for w in spoken(standard))


def test_breathing_tones_pace_the_holds_without_touching_other_sounds(routine: Routine) -> None:
    timeline = plan(routine, breath_s=(4.0, 6.0))
    check_invariants(timeline)
    plain = plan(routine)
    # the introduction plays the two breathing tones too; nothing after it moves
    shift = timeline.chapters[0].end_ms - plain.chapters[0].end_ms
    assert shift > 0 and timeline.total_ms == plain.total_ms + shift
    assert [h.start_ms for h in timeline.holds] == [h.start_ms + shift for h in plain.holds]
    breaths = [
        e
        for e in after_intro(timeline)
        if isinstance(e, Tone) and e.cue in (Cue.INHALE, Cue.EXHALE)
    ]
    assert len(breaths) >= 8  # at least one per hold
    for tone in breaths:
        assert any(h.start_ms < tone.start_ms and tone.end_ms < h.end_ms for h in timeline.holds)
    inhales = [e.start_ms for e in breaths if e.cue is Cue.INHALE]
    hold = timeline.holds[-1]  # quiet hold (round 1 of the twist has words, this one too)
    ours = [t - hold.start_ms for t in inhales if hold.start_ms <= t < hold.end_ms]
    assert all((t - ours[0]) % 10_000 == 0 for t in ours)  # a 4 + 6 s cycle
    assert not any(isinstance(e, Tone) and e.cue in (Cue.INHALE, Cue.EXHALE) for e in plain.events)


@pytest.mark.parametrize("raw", ["4", "a-b", "1-6", "4-20", "-"])
def test_bad_breath_values_are_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="--breath"):
        parse_breath(raw)


def test_verbosity_must_be_known() -> None:
    with pytest.raises(SettingsError, match="must be one of minimal, standard, coach"):
        Settings(verbosity="loud")  # type: ignore[arg-type]


def test_next_names_the_following_exercise(routine: Routine) -> None:
    first = routine.exercises[0]
    changed = dataclasses.replace(first, closing="Next comes {next}.")
    timeline = plan(dataclasses.replace(routine, exercises=(changed, *routine.exercises[1:])))
    assert "Next comes Seated twist hip release." in spoken(timeline)


def test_reminders_and_breathing_are_loaded_and_checked(tmp_path: Path) -> None:
    import shutil

    from voiceguide.errors import RoutineError
    from voiceguide.routine.library import bundled_dir
    from voiceguide.routine.loader import load_routine

    shutil.copytree(bundled_dir(), tmp_path / "r")
    routine = load_routine(tmp_path / "r" / "outer-hip.routine.yaml")
    assert routine.exercise("supine-hip-stretch").reminders
    script = tmp_path / "r" / "supine-hip-stretch.yaml"
    script.write_text(
        script.read_text().replace(
            "reminders:\n  - Keep your {side} knee", "reminders:\n  - Keep your {sid} knee"
        )
    )
    with pytest.raises(RoutineError, match=r"field 'reminders': unknown template variable \{sid\}"):
        load_routine(tmp_path / "r" / "outer-hip.routine.yaml")


# ---------------------------------------------------------------- --fit


def _fitted(routine: Routine, target: str, *overrides: tuple[str, str]) -> Timeline:
    from voiceguide.pipeline import parse_settings, plan
    from voiceguide.speech.cache import PhraseCache

    class Measured(PhraseCache):
        def measure(self, text: str) -> int:
            return fake_measure(text)

        def ensure(self, texts: object, *, lengths_only: bool = False) -> None:
            return None

    settings = parse_settings(list(overrides), fit_to=target)
    return plan(routine, settings, Measured(FakeSynthesizer(), Path("/nonexistent")))


@pytest.mark.parametrize("target", ["11m", "12m", "13m", "15m", "16m30s"])
def test_fit_makes_the_plan_last_the_target_within_a_second(routine: Routine, target: str) -> None:
    from voiceguide.plan.parsing import parse_duration

    timeline = _fitted(routine, target)
    check_invariants(timeline)
    assert abs(timeline.total_ms / 1000 - parse_duration(target)) <= 1.0
    assert timeline.fit_changes
    # both sides of an exercise still get the same time
    for exercise in ("supine-hip-stretch", "seated-twist-hip-release"):
        lengths = {h.end_ms - h.start_ms for h in timeline.holds if h.exercise == exercise}
        assert len(lengths) == 1


def test_fit_moves_everything_the_same_way_and_stays_in_the_ranges(routine: Routine) -> None:
    longer = _fitted(routine, "18m")  # (the fake speech makes the routine 14:39 by default)
    shorter = _fitted(routine, "14m")
    long_holds = {h.exercise: h.end_ms - h.start_ms for h in longer.holds}
    short_holds = {h.exercise: h.end_ms - h.start_ms for h in shorter.holds}
    assert (
        long_holds["supine-hip-stretch"] > 30_000
        and long_holds["seated-twist-hip-release"] > 30_000
    )
    assert 20_000 <= short_holds["supine-hip-stretch"] < 30_000
    assert short_holds["seated-twist-hip-release"] == 30_000  # its shortest allowed is 30 s


def test_fit_leaves_numbers_set_on_the_command_line_alone(routine: Routine) -> None:
    timeline = _fitted(routine, "13m", ("hold", "supine-hip-stretch=25"))
    assert {
        h.end_ms - h.start_ms for h in timeline.holds if h.exercise == "supine-hip-stretch"
    } == {25_000}
    assert abs(timeline.total_ms / 1000 - 780) <= 1.0


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "5m",
            r"--fit 5:00: routine 'outer-hip' lasts at least \d+:\d\d \(--intro short, "
            r"fewest rounds, sets and reps, shortest holds and rests\), \d+:\d\d with "
            r"--verbosity minimal; choose --fit \d+m(\d+s)? or more, or --fit \d+m(\d+s)? "
            "or more with --verbosity minimal$",
        ),
        ("3h", r"--fit 3:00:00|lasts from"),
        ("soon", "give a duration such as 15m"),
        ("10s", "between 1 minute and 4 hours"),
    ],
)
def test_fit_refuses_clearly_when_impossible(routine: Routine, target: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _fitted(routine, target)
