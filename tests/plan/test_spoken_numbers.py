"""Every number the listener hears, checked against the plan it is heard in, under several
settings: the holds, rests, reps, sets and rounds said are the ones timed; no fraction of a
second is said; the article's own numbers are said as the article's, never as the setting."""

from __future__ import annotations

import re

import pytest

from tests.conftest import fake_measure
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.fit import fit
from voiceguide.plan.settings import Settings, apply_settings, parse_override
from voiceguide.plan.timeline import Silence, Speech, Timeline
from voiceguide.routine.model import Routine

SETTINGS = [
    (),
    (("hold", "10"),),
    (("sets", "5"),),
    (("sets", "1"), ("rounds", "1")),
    (("hold", "45"), ("rest", "12"), ("reps", "15")),
]
FITS = ["12m", "15m", "17m", "21m"]


def _plans(routine: Routine) -> list[tuple[str, Settings, Timeline]]:
    plans = []
    for pairs in SETTINGS:
        settings = Settings(overrides=tuple(parse_override(o, v) for o, v in pairs))
        name = " ".join(f"--{o} {v}" for o, v in pairs) or "defaults"
        plans.append((name, settings, compile_routine(routine, settings, fake_measure)))
    for target in FITS:
        minutes = float(target.removesuffix("m"))
        fitted = fit(routine, Settings(fit_s=minutes * 60), fake_measure).settings
        plans.append((f"--fit {target}", fitted, compile_routine(routine, fitted, fake_measure)))
    return plans


def _said(timeline: Timeline, exercise: str) -> list[Speech]:
    chapter = next(c for c in timeline.chapters if c.exercise == exercise)
    return [
        e for e in timeline.events[chapter.first_event : chapter.end_event] if isinstance(e, Speech)
    ]


def _next_sound_ms(timeline: Timeline, phrase: Speech) -> int:
    """When the next word or cue after ``phrase`` starts."""
    index = timeline.events.index(phrase)
    return next(e.start_ms for e in timeline.events[index + 1 :] if not isinstance(e, Silence))


def test_every_spoken_number_is_the_plans_own(routine: Routine) -> None:
    for name, settings, timeline in _plans(routine):
        applied = apply_settings(routine, settings)
        supine, twist, squeeze = applied.exercises
        words = [e for e in timeline.events if isinstance(e, Speech)]
        text = " ".join(e.text for e in words)
        assert not re.search(r"\d\.\d", text), (name, re.findall(r"[^.]*\d\.\d[^.]*", text))
        # the holds said are the holds timed
        assert text.count(f"for about {round(supine.hold_s)} seconds") == 1, name
        assert [h.end_ms - h.start_ms for h in timeline.holds] == (
            [round(supine.hold_s * 1000)] * 2 * supine.rounds + [round(twist.hold_s * 1000)] * 2
        ), name
        if twist.hold_s >= 30:
            assert f"for at least {round(twist.hold_s)} seconds" in text, name
        else:  # the article's "at least 30" is said as the article's, not as the setting
            assert f"for {round(twist.hold_s)} seconds on each side." in text, name
            assert "The article recommends at least 30 seconds" in text, name
            assert "at least 10" not in text, name
        # rests: the number said is the quiet that follows
        for exercise in (supine, squeeze):
            rests = [e for e in _said(timeline, exercise.id) if e.text.startswith("Rest for ")]
            for rest in rests:
                assert rest.text == f"Rest for {round(exercise.rest_s)} seconds.", name
                quiet_ms = _next_sound_ms(timeline, rest) - rest.end_ms
                assert exercise.rest_s * 1000 <= quiet_ms <= exercise.rest_s * 1000 + 5000, name
        # counts: rounds, sets and reps said are the ones played
        rounds = [e.text for e in _said(timeline, supine.id) if e.text.startswith("Round ")]
        expected = [f"Round {n} of {supine.rounds}." for n in range(1, supine.rounds + 1)]
        assert rounds == (expected if supine.rounds > 1 else []), name
        squeezes = [e.text for e in _said(timeline, squeeze.id)]
        assert f"Squeeze and release {squeeze.reps} times in each set." in " ".join(squeezes)
        counts = [t for t in squeezes if t.startswith("Squeeze, ")]
        assert counts == [f"Squeeze, {r}." for r in range(1, squeeze.reps + 1)] * squeeze.sets
        sets_said = [t for t in squeezes if re.fullmatch(r"(End of s|S)et \d+ of \d+\.", t)]
        if squeeze.sets == 1:
            assert sets_said == [], name  # never "set 1 of 1"
        else:
            assert all(t.endswith(f" of {squeeze.sets}.") for t in sets_said), name
            assert len(sets_said) == 2 * squeeze.sets, name
        # the article's "up to 3 sets": never as if 5 sets were within it
        if squeeze.sets > 3:
            assert "You can do up to 3 sets" not in text, name
            assert "The article suggests up to 3 sets, once or twice a day." in text, name
        else:
            assert "You can do up to 3 sets of them, once or twice a day." in text, name


@pytest.mark.parametrize("target", FITS)
def test_fit_moves_rests_in_whole_seconds(routine: Routine, target: str) -> None:
    fitted = fit(routine, Settings(fit_s=float(target.removesuffix("m")) * 60), fake_measure)
    for exercise in apply_settings(routine, fitted.settings).exercises:
        assert float(exercise.rest_s).is_integer(), (target, exercise.id, exercise.rest_s)
