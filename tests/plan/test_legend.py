"""The cue legend (``voiceguide cues``): each cue sound named, then played, as one MP3."""

from __future__ import annotations

import itertools
import stat
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import fake_measure
from tests.helpers.cli import run
from voiceguide.export import export_track
from voiceguide.plan.cues import CUE_MS, Cue
from voiceguide.plan.legend import LEGEND_TITLE, cue_phrase, legend_phrases, legend_timeline
from voiceguide.plan.timeline import Silence, Speech, Tone
from voiceguide.routine.text import speakable
from voiceguide.speech.cache import PhraseCache


def test_each_cue_is_named_then_played_on_an_exact_contiguous_timeline() -> None:
    timeline = legend_timeline(fake_measure)
    events = timeline.events
    assert events[0].start_ms == 0
    for before, after in itertools.pairwise(events):
        assert before.end_ms == after.start_ms
    assert all(e.end_ms > e.start_ms for e in events)
    tones = [e for e in events if isinstance(e, Tone)]
    assert [t.cue for t in tones if t.cue is not Cue.TICK] == [c for c in Cue if c is not Cue.TICK]
    ticks = [t.start_ms for t in tones if t.cue is Cue.TICK]
    assert len(ticks) == 3 and {b - a for a, b in itertools.pairwise(ticks)} == {1000}
    for tone in tones:
        if tone.cue is Cue.TICK and tone.start_ms != ticks[0]:
            continue
        i = events.index(tone)
        name, gap = events[i - 2], events[i - 1]
        assert isinstance(name, Speech) and name.text == cue_phrase(tone.cue)
        assert isinstance(gap, Silence)
        assert tone.end_ms - tone.start_ms == CUE_MS[tone.cue]
    assert [e.text for e in events if isinstance(e, Speech)] == legend_phrases()
    assert all(speakable(p) == p for p in legend_phrases())
    # one chapter over everything; sections partition it, one per cue
    (chapter,) = timeline.chapters
    assert (chapter.start_ms, chapter.end_ms) == (0, timeline.total_ms)
    assert (chapter.first_event, chapter.end_event) == (0, len(events))
    sections = timeline.sections
    assert sections[0].start_ms == 0 and sections[-1].end_ms == timeline.total_ms
    for before, after in itertools.pairwise(sections):
        assert before.end_ms == after.start_ms
    assert len(sections) == len(Cue) + 2
    assert cue_phrase(Cue.INHALE) == "A soft low rise: breathe in, when breathing tones are on."


def _probe(path: Path, entries: str) -> str:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.ffmpeg
def test_the_legend_exports_as_one_mp3_with_a_chapter_per_cue(
    fake_cache: PhraseCache, tmp_path: Path
) -> None:
    fake_cache.ensure(legend_phrases())
    timeline = legend_timeline(fake_cache.measure)
    out = tmp_path / "out" / "legend.mp3"
    track = export_track(timeline, fake_cache.pcm, out, "64k")
    assert track.path == out and track.title == LEGEND_TITLE
    assert track.duration_s == pytest.approx(timeline.total_ms / 1000, abs=0.1)
    assert sorted(p.name for p in out.parent.iterdir()) == ["legend.mp3"]  # nothing left over
    assert out.stat().st_mode & stat.S_IRGRP  # an ordinary file, readable like any export
    from mutagen.id3 import ID3

    tags = ID3(str(out))
    chapters = tags.getall("CHAP")
    assert len(chapters) == len(timeline.sections)
    assert {c.sub_frames["TIT2"].text[0] for c in chapters} >= {
        cue_phrase(cue).removesuffix(".") for cue in Cue
    }
    assert tags["TIT2"].text == [LEGEND_TITLE]
    assert abs(int(_probe(out, "format=bit_rate")) - 64_000) < 4_000


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_voiceguide_cues_out_writes_the_mp3_and_says_where(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('bitrate = "64k"\n', encoding="utf-8")
    result = run(
        "cues", "--out", "legend.mp3", cwd=tmp_path, env={"VOICEGUIDE_CONFIG_DIR": str(config)}
    )
    assert result.returncode == 0, result.stderr
    written = tmp_path / "legend.mp3"
    assert result.stdout.startswith("Wrote the cue sounds (1:")
    assert result.stdout.rstrip().endswith(f"to {written}")
    assert 40 < float(_probe(written, "format=duration")) < 120
    assert abs(int(_probe(written, "format=bit_rate")) - 64_000) < 4_000  # the saved bitrate
    other = run("cues", "--out", str(tmp_path / "a" / "b.mp3"), "--bitrate", "128k")
    assert other.returncode == 0, other.stderr
    assert abs(int(_probe(tmp_path / "a" / "b.mp3", "format=bit_rate")) - 128_000) < 8_000


def test_without_out_the_legend_plays_live_sample_for_sample_as_rendered(tmp_path: Path) -> None:
    from tests.conftest import FakeSynthesizer
    from tests.helpers.fake_device import FakeClock, FakePlayer
    from voiceguide import pipeline
    from voiceguide.plan.preferences import command_line
    from voiceguide.play import State
    from voiceguide.play.player import LEAD_IN_MS
    from voiceguide.sound.render import render
    from voiceguide.sound.tones import CueCache

    synthesizer = FakeSynthesizer()
    clock = FakeClock()
    device = FakePlayer(clock)
    status = pipeline.play_legend(
        command_line(), player=device, clock=clock, synthesizer=synthesizer
    )
    timeline, cache, _ = pipeline.legend(command_line(), synthesizer)
    assert status.state is State.DONE and status.position_ms == timeline.total_ms
    cues = CueCache(cache.directory.parent, cache.fmt)
    reference = np.frombuffer(render(timeline, cache.pcm, cues=cues), dtype="<i2")
    heard = device.heard()[cache.fmt.frames(LEAD_IN_MS) :]
    assert np.array_equal(heard[: len(reference)], reference.astype(np.int32))
    assert not heard[len(reference) :].any()


@pytest.mark.sound
@pytest.mark.espeak
def test_voiceguide_cues_plays_on_the_sound_device_and_writes_nothing(
    sound_device: Any, tmp_path: Path
) -> None:
    import signal
    import sys

    from tests.conftest import REPO

    with sound_device.record() as recorder:
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "cues"],
            cwd=tmp_path,
            env={**sound_device.process_env(), "PYTHONPATH": str(REPO)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            recorder.wait_for_sound(timeout_s=60)
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl-C: heard enough
            _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "voiceguide: error: interrupted"
    assert list(tmp_path.iterdir()) == []  # played, not written
