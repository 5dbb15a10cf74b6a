"""The streamed render is exactly a straightforward render: every piece at its place."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from voiceguide import pipeline
from voiceguide.plan.timeline import Speech, Timeline, Tone
from voiceguide.routine.model import Routine
from voiceguide.sound.audio import FORMAT
from voiceguide.sound.render import render, render_events
from voiceguide.sound.tones import CueCache
from voiceguide.speech.cache import PhraseCache


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
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *FORMAT.ffmpeg_input,
            "-i",
            str(raw),
            "-c:a",
            "libmp3lame",
            "-b:a",
            "96k",
            "-reservoir",
            "0",
            "-compression_level",
            "5",
            "-f",
            "mp3",
            str(encoded),
        ],
        check=True,
    )

    def decoded(path: Path) -> bytes:
        return subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
            check=True,
            capture_output=True,
        ).stdout

    import numpy as np

    exported = np.frombuffer(decoded(result.full.path), "<i2").astype(np.float64)
    single = np.frombuffer(decoded(encoded), "<i2").astype(np.float64)
    source = np.frombuffer(raw.read_bytes(), "<i2").astype(np.float64)
    # the export's gapless header trims the encoder's delay and padding: as long as its source
    assert len(exported) == len(source), (len(exported), len(source), len(single))
    # one encoder's decode keeps the padding at its end: compare where both have the source
    length = min(len(exported), len(single))
    exported, single = exported[:length], single[:length]
    # several encoders at once (one per core): not the same bits as one encoder, but far
    # under the encoding's own noise (measured: 17-19 dB under it); one piece: identical
    difference = np.sqrt(np.mean((exported - single) ** 2))
    noise = np.sqrt(np.mean((single[: len(source)] - source[: len(single)]) ** 2))
    assert difference < noise / 4, (difference, noise)


@pytest.mark.ffmpeg
def test_chapter_tracks_are_the_full_track_cut_between_frames(
    routine: Routine, fake_cache: PhraseCache, tmp_path: Path
) -> None:
    """Each chapter track holds the same audio as the full track from just before its chapter,
    so nothing is encoded twice and nothing is lost at a cut."""
    import numpy as np
    from mutagen.id3 import ID3

    timeline, result = pipeline.export(
        routine, pipeline.parse_settings(SHORT), fake_cache, tmp_path
    )

    def decoded(path: Path) -> np.ndarray:
        out = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
            check=True,
            capture_output=True,
        ).stdout
        return np.frombuffer(out, dtype="<i2").astype(np.int32)

    full = decoded(result.full.path)
    frame = 1152
    for track, chapter in zip(result.tracks, timeline.chapters, strict=True):
        audio = decoded(track.path)
        # the cut is at most 70 ms + one frame before the chapter, never after it (so the
        # track before ends up to 70 ms before its chapter does, in its quiet end)
        lead_ms = track.duration_s * 1000 - (chapter.end_ms - chapter.start_ms)
        assert -70 <= lead_ms <= 125, (track.title, lead_ms)  # the last: LAME's last frame too
        # where the track sits in the full track: the shift that makes them identical (a
        # track may start with the encoder's 25 ms of priming silence: padded for that)
        pad = 4 * frame
        padded = np.concatenate([np.zeros(pad, dtype=np.int32), full])
        expected = pad + FORMAT.frames(max(0, chapter.start_ms - 70))
        probe = audio[frame : frame + FORMAT.sample_rate * 3]
        offsets = range(expected - 3 * frame, expected + 2 * frame)
        errors = [
            np.abs(padded[o + frame : o + frame + len(probe)] - probe).mean() for o in offsets
        ]
        offset = offsets[int(np.argmin(errors))]
        end = min(len(audio), len(padded) - offset) - frame
        assert np.max(np.abs(audio[frame:end] - padded[offset + frame : offset + end])) <= 1, (
            track.title
        )
        assert offset - pad <= FORMAT.frames(chapter.start_ms)  # nothing of the chapter is lost
        first_sound = int(np.argmax(np.abs(audio) > 200))
        # lyric times point at the spoken words of this track
        sylt = ID3(track.path).getall("SYLT")[0].text
        first_text_ms = sylt[0][1]
        assert abs(first_text_ms - first_sound * 1000 / FORMAT.sample_rate) <= 30
