"""The playback engine on a fake device and a fake clock: exact, fast, no sound card.

What the fake device "heard" is compared with what export renders, sample for sample; the
real device is tested in test_play_sound.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.fake_device import FakeClock, FakePlayer, write_tiny_routine
from voiceguide import pipeline
from voiceguide.errors import PlaybackError, SettingsError
from voiceguide.plan.cues import Cue
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Speech, Timeline
from voiceguide.play import (
    Command,
    LivePlayback,
    PlanStage,
    State,
    Status,
)
from voiceguide.play.player import CUT_MARGIN_MS, LEAD_IN_MS, PREROLL_GAP_MS
from voiceguide.sound.acks import ACK_MS, Ack, ack_pcm
from voiceguide.sound.audio import FORMAT
from voiceguide.sound.render import render
from voiceguide.sound.tones import CueCache, cue_audio
from voiceguide.speech.cache import PhraseCache

RATE = FORMAT.sample_rate
LEAD = FORMAT.frames(LEAD_IN_MS)  # the quiet before the content of a stream


def frames(ms: float) -> int:
    return FORMAT.frames(round(ms))


@dataclasses.dataclass
class Rig:
    timeline: Timeline
    cache: PhraseCache
    cues: CueCache
    clock: FakeClock
    device: FakePlayer

    def playback(self, plan: PlanStage | Timeline | None = None, start_ms: int = 0) -> LivePlayback:
        return LivePlayback(
            plan or self.timeline,
            self.cache.pcm,
            self.device,
            start_ms=start_ms,
            cues=self.cues,
            clock=self.clock,
        )

    def reference(self) -> np.ndarray:
        pcm = render(self.timeline, self.cache.pcm, cues=self.cues)
        return np.frombuffer(pcm, dtype="<i2").astype(np.int32)

    def heard(self) -> np.ndarray:
        """What the device played, from the first frame of content on."""
        return self.device.heard()[LEAD:]

    def content_start(self, handle_index: int, ack: Ack | None) -> int:
        """Where the content of the n-th stream begins in ``heard()``."""
        handle = self.device.handles[handle_index]
        preroll = frames(ACK_MS[ack] + PREROLL_GAP_MS) if ack is not None else LEAD
        return round(handle.t0 * RATE) + preroll - LEAD


@pytest.fixture
def rig(tmp_path: Path, fake_cache: PhraseCache) -> Rig:
    routine = pipeline.load(str(write_tiny_routine(tmp_path / "routine")))
    timeline = pipeline.plan(routine, Settings(), fake_cache)
    clock = FakeClock()
    cues = CueCache(tmp_path / "cues", FORMAT)
    return Rig(timeline, fake_cache, cues, clock, FakePlayer(clock))


def section_start(timeline: Timeline, title: str) -> int:
    return next(s.start_ms for s in timeline.sections if s.title == title)


def test_plays_straight_through_exactly_what_export_renders_without_busy_waiting(rig: Rig) -> None:
    playback = rig.playback()
    playback.run()
    ref = rig.reference()
    heard = rig.heard()
    assert len(rig.device.handles) == 1
    assert np.array_equal(heard[: len(ref)], ref)
    assert not heard[len(ref) :].any()
    assert playback.segments == [(0, len(ref))]
    status = playback.status()
    assert status.state is State.DONE and status.position_ms == rig.timeline.total_ms
    # no busy loop: the engine wakes about once a second of audio, not more
    assert rig.clock.waits <= rig.timeline.total_ms / 1000 + 10


def test_pause_stops_at_a_frame_and_resume_continues_exactly_there(rig: Rig) -> None:
    rig.clock.at(1.0, Command.TOGGLE)
    rig.clock.at(4.0, Command.TOGGLE)
    playback = rig.playback()
    playback.run()
    ref, heard = rig.reference(), rig.heard()
    (a, cut), (resumed, end) = playback.segments
    assert a == 0 and resumed == cut and end == len(ref)
    # the cut lands just beyond what the device may have read when the key came
    assert frames(1000 + 100) <= cut <= frames(1000 + 100 + CUT_MARGIN_MS) + 1
    assert np.array_equal(heard[:cut], ref[:cut])
    pause_ack = np.frombuffer(ack_pcm(Ack.PAUSE), dtype="<i2")
    assert np.array_equal(heard[cut : cut + len(pause_ack)], pause_ack)
    resume_at = rig.content_start(1, Ack.RESUME)
    assert not heard[cut + len(pause_ack) : round(4.0 * RATE) - LEAD].any()  # silence while paused
    resume_ack = np.frombuffer(ack_pcm(Ack.RESUME), dtype="<i2")
    assert np.array_equal(heard[round(4.0 * RATE) - LEAD :][: len(resume_ack)], resume_ack)
    assert np.array_equal(heard[resume_at : resume_at + len(ref) - cut], ref[cut:])


def test_next_skips_to_the_next_section_and_back_twice_goes_to_the_previous(rig: Rig) -> None:
    t = rig.timeline
    rig.clock.at(1.0, Command.NEXT)  # in the introduction: to the stretch's opening
    rig.clock.at(2.0, Command.NEXT)  # in the opening: to the left side
    rig.clock.at(6.0, Command.BACK)  # to the start of the left side
    rig.clock.at(6.6, Command.BACK)  # again, quickly: the opening
    rig.clock.at(11.0, Command.BACK)  # (now in the left side) once: its start
    rig.clock.at(13.0, Command.STOP)
    playback = rig.playback()
    playback.run()
    starts = [start for start, _ in playback.segments]
    opening, left = section_start(t, "Stretch"), section_start(t, "Stretch - left side")
    assert starts == [
        0,
        frames(opening),
        frames(left),
        frames(left),
        frames(opening),
        frames(section_start(t, "Stretch - left side")),
    ]
    ref, heard = rig.reference(), rig.heard()
    for index, ((start, end), ack) in enumerate(
        zip(
            playback.segments, [None, Ack.NEXT, Ack.NEXT, Ack.BACK, Ack.BACK, Ack.BACK], strict=True
        )
    ):
        at = rig.content_start(index, ack)
        assert np.array_equal(heard[at : at + end - start], ref[start:end]), index
    assert playback.status().state is State.STOPPED


def test_stop_ends_with_its_sound_and_says_where(rig: Rig) -> None:
    rig.clock.at(1.5, Command.STOP)
    playback = rig.playback()
    playback.run()
    ((_, cut),) = playback.segments
    heard = rig.heard()
    stop_ack = np.frombuffer(ack_pcm(Ack.STOP), dtype="<i2")
    assert np.array_equal(heard[cut : cut + len(stop_ack)], stop_ack)
    assert not heard[cut + len(stop_ack) :].any()
    status = playback.status()
    assert status.state is State.STOPPED and status.position_ms == FORMAT.ms(cut)


def test_controls_while_paused_move_the_paused_position(rig: Rig) -> None:
    t = rig.timeline
    rig.clock.at(1.0, Command.PAUSE)
    rig.clock.at(2.0, Command.NEXT)
    rig.clock.at(3.0, Command.RESUME)
    rig.clock.at(5.0, Command.STOP)
    playback = rig.playback()
    playback.run()
    assert [s for s, _ in playback.segments] == [0, frames(section_start(t, "Stretch"))]


def test_starts_at_an_exercise(rig: Rig) -> None:
    chapter = next(c for c in rig.timeline.chapters if c.exercise == "squeeze")
    playback = rig.playback(start_ms=chapter.start_ms)
    playback.run()
    ref, heard = rig.reference(), rig.heard()
    start = frames(chapter.start_ms)
    assert playback.segments == [(start, len(ref))]
    assert np.array_equal(heard[: len(ref) - start], ref[start:])


def test_status_tells_exercise_side_hold_time_left_set_and_rep(rig: Rig) -> None:
    t = rig.timeline
    hold = t.holds[0]
    rep_set = t.sets[1]
    seen: list[Status] = []
    playback = rig.playback()
    lead_s = LEAD_IN_MS / 1000
    rig.clock.at(lead_s + hold.start_ms / 1000 + 2.0, lambda: seen.append(playback.status()))
    rig.clock.at(lead_s + rep_set.start_ms / 1000 + 3.5, lambda: seen.append(playback.status()))
    playback.run()
    in_hold, in_set = seen
    assert in_hold.state is State.PLAYING
    assert in_hold.chapter is not None and in_hold.chapter.title == "Stretch"
    assert in_hold.section is not None and in_hold.section.side == "left"
    assert in_hold.hold == hold and in_hold.rounds == 1
    assert in_hold.hold_left_ms is not None and abs(in_hold.hold_left_ms - 3000) <= 2
    assert in_hold.total_ms == t.total_ms and in_hold.position_ms == hold.start_ms + 2000
    assert in_set.rep_set == rep_set and in_set.rep == 2 and in_set.sets == 2


def test_a_plan_that_arrives_in_stages_plays_seamlessly(rig: Rig) -> None:
    t = rig.timeline
    second = next(c for c in t.chapters if c.index == 2)
    early = PlanStage(t, second.end_event, t.total_ms + 60_000)  # only two chapters final
    rig.clock.at(2.0, PlanStage.complete(t))
    playback = rig.playback(early)
    playback.run()
    ref, heard = rig.reference(), rig.heard()
    assert playback.segments == [(0, len(ref))]
    assert np.array_equal(heard[: len(ref)], ref)
    assert playback.status().state is State.DONE


def test_when_the_rest_of_the_plan_is_late_playback_waits_and_goes_on_where_it_was(
    rig: Rig,
) -> None:
    t = rig.timeline
    first = t.chapters[0]
    seen: list[Status] = []
    playback = rig.playback(PlanStage(t, first.end_event, t.total_ms))
    rig.clock.at(first.end_ms / 1000 + 1.0, lambda: seen.append(playback.status()))
    rig.clock.at(first.end_ms / 1000 + 2.0, PlanStage.complete(t))
    playback.run()
    assert seen[0].state is State.WAITING and seen[0].total_ms is None
    (a, cut), (resumed, end) = playback.segments
    ref, heard = rig.reference(), rig.heard()
    assert a == 0 and resumed == cut <= frames(first.end_ms) and end == len(ref)
    assert np.array_equal(heard[:cut], ref[:cut])
    at = rig.content_start(1, None)
    assert np.array_equal(heard[at : at + end - cut], ref[cut:])


def test_a_plan_longer_than_its_bound_goes_on_in_a_new_stream(rig: Rig) -> None:
    t = rig.timeline
    first = t.chapters[0]
    early = PlanStage(t, first.end_event, first.end_ms + 1_000)  # a bound that is too short
    rig.clock.at(0.5, PlanStage.complete(t))
    playback = rig.playback(early)
    playback.run()
    (a, b), (c, end) = playback.segments
    assert (a, b, c, end) == (0, frames(first.end_ms + 1_000), b, frames(t.total_ms))
    ref, heard = rig.reference(), rig.heard()
    assert np.array_equal(heard[:b], ref[:b])
    at = rig.content_start(1, None)
    assert np.array_equal(heard[at : at + end - c], ref[c:])


def test_a_device_that_stops_playing_is_an_error_and_the_sound_stops(rig: Rig) -> None:
    playback = rig.playback()
    rig.clock.at(3.0, lambda: setattr(rig.device.handles[0], "fail_at", 3.0))
    with pytest.raises(PlaybackError, match="voiceguide export"):
        playback.run()
    assert playback.status().state is State.STOPPED


def test_an_error_from_the_planning_thread_ends_playback(rig: Rig) -> None:
    playback = rig.playback()
    rig.clock.at(2.0, OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        playback.run()
    assert all(h.stopped_at is not None for h in rig.device.handles)


def test_acknowledgements_are_short_and_distinct_from_each_other_and_from_the_cues() -> None:
    sounds = {ack: ack_pcm(ack) for ack in Ack}
    for ack, pcm in sounds.items():
        assert len(pcm) == FORMAT.frames(ACK_MS[ack]) * 2
        assert ACK_MS[ack] <= 500
        assert max(abs(v) for v in np.frombuffer(pcm, dtype="<i2")) > 3000
    cues = {cue: cue_audio(cue, FORMAT).raw_data for cue in Cue}
    pairs = [(a, b) for a in sounds for b in sounds if a < b]
    pairs += [(a, c) for a in sounds for c in cues]
    for a, b in pairs:
        other = sounds[b] if isinstance(b, Ack) else cues[b]
        assert _similarity(sounds[a], other) < 0.5, (a, b)


def _similarity(a: bytes, b: bytes) -> float:
    """The largest normalized cross-correlation of two sounds over all lags (1: the same)."""
    x = np.frombuffer(a, dtype="<i2").astype(float)
    y = np.frombuffer(b, dtype="<i2").astype(float)
    n = 1 << (len(x) + len(y)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n)), n)
    return float(np.abs(corr).max() / (np.linalg.norm(x) * np.linalg.norm(y)))


def test_plan_stages_start_on_the_first_phrases_then_the_first_chapters_and_end_with_the_plan(
    tmp_path: Path, fake_cache: PhraseCache
) -> None:
    routine = pipeline.load(str(write_tiny_routine(tmp_path / "routine")))
    stages = list(pipeline.plan_stages(routine, Settings(), fake_cache))
    assert len(stages) == 3
    opening, first, final = stages
    assert not opening.final and not first.final and final.final
    expected = pipeline.plan(routine, Settings(), fake_cache)
    assert final.timeline == expected
    spoken = [i for i, e in enumerate(expected.events) if isinstance(e, Speech)]
    # the opening stage: the first phrases only (the first sound comes sooner), then the
    # introduction whole
    assert spoken[2] < opening.ready_events <= spoken[3]
    intro = expected.chapters[0]
    assert first.ready_events >= intro.end_event
    for stage in (opening, first):
        assert stage.timeline.events[: stage.ready_events] == expected.events[: stage.ready_events]
        assert stage.bound_ms >= expected.total_ms
    # everything cached now: one complete stage
    again = list(pipeline.plan_stages(routine, Settings(), fake_cache))
    assert [s.final for s in again] == [True] and again[0].timeline == expected


def test_plan_stages_from_an_exercise_make_its_chapter_final_first(
    tmp_path: Path, fake_cache: PhraseCache
) -> None:
    routine = pipeline.load(str(write_tiny_routine(tmp_path / "routine")))
    settings = pipeline.parse_settings([("hold", "stretch=6")])
    *stages, final = pipeline.plan_stages(routine, settings, fake_cache, "squeeze")
    squeeze = next(c for c in final.timeline.chapters if c.exercise == "squeeze")
    # the first stage places the chapter (every phrase before it) and plays its first phrase
    assert stages[0].ready_events > squeeze.first_event
    assert stages[-1].ready_events >= squeeze.end_event
    assert not stages[0].final
    for stage in stages:
        ready = stage.ready_events
        assert stage.timeline.events[:ready] == final.timeline.events[:ready]


def test_play_refuses_an_unknown_exercise_for_from(rig: Rig, tmp_path: Path) -> None:
    routine = pipeline.load(str(write_tiny_routine(tmp_path / "routine2")))
    with pytest.raises(SettingsError, match="did you mean 'squeeze'"):
        pipeline.play(routine, Settings(), rig.cache, start_exercise="squeze", player=rig.device)


def test_a_skip_before_the_plan_is_complete_waits_for_it_in_silence(rig: Rig) -> None:
    t = rig.timeline
    first = t.chapters[0]
    rig.clock.at(1.0, Command.NEXT)
    rig.clock.at(3.0, PlanStage.complete(t))  # the rest of the plan comes later
    rig.clock.at(5.0, Command.STOP)
    playback = rig.playback(PlanStage(t, first.end_event, t.total_ms + 60_000))
    playback.run()
    (a, cut), (target, _) = playback.segments
    assert a == 0 and target == frames(t.sections[1].start_ms)
    heard = rig.heard()
    assert not heard[cut + 1 : round(3.0 * RATE) - LEAD].any()  # silent while it waits
    at = rig.content_start(1, Ack.NEXT)
    ref = rig.reference()
    assert np.array_equal(
        heard[at : at + FORMAT.frames(1_000)], ref[target : target + FORMAT.frames(1_000)]
    )


def test_next_in_the_last_section_ends_playback(rig: Rig) -> None:
    last = rig.timeline.sections[-1]
    rig.clock.at(0.5, Command.NEXT)
    playback = rig.playback(start_ms=last.start_ms)
    playback.run()
    status = playback.status()
    assert status.state is State.DONE and status.position_ms == rig.timeline.total_ms
