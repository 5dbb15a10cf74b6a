"""The introduction's two lengths (--intro full|short): the short one keeps what to have
ready and every safety line, names the cue sounds in one line and gets to the first movement
sooner; the practice log makes it the default for a returning listener; --fit shortens the
introduction before it cuts a round, set or rep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from tests.conftest import fake_measure
from voiceguide import pipeline
from voiceguide.cli.show import plan_table
from voiceguide.errors import SettingsError
from voiceguide.pipeline.saved import load_config
from voiceguide.plan.choices import command_line
from voiceguide.plan.compiler import compile_routine, paragraphs
from voiceguide.plan.cues import MEANINGS
from voiceguide.plan.fit import fit
from voiceguide.plan.intro import LEGEND_INTRO, needs_phrase
from voiceguide.plan.preferences import resolve
from voiceguide.plan.settings import Settings, parse_override
from voiceguide.plan.timeline import Speech, Timeline, Tone
from voiceguide.practice import Moment, NewSession, Store, log_path
from voiceguide.routine.model import Routine


def plan(routine: Routine, **settings: object) -> Timeline:
    return compile_routine(routine, Settings(**settings), fake_measure)  # type: ignore[arg-type]


def intro_words(timeline: Timeline) -> list[str]:
    return [
        e.text for e in timeline.events[: timeline.chapters[0].end_event] if isinstance(e, Speech)
    ]


def first_movement_ms(timeline: Timeline) -> int:
    return next(s.start_ms for s in timeline.steps if s.text.startswith("Lie on your back"))


def test_the_short_introduction_keeps_what_to_have_ready_and_every_safety_line(
    routine: Routine,
) -> None:
    full, short = plan(routine), plan(routine, intro="short")
    words = intro_words(short)
    safety = paragraphs(routine.safety)
    assert words == [routine.title + ".", needs_phrase(routine), *safety, words[-1]]
    assert "pain" in " ".join(safety) and "press n" in " ".join(safety)
    assert words[-1].startswith("Rising notes start, a bell is halfway, blips count down,")
    tones = [e for e in short.events[: short.chapters[0].end_event] if isinstance(e, Tone)]
    assert tones == []  # named, not played: a returning listener knows them
    # every exercise's safety note and every instruction stay; only the "why" lines go
    gone = set(intro_words(full)) - set(words)
    assert gone <= {*paragraphs(routine.intro), LEGEND_INTRO, *MEANINGS.values()}
    said = [e.text for e in short.events if isinstance(e, Speech)]
    for exercise in routine.exercises:
        assert all(line in said for line in paragraphs(exercise.caution))
    assert [h.end_ms - h.start_ms for h in short.holds] == [
        h.end_ms - h.start_ms for h in full.holds
    ]
    assert short.chapters[0].end_ms < full.chapters[0].end_ms / 2
    assert first_movement_ms(short) < first_movement_ms(full) - 60_000


@pytest.mark.parametrize("raw", ["long", "", "Short"])
def test_an_unknown_intro_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match=rf"--intro '{raw}': must be one of full, short"):
        command_line(intro=raw)


def _log_completed(routine: Routine, count: int) -> None:
    today = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    exercises = tuple((e.id, e.title) for e in routine.exercises)
    with Store.open(log_path()) as store:
        for ago in range(count):
            when = Moment((today - timedelta(days=ago + 1)).timestamp(), 0)
            new = NewSession(routine.name, routine.title, when, 840_000, {}, exercises)
            store.add(new, when.utc_s + 840, [e for e, _t in exercises], 840_000)


def test_three_completed_sessions_make_the_introduction_short_unless_asked_full(
    routine: Routine,
) -> None:
    assert pipeline.prepare(None, command_line())[1].settings.intro == "full"
    assert not log_path().exists()  # asking did not create the log
    _log_completed(routine, 2)
    assert pipeline.prepare(None, command_line())[1].settings.intro == "full"
    _log_completed(routine, 1)
    resolved = pipeline.prepare(None, command_line())[1]
    assert resolved.settings.intro == "short"
    row = next(r for r in resolved.rows if r.setting == "intro")
    assert str(row.source) == "practice log: 3 completed sessions"
    console = Console(record=True, width=100)  # plan says which introduction, and why
    plan_table(compile_routine(routine, resolved.settings, fake_measure), console, resolved.rows)
    assert "short introduction: practice log: 3 completed sessions (--intro full: all of it)" in (
        console.export_text()
    )
    assert pipeline.prepare(None, command_line(intro="full"))[1].settings.intro == "full"


def test_the_config_file_sets_the_introduction(routine: Routine) -> None:
    config_dir = log_path().parent.parent / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text('intro = "short"\n')
    assert resolve(routine, command_line(), load_config()).settings.intro == "short"
    (config_dir / "config.toml").write_text('intro = "brief"\n')
    with pytest.raises(SettingsError, match=r"intro.*must be one of full, short"):
        load_config()


def test_fit_shortens_the_introduction_before_it_cuts_a_round(routine: Routine) -> None:
    shortest = tuple(
        parse_override(option, raw)
        for option, raw in (
            ("hold", "supine-hip-stretch=25"),
            ("rest", "supine-hip-stretch=0"),
            ("rest", "adductor-ball-squeeze=10"),
        )
    )
    full = plan(routine, overrides=shortest)  # holds and rests at the ends of their ranges
    short = plan(routine, overrides=shortest, intro="short")
    target_s = (full.total_ms + short.total_ms) / 2000  # only the short introduction reaches it
    fitted = fit(routine, Settings(fit_s=target_s), fake_measure)
    assert fitted.changes[0] == "introduction full -> short"
    assert not any(" rounds " in c or " sets " in c or " reps " in c for c in fitted.changes)
    assert fitted.settings.intro == "short"
    assert abs(fitted.total_ms - target_s * 1000) <= 1000
    # holds and rests alone reach a target 30 s shorter: the full introduction stays
    nearer = fit(routine, Settings(fit_s=plan(routine).total_ms / 1000 - 30), fake_measure)
    assert nearer.settings.intro == "full"


def test_fit_keeps_a_full_introduction_the_listener_chose(routine: Routine) -> None:
    # cutting 3 minutes: the short introduction first, unless --intro full was asked for
    target_s = plan(routine).total_ms / 1000 - 180
    free = fit(routine, Settings(fit_s=target_s), fake_measure)
    assert free.settings.intro == "short" and free.changes[0] == "introduction full -> short"
    chosen = fit(routine, Settings(fit_s=target_s, intro_chosen=True), fake_measure)
    assert chosen.settings.intro == "full"
    assert "introduction full -> short" not in chosen.changes
    assert any(" rounds " in c or " sets " in c or " reps " in c for c in chosen.changes)
    assert abs(chosen.total_ms - target_s * 1000) <= 1000
    assert plan(routine, overrides=chosen.settings.overrides).total_ms == chosen.total_ms
    # a target only the short introduction reaches is refused, naming it
    shortest = tuple(
        parse_override(option, raw)
        for option, raw in (
            ("hold", "supine-hip-stretch=25"),
            ("rest", "supine-hip-stretch=0"),
            ("rest", "adductor-ball-squeeze=10"),
            ("rounds", "supine-hip-stretch=1"),
            ("sets", "1"),
            ("reps", "10"),
        )
    )
    only_short_s = plan(routine, overrides=shortest, intro="short").total_ms / 1000 + 5
    assert fit(routine, Settings(fit_s=only_short_s), fake_measure).settings.intro == "short"
    with pytest.raises(SettingsError, match=r"with the full introduction .* or --intro short$"):
        fit(routine, Settings(fit_s=only_short_s, intro_chosen=True), fake_measure)


def test_the_introduction_is_chosen_by_the_command_line_or_the_config_not_by_default(
    routine: Routine,
) -> None:
    assert not resolve(routine, command_line(), None).settings.intro_chosen
    assert resolve(routine, command_line(intro="full"), None).settings.intro_chosen
    _log_completed(routine, 3)  # the practice log's short introduction is not a choice
    returning = pipeline.prepare(None, command_line())[1].settings
    assert returning.intro == "short" and not returning.intro_chosen
    asked = pipeline.prepare(None, command_line(intro="full"))[1].settings
    assert asked.intro == "full" and asked.intro_chosen
    config_dir = log_path().parent.parent / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text('intro = "full"\n')
    assert resolve(routine, command_line(), load_config()).settings.intro_chosen
