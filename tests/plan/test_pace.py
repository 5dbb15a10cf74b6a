"""Issue #13, measured: the bundled routine's compiled timeline, on real espeak-ng speech, is
coached like a physical therapist would (time to move, what is needed said first, the
article's numbers spoken, the cues heard before they are used, safety at every level,
reminders in every hold, a listener's pace, --fit to any sensible length)."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FakeSynthesizer
from voiceguide import pipeline
from voiceguide.plan.builder import Coaching, ms
from voiceguide.plan.compiler import compile_routine, paragraphs
from voiceguide.plan.cues import MEANINGS, Cue
from voiceguide.plan.intro import cues_line, needs_phrase
from voiceguide.plan.parsing import PACES, parse_duration
from voiceguide.plan.preferences import command_line, resolve
from voiceguide.plan.settings import Settings, parse_override
from voiceguide.plan.timeline import Silence, Speech, Timeline, Tone
from voiceguide.routine.lexicon import respell
from voiceguide.routine.model import Routine
from voiceguide.speech.cache import PhraseCache

_WORD = re.compile(r"[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhraseCache]:
    """Real espeak-ng speech at the default voice and rate, with the routine's lexicon."""
    routine = pipeline.load(None)
    settings = resolve(routine, command_line(), None).settings
    cache = pipeline.make_cache(settings, cache_dir=tmp_path_factory.mktemp("speech"))
    yield cache
    cache.close()


def real_plan(routine: Routine, cache: PhraseCache, **options: object) -> Timeline:
    overrides = options.pop("overrides", ())
    settings = Settings(
        overrides=tuple(parse_override(o, v) for o, v in overrides),  # type: ignore[attr-defined]
        lexicon=routine.lexicon,
        **options,  # type: ignore[arg-type]
    )
    return pipeline.plan(routine, settings, cache)


def spoken(timeline: Timeline, start_ms: int = 0, end_ms: int | None = None) -> list[Speech]:
    end = timeline.total_ms if end_ms is None else end_ms
    return [e for e in timeline.events if isinstance(e, Speech) and start_ms <= e.start_ms < end]


def chapter(timeline: Timeline, title: str) -> tuple[int, int]:
    found = next(c for c in timeline.chapters if c.title == title)
    return found.start_ms, found.end_ms


def texts(timeline: Timeline, title: str) -> list[str]:
    return [e.text for e in spoken(timeline, *chapter(timeline, title))]


def speech_runs(timeline: Timeline, quiet_ms: int = 2000) -> list[tuple[int, int]]:
    """Stretches of an exercise's talk outside its holds and sets, with no quiet of
    ``quiet_ms`` or more inside: (start, end) of each."""
    busy = [(h.start_ms, h.end_ms) for h in timeline.holds]
    busy += [(s.start_ms, s.end_ms) for s in timeline.sets]
    runs: list[tuple[int, int]] = []
    for c in timeline.chapters:
        if c.exercise is None:
            continue
        run: tuple[int, int] | None = None
        for event in timeline.events[c.first_event : c.end_event]:
            inside = any(a <= event.start_ms < z for a, z in busy)
            quiet = isinstance(event, Silence) and event.end_ms - event.start_ms >= quiet_ms
            if inside or quiet:
                if run is not None:
                    runs.append(run)
                run = None
            elif isinstance(event, Speech | Tone):
                run = (run[0] if run else event.start_ms, event.end_ms)
        if run is not None:
            runs.append(run)
    return runs


pytestmark = pytest.mark.espeak


def test_every_movement_has_time_and_no_set_up_talk_runs_past_12_s(
    routine: Routine, speech: PhraseCache
) -> None:
    timeline = real_plan(routine, speech)
    longest = max(end - start for start, end in speech_runs(timeline))
    assert longest <= 12_000, longest
    twist = routine.exercise("seated-twist-hip-release")
    steps = dict(twist.steps)
    assert sum(1 for s in steps["setup"] if s >= 2) >= 3
    assert sum(1 for s in steps["side_setup"] if s >= 2) >= 4
    # the last step of each set-up is followed by the time to settle, then the hold cue
    for text in (
        "Bend one knee at the hip to bring it up toward your chest.",
        "Begin by sitting with both legs extended straight in front of you.",
        "Place a small, soft ball between your knees.",
    ):
        said = next(e for e in timeline.events if isinstance(e, Speech) and e.text == text)
        after = timeline.events[timeline.events.index(said) + 1]
        assert isinstance(after, Silence) and after.end_ms - after.start_ms >= 3000


def test_what_is_needed_is_said_first_and_the_prop_before_its_set_up(
    routine: Routine, speech: PhraseCache
) -> None:
    timeline = real_plan(routine, speech)
    intro = texts(timeline, "Introduction")
    assert ("Have ready: a mat, a small soft ball, and if you like, a wall.") in intro
    squeeze = texts(timeline, "Adductor ball squeeze")
    reminder = squeeze.index("Have a small soft ball within reach.")
    assert reminder < squeeze.index(
        "Lie on your back with your feet flat on the floor and your knees bent."
    )


def first_movement_ms(routine: Routine, timeline: Timeline) -> int:
    """When the first exercise's first movement is asked for: its set-up's first step, or at
    minimal (no set-up said) the start of the quiet kept for it, after its safety note."""
    first = routine.exercises[0]
    start, end = chapter(timeline, first.title)
    said = spoken(timeline, start, end)
    setup = paragraphs(first.setup)[0]
    asked = next((e.start_ms for e in said if e.text == setup), None)
    if asked is not None:
        return asked
    caution = paragraphs(first.caution)[-1]
    return next(e.end_ms for e in said if e.text == caution)


@pytest.mark.parametrize("verbosity", ["minimal", "standard", "coach"])
def test_a_returning_listener_hears_at_most_35_s_of_introduction_and_moves_within_45_s(
    routine: Routine, speech: PhraseCache, verbosity: str
) -> None:
    timeline = real_plan(routine, speech, verbosity=verbosity, intro="short")
    start, end = chapter(timeline, "Introduction")
    heard = [e for e in timeline.events if start <= e.start_ms < end and not isinstance(e, Silence)]
    words = [e.text for e in heard if isinstance(e, Speech)]
    # the title, what to have ready, the safety note with the pain rule, the sounds in a line
    kept = [routine.title + ".", *paragraphs(routine.safety)]
    if verbosity != "minimal":
        kept[1:1] = [needs_phrase(routine)]
        kept.append(cues_line(routine, Coaching(verbosity=verbosity)))
    assert words == kept
    intro_ms, movement_ms = heard[-1].end_ms, first_movement_ms(routine, timeline)
    print(
        f"{verbosity}: introduction {intro_ms} ms (chapter {end} ms), first movement {movement_ms} ms"
    )
    assert intro_ms <= 35_000
    assert movement_ms <= 45_000


def sound_onset_ms(cache: PhraseCache, text: str) -> float:
    """Where the phrase's sound starts in its audio: its first 5 ms above -30 dB of its peak."""
    samples = np.frombuffer(cache.pcm(text), dtype="<i2").astype(np.float64)
    frame = cache.fmt.sample_rate // 200
    count = len(samples) // frame
    level = np.sqrt((samples[: count * frame].reshape(count, frame) ** 2).mean(axis=1))
    return float(np.argmax(level > level.max() / 32)) * 5.0


@pytest.mark.parametrize("verbosity", ["minimal", "standard", "coach"])
def test_the_squeeze_and_the_release_are_marked_on_the_beat(
    routine: Routine, speech: PhraseCache, verbosity: str
) -> None:
    """Each rep's squeeze word (minimal: the rising notes) starts with the squeeze, and the
    falling notes with the release, to the millisecond; the word's sound starts at once."""
    timeline = real_plan(routine, speech, verbosity=verbosity)
    squeeze = routine.exercise("adductor-ball-squeeze")
    work_ms, rep_ms = ms(squeeze.work_s), ms(squeeze.work_s + squeeze.release_s)
    sounding = [e for e in timeline.events if isinstance(e, Speech | Tone)]
    offsets: list[int] = []
    onsets: list[float] = []
    assert len(timeline.sets) == squeeze.sets
    for repset in timeline.sets:
        assert repset.reps == squeeze.reps
        for rep in range(repset.reps):
            start = repset.start_ms + rep * rep_ms
            # the first sound of the squeeze and of the release, and nothing between
            during = [e for e in sounding if start - 500 < e.start_ms < start + rep_ms]
            mark, release = during[0], during[-1]
            if verbosity == "minimal":
                assert isinstance(mark, Tone) and mark.cue is Cue.START
            else:
                assert isinstance(mark, Speech) and mark.text == f"Squeeze, {rep + 1}."
                onsets.append(sound_onset_ms(speech, mark.text))
            assert isinstance(release, Tone) and release.cue is Cue.END
            assert len(during) == 2, during
            offsets += [mark.start_ms - start, release.start_ms - (start + work_ms)]
    print(
        f"{verbosity}: squeeze and release marks {min(offsets)}..{max(offsets)} ms off the beat"
        + (f", the word's sound {max(onsets):.0f} ms into it" if onsets else "")
    )
    assert set(offsets) == {0}
    assert all(onset <= 20 for onset in onsets)  # hibari's phrases start 10 ms before the sound


@pytest.mark.parametrize(
    ("overrides", "supine", "twist", "reps", "rounds"),
    [
        ((), 30, 30, 12, 3),
        (
            (
                ("hold", "supine-hip-stretch=40"),
                ("hold", "seated-twist-hip-release=45"),
                ("reps", "14"),
                ("rounds", "2"),
            ),
            40,
            45,
            14,
            2,
        ),
    ],
)
def test_the_articles_numbers_are_spoken_once_from_the_settings(
    routine: Routine,
    speech: PhraseCache,
    overrides: tuple[tuple[str, str], ...],
    supine: int,
    twist: int,
    reps: int,
    rounds: int,
) -> None:
    timeline = real_plan(routine, speech, overrides=overrides)
    words = " ".join(e.text for e in spoken(timeline))
    assert words.count(f"for about {supine} seconds") == 1
    assert words.count(f"for at least {twist} seconds") == 1
    assert words.count(f"Squeeze and release {reps} times in each set.") == 1
    supine_said = texts(timeline, "Supine hip stretch")
    first_hold = timeline.holds[0].start_ms
    assert f"Round 1 of {rounds}." in [e.text for e in spoken(timeline, 0, first_hold)]
    assert [t for t in supine_said if t.startswith("Round ")] == [
        f"Round {n} of {rounds}." for n in range(1, rounds + 1)
    ]


@pytest.mark.parametrize("verbosity", ["standard", "coach"])
def test_the_introduction_plays_every_cue_the_routine_uses_right_after_its_name(
    routine: Routine, speech: PhraseCache, verbosity: str
) -> None:
    timeline = real_plan(routine, speech, verbosity=verbosity)
    start, end = chapter(timeline, "Introduction")
    used = {e.cue for e in timeline.events if isinstance(e, Tone) and e.start_ms >= end}
    assert Cue.SET_END in used and Cue.SWITCH in used
    events = [e for e in timeline.events if start <= e.start_ms < end]
    heard = set()
    for index, event in enumerate(events):
        if isinstance(event, Tone):
            name = events[index - 2]  # the name, a short quiet, the sound
            assert isinstance(events[index - 1], Silence | Tone)
            if isinstance(name, Speech):
                assert name.text == MEANINGS[event.cue]
                assert event.start_ms - name.end_ms <= 1000
            heard.add(event.cue)
    assert heard == used


def test_minimal_leaves_out_the_legend_but_never_a_safety_note(
    routine: Routine, speech: PhraseCache
) -> None:
    timeline = real_plan(routine, speech, verbosity="minimal")
    start, end = chapter(timeline, "Introduction")
    assert not any(isinstance(e, Tone) and start <= e.start_ms < end for e in timeline.events)
    said = [e.text for e in spoken(timeline)]
    assert set(routine.safety.split("\n\n")) <= set(said)
    caution = routine.exercise("seated-twist-hip-release").caution.split("\n\n")
    twist_start = chapter(timeline, "Seated twist hip release")[0]
    before_hold = [e.text for e in spoken(timeline, twist_start, timeline.holds[6].start_ms)]
    assert set(caution) <= set(before_hold)


def test_every_hold_gets_form_words_at_coach_level_in_its_quiet(
    routine: Routine, speech: PhraseCache
) -> None:
    timeline = real_plan(routine, speech, verbosity="coach")
    assert len(timeline.holds) == 8
    for hold in timeline.holds:
        exercise = routine.exercise(hold.exercise)
        # the first round's holds are coached by their own words (during), later ones by a
        # reminder; each with a breathing prompt
        texts = exercise.reminders if hold.round > 1 else tuple(exercise.during.split("\n\n"))
        form = {t.replace("{side}", hold.side or "").replace("\n", " ") for t in texts}
        inside = spoken(timeline, hold.start_ms, hold.end_ms)
        said = {" ".join(e.text.split()) for e in inside}
        assert {" ".join(f.split()) for f in form} & said, hold
        assert set(routine.breathing) & said, hold
        assert all(e.end_ms < hold.end_ms for e in inside)


def test_the_default_pace_is_140_to_150_words_a_minute_as_a_listener_counts(
    routine: Routine, speech: PhraseCache
) -> None:
    timeline = real_plan(routine, speech, verbosity="coach")
    phrases = {e.text: e.end_ms - e.start_ms for e in spoken(timeline)}
    rates = {text: len(_WORD.findall(text)) / (ms / 60_000) for text, ms in phrases.items()}
    sentences = [text for text in phrases if len(_WORD.findall(text)) >= 5]
    assert len(sentences) >= 50
    median = statistics.median(rates[t] for t in sentences)
    words = sum(len(_WORD.findall(t)) for t in sentences)
    overall = words / (sum(phrases[t] for t in sentences) / 60_000)
    print(f"pace: median {median:.1f} wpm per phrase, {overall:.1f} wpm over {len(sentences)}")
    assert 140 <= median <= 150
    assert 140 <= overall <= 150


@pytest.mark.parametrize(("target", "verbosity"), [("13m", "standard"), ("10m", "minimal")])
def test_fit_reaches_the_target_moving_counts_only_when_holds_and_rests_cannot(
    routine: Routine, speech: PhraseCache, target: str, verbosity: str
) -> None:
    timeline = real_plan(routine, speech, verbosity=verbosity, fit_s=parse_duration(target))
    assert abs(timeline.total_ms - parse_duration(target) * 1000) <= 1000
    changes = timeline.fit_changes
    assert changes
    counts = [c for c in changes if re.search(r" (rounds|reps|sets) ", c)]
    if verbosity == "minimal":
        assert not counts  # holds and rests alone reach it
    else:
        assert counts and all(c.split()[1] in ("rounds", "sets", "reps") for c in counts)


def test_the_lexicon_changes_only_what_the_engine_is_given(
    routine: Routine, tmp_path: Path
) -> None:
    engine = FakeSynthesizer()
    cache = PhraseCache(engine, tmp_path, lexicon=routine.lexicon)
    timeline = compile_routine(routine, Settings(lexicon=routine.lexicon), lambda t: 40 * len(t))
    cache.ensure(timeline.phrases())
    said = [t for t in timeline.phrases() if "piriformis" in t]
    assert said and all("pirri-formiss" not in t for t in timeline.phrases())
    assert any("pirri-formiss" in call for call in engine.calls)
    assert not any("piriformis" in call for call in engine.calls)
    assert respell("Piriformis, piriformis's", routine.lexicon) == "Pirri-formiss, piriformis's"


def test_plan_shows_the_steps_and_their_time(routine: Routine) -> None:
    timeline = compile_routine(routine, Settings(), lambda t: 40 * len(t))
    twist = [x for x in timeline.steps if x.exercise == "seated-twist-hip-release"]
    assert (
        twist[0].text
        == "A seated spinal twist, adapted so that it also gives the outer hip a gentle release."
        and twist[0].then_ms == 2000
    )
    for step in timeline.steps:  # the quiet after each step is on the timeline, exactly
        said = next(
            e for e in timeline.events if isinstance(e, Speech) and e.start_ms == step.start_ms
        )
        quiet = timeline.events[timeline.events.index(said) + 1]
        assert isinstance(quiet, Silence) and quiet.end_ms - quiet.start_ms >= step.then_ms
    shown = timeline.to_json()["steps"]
    assert shown[0] == {
        "exercise": "supine-hip-stretch",
        "text": timeline.steps[0].text,
        "start_s": timeline.steps[0].start_ms / 1000,
        "then_s": 2.0,
    }


@pytest.mark.parametrize("verbosity", ["minimal", "standard", "coach"])
def test_the_pace_scales_the_time_to_move_and_never_a_hold_a_rep_or_a_rest(
    routine: Routine, speech: PhraseCache, verbosity: str
) -> None:
    plans = {pace: real_plan(routine, speech, verbosity=verbosity, pace=pace) for pace in PACES}
    slow, standard, fast = plans["slow"], plans["standard"], plans["fast"]
    # holds, reps (the sets) and everything said or played are the same, in the same order
    for paced in (slow, fast):
        assert [h.end_ms - h.start_ms for h in paced.holds] == [
            h.end_ms - h.start_ms for h in standard.holds
        ]
        assert [(s.reps, s.end_ms - s.start_ms) for s in paced.sets] == [
            (s.reps, s.end_ms - s.start_ms) for s in standard.sets
        ]
        assert len(paced.events) == len(standard.events)
    moved_ms = rests = 0
    kept_ms: list[int] = []
    events = zip(slow.events, standard.events, fast.events, strict=True)
    for index, (s, m, f) in enumerate(events):
        lengths = [e.end_ms - e.start_ms for e in (s, m, f)]
        if not isinstance(m, Silence):
            assert (
                s.__class__ is m.__class__ is f.__class__ and lengths[0] == lengths[1] == lengths[2]
            )
            assert getattr(s, "text", None) == getattr(m, "text", None) == getattr(f, "text", None)
            continue
        inside = [(x.start_ms, x.end_ms) for x in (*standard.holds, *standard.sets)]
        before = standard.events[index - 1]
        rest = isinstance(before, Speech) and before.text.startswith("Rest for ")
        if rest or any(a <= m.start_ms < z for a, z in inside):  # a rest, a hold's or a set's
            rests += rest
            assert lengths[0] == lengths[1] == lengths[2], (before, lengths)
            continue
        # any other quiet is time to move (scaled) and time to listen (kept): the moving part
        # is half again as long when slow, a quarter shorter when fast (to the ms, per piece)
        slower, faster = lengths[0] - lengths[1], lengths[1] - lengths[2]
        assert slower >= 0 and faster >= 0
        assert abs(slower - 2 * faster) <= 4, (before, lengths)
        moved_ms += 2 * slower
        kept_ms.append(lengths[1] - 2 * slower)
    # the rests are kept: said and quiet apart, or (minimal) inside a quiet that moves less
    rest_ms = sorted(
        ms(e.rest_s) for e in routine.exercises for _ in range(max(e.rounds, e.sets) - 1)
    )
    if verbosity == "minimal":
        assert sorted(k for k in kept_ms if k >= 4000) == rest_ms, kept_ms
    else:
        assert rests == len(rest_ms)
    # each hold comes after its settle or switch time, scaled
    for s, m, f in zip(slow.holds, standard.holds, fast.holds, strict=True):
        exercise = routine.exercise(m.exercise)
        first = m.round == 1 and m.side in (None, (exercise.sides or (None,))[0])
        move_ms = ms(exercise.settle_s if first else exercise.switch_s)
        quiet = [_quiet_before(t, h.start_ms) for t, h in ((slow, s), (standard, m), (fast, f))]
        assert quiet[0] - quiet[1] >= move_ms // 2 - 2 and quiet[1] - quiet[2] >= move_ms // 4 - 2
    # every step that asks for a movement gives its time at the pace; the others keep theirs
    setup = {paragraphs(e.setup)[0] for e in routine.exercises}
    steps = zip(slow.steps, standard.steps, fast.steps, strict=True)
    scaled = kept = 0
    for s_step, m_step, f_step in steps:
        assert s_step.text == m_step.text == f_step.text
        if (s_step.then_ms, f_step.then_ms) == (m_step.then_ms, m_step.then_ms):
            kept += 1
            assert m_step.text not in setup
        else:
            scaled += 1
            assert s_step.then_ms == ms(m_step.then_ms * 1.5 / 1000)
            assert f_step.then_ms == ms(m_step.then_ms * 0.75 / 1000)
    if verbosity != "minimal":
        assert scaled >= 20 and kept >= 3  # the caution's and the intro's pauses are kept
    print(
        f"{verbosity}: time to move {moved_ms / 1000:.1f} s at standard; totals slow "
        f"{slow.total_ms / 1000:.1f} s, standard {standard.total_ms / 1000:.1f} s, fast "
        f"{fast.total_ms / 1000:.1f} s"
    )
    assert slow.total_ms - standard.total_ms == pytest.approx(moved_ms / 2, abs=50)
    assert standard.total_ms - fast.total_ms == pytest.approx(moved_ms / 4, abs=50)


def _quiet_before(timeline: Timeline, t_ms: int) -> int:
    """The longest quiet among the few events before ``t_ms`` (a hold's start): the time to
    settle or switch, before the hold's cue words."""
    start = next(i for i, e in enumerate(timeline.events) if e.start_ms == t_ms)
    before = timeline.events[max(0, start - 6) : start]
    return max(e.end_ms - e.start_ms for e in before if isinstance(e, Silence))


_PAIN_RULE = re.compile(r"(brings on pain|it hurts), (ease off|squeeze more gently)")
_NUMBER_SAID = re.compile(
    r"for about (\d+) seconds|for at least (\d+) seconds|Rest for (\d+) seconds|"
    r"release (\d+) times in each set|(?:Set|Round) \d+ of (\d+)"
)


@pytest.mark.parametrize("verbosity", ["minimal", "standard", "coach"])
def test_every_point_of_the_coaching_issue_on_the_real_timeline(
    routine: Routine, speech: PhraseCache, verbosity: str
) -> None:
    """Issue #23's points, each where it can be heard, on the default voice's timeline (the
    short introduction, the beat and the pace have their own tests above)."""
    timeline = real_plan(routine, speech, verbosity=verbosity)
    standard = real_plan(routine, speech) if verbosity != "standard" else timeline
    talks = verbosity != "minimal"
    said = spoken(timeline)
    words = [e.text for e in said]
    supine, twist, _squeeze = routine.exercises
    # 1. the twist, unmistakable: the foot beside the outside of the knee, the upper body
    # turned toward the bent knee, the knee pressed across the body (never "outward")
    twist_words = texts(timeline, twist.title)
    if talks:
        for side, other in (("right", "left"), ("left", "right")):
            assert f"Turn your upper body toward your bent {side} knee." in " ".join(twist_words)
            assert f"press your {side} knee toward the {other}, across your body" in " ".join(
                twist_words
            )
        assert not any("outward" in t for t in twist_words)
    # 2. the pain rule: in the introduction and with every exercise, before it starts
    assert any(_PAIN_RULE.search(t) for t in texts(timeline, "Introduction"))
    assert any("press n" in t and "next chapter" in t for t in texts(timeline, "Introduction"))
    for exercise in routine.exercises:
        start, _end = chapter(timeline, exercise.title)
        first = min(
            x.start_ms for x in (*timeline.holds, *timeline.sets) if x.exercise == exercise.id
        )
        assert any(_PAIN_RULE.search(e.text) for e in spoken(timeline, start, first)), exercise.id
    # 3. the figure-4 rests with the feet down: one round at a time with the legs up
    if talks:
        in_supine = spoken(timeline, *chapter(timeline, supine.title))
        up = [e for e in in_supine if "both legs are up" in e.text]
        down = [e for e in in_supine if "Lower both feet" in e.text or "Put your feet" in e.text]
        assert len(up) == supine.rounds and len(down) == supine.rounds
        spans = [d.start_ms - u.end_ms for u, d in zip(up, down[-len(up) :], strict=True)]
        assert max(spans) <= 150_000, spans  # one round, both sides (it was 6.5 minutes)
        for rest in (e for e in said if e.text == f"Rest for {supine.rest_s:g} seconds."):
            before = [e.text for e in spoken(timeline, rest.start_ms - 10_000, rest.start_ms)]
            assert any("Lower both feet to the floor" in t for t in before)
    # 4. time to move at every level: from one hold (or set) to the next, at least the time
    # the standard level gives to move there (steps, settling, switching: what --pace slow
    # makes half again as long)
    slow = real_plan(routine, speech, pace="slow")

    def stretches(t: Timeline) -> list[tuple[int, int]]:
        marks = sorted((*t.holds, *t.sets), key=lambda x: x.start_ms)
        return list(
            zip([0] + [m.end_ms for m in marks[:-1]], [m.start_ms for m in marks], strict=True)
        )

    moved = 0
    for (a, z), (sa, sz), (slow_a, slow_z) in zip(
        stretches(timeline), stretches(standard), stretches(slow), strict=True
    ):
        moves = 2 * ((slow_z - slow_a) - (sz - sa))
        quiet = sum(
            e.end_ms - e.start_ms
            for e in timeline.events
            if isinstance(e, Silence) and a <= e.start_ms < z
        )
        assert quiet >= moves, (a, z, quiet, moves)
        moved += moves
    assert moved >= 100_000  # (between sets: a rest only)
    # 6. coach: no sentence twice within one hold, the reminders turn, breathing in every
    # exercise (squeezes included)
    for hold in timeline.holds:
        inside = [e.text for e in spoken(timeline, hold.start_ms, hold.end_ms)]
        assert len(inside) == len(set(inside)), inside
    if verbosity == "coach":
        for exercise in routine.exercises:
            chapter_words = " ".join(texts(timeline, exercise.title)).lower()
            assert "breath" in chapter_words, exercise.id
        later = [h for h in timeline.holds if h.exercise == supine.id and h.round > 1]
        heard = {e.text for h in later for e in spoken(timeline, h.start_ms, h.end_ms)} & {
            t.replace("{side}", s) for t in supine.reminders for s in ("left", "right")
        }
        assert len(heard) == 4  # both reminders, both sides
    # 8. the numbers said are the ones timed; no fraction of a second is said
    assert not any(re.search(r"\d\.\d", t) for t in words)
    for e in said:
        for found in _NUMBER_SAID.finditer(e.text):
            about, least, rest, reps, of = (int(g) if g else None for g in found.groups())
            if about is not None:
                assert {
                    h.end_ms - h.start_ms for h in timeline.holds if h.exercise == supine.id
                } == {about * 1000}
            if least is not None:
                assert {
                    h.end_ms - h.start_ms for h in timeline.holds if h.exercise == twist.id
                } == {least * 1000}
            if rest is not None:
                # until the next thing asked (coach may say a breathing line inside it)
                after = next(
                    x for x in said if x.start_ms > e.start_ms and x.text not in routine.breathing
                )
                assert after.start_ms - e.end_ms >= rest * 1000, (e, after)
            if reps is not None:
                assert {s.reps for s in timeline.sets} == {reps}
            if of is not None:
                assert of in (len(timeline.sets), supine.rounds)
    # 9. say what helps: how to come up from the floor; the lines that asked nothing are gone
    assert not any("rules change just a bit" in t or "The hold ends, or" in t for t in words)
    if talks:
        closing = " ".join(texts(timeline, "Closing"))
        assert "notice how your back feels" in closing
        assert "roll onto one side" in closing and "push yourself up with your arms" in closing
    print(f"{verbosity}: {len(words)} phrases, {len(timeline.holds)} holds, checked")
