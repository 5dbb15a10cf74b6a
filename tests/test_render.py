"""The streamed render is exactly a straightforward render: every piece at its place."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from voiceguide import pipeline
from voiceguide.audio import FORMAT
from voiceguide.cues import CueCache
from voiceguide.model import Routine
from voiceguide.render import render, render_events
from voiceguide.timeline import Speech, Timeline, Tone
from voiceguide.tts import PhraseCache


def reference_render(timeline: Timeline, cache: PhraseCache, cues: CueCache) -> bytes:
    """pydub, the obvious way: a silent track the plan's length, each piece laid over it."""
    from pydub import AudioSegment

    track = AudioSegment.silent(duration=timeline.total_ms, frame_rate=FORMAT.sample_rate)
    track = track.set_sample_width(FORMAT.sample_width).set_channels(FORMAT.channels)
    for event in timeline.events:
        if isinstance(event, Speech):
            data = cache.pcm(event.text)
        elif isinstance(event, Tone):
            data = cues(event.cue)
        else:
            continue
        piece = AudioSegment(data=data, sample_width=2, frame_rate=FORMAT.sample_rate, channels=1)
        track = track.overlay(piece[: event.end_ms - event.start_ms], position=event.start_ms)
    return bytes(track.raw_data)


@pytest.fixture
def short(routine: Routine) -> Routine:
    """The routine cut to the supine stretch and the squeezes (the reference is slow)."""
    exercises = (routine.exercises[0], routine.exercises[2])
    return dataclasses.replace(routine, exercises=exercises)


SHORT = [("rounds", "1"), ("hold", "12"), ("sets", "1")]


@pytest.fixture
def planned(short: Routine, fake_cache: PhraseCache) -> tuple[Timeline, CueCache]:
    timeline = pipeline.plan(short, pipeline.parse_settings(SHORT), fake_cache)
    return timeline, CueCache(fake_cache.directory.parent, FORMAT)


def test_streamed_render_equals_the_reference_sample_for_sample(
    planned: tuple[Timeline, CueCache], fake_cache: PhraseCache
) -> None:
    timeline, cues = planned
    streamed = render(timeline, fake_cache.pcm, cues=cues)
    reference = reference_render(timeline, fake_cache, cues)
    assert len(streamed) == FORMAT.frames(timeline.total_ms) * FORMAT.frame_bytes
    assert streamed == reference


def test_chunks_are_bounded_and_chapters_concatenate_to_the_whole(
    planned: tuple[Timeline, CueCache], fake_cache: PhraseCache
) -> None:
    timeline, cues = planned
    longest_piece = max(len(fake_cache.pcm(t)) for t in timeline.phrases())
    parts = []
    for chapter in timeline.chapters:
        events = timeline.events[chapter.first_event : chapter.end_event]
        chunks = list(render_events(events, fake_cache.pcm, cues=cues))
        assert max(len(c) for c in chunks) <= max(longest_piece, FORMAT.frames(1000) * 2)
        parts.append(b"".join(chunks))
    assert b"".join(parts) == render(timeline, fake_cache.pcm, cues=cues)


@pytest.mark.ffmpeg
def test_exported_mp3_decodes_to_the_reference_encoded_the_same_way(
    short: Routine, fake_cache: PhraseCache, tmp_path: Path
) -> None:
    settings = pipeline.parse_settings(SHORT)
    timeline, result = pipeline.export(short, settings, fake_cache, tmp_path / "out")
    cues = CueCache(fake_cache.directory.parent, FORMAT)
    raw = tmp_path / "reference.raw"
    raw.write_bytes(reference_render(timeline, fake_cache, cues))
    encoded = tmp_path / "reference.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *FORMAT.ffmpeg_input, "-i", str(raw),
         "-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3", str(encoded)],
        check=True,
    )  # fmt: skip

    def decoded(path: Path) -> bytes:
        return subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
            check=True, capture_output=True,
        ).stdout  # fmt: skip

    assert decoded(result.full.path) == decoded(encoded)
