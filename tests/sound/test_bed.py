"""The music bed (--bed): the pad, the listener's music, the ducking, and the mix in play and
export. The ducking is measured on real exports, the loop seams on real decoded music, the bad
files are tried for real through the command line."""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.cli import run as run_voiceguide
from tests.helpers.fake_device import FakeClock, FakePlayer, write_tiny_routine
from voiceguide import pipeline
from voiceguide.errors import SettingsError
from voiceguide.pipeline.saved import load_config
from voiceguide.plan.choices import command_line
from voiceguide.plan.cues import Cue
from voiceguide.plan.parsing import parse_bed, parse_bed_level
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Chapter, Silence, Speech, Timeline, Tone
from voiceguide.play import Command, LivePlayback, PlanStage
from voiceguide.play.player import LEAD_IN_MS, PREROLL_GAP_MS
from voiceguide.play.stream import EDGE_MS
from voiceguide.sound.acks import ACK_MS, Ack
from voiceguide.sound.audio import FORMAT
from voiceguide.sound.bed import BedMix, Ducking, Music, Pad, open_bed
from voiceguide.sound.loudness import TARGET_LUFS, loudness_lufs
from voiceguide.sound.render import render
from voiceguide.sound.tones import CueCache
from voiceguide.speech.cache import PhraseCache

RATE = FORMAT.sample_rate


def frames(ms: int) -> int:
    return FORMAT.frames(ms)


def timeline_of(*events: Silence | Speech | Tone) -> Timeline:
    end = events[-1].end_ms
    return Timeline("t", tuple(events), (Chapter(1, "t", None, 0, end, 0, len(events)),), ())


# ---------------------------------------------------------------- the pad


def test_the_pad_is_deterministic_seamless_and_as_loud_as_speech(tmp_path: Path) -> None:
    made = Pad(tmp_path / "a")
    again = Pad(tmp_path / "b")  # made again from nothing
    cached = Pad(tmp_path / "a")  # read back from the cache
    span = made.samples(0, made.period)
    assert np.array_equal(span, again.samples(0, made.period))
    assert np.array_equal(span, cached.samples(0, made.period))
    # any stretch, from any frame, is the same as the same stretch of the whole
    assert np.array_equal(
        made.samples(made.period - 1000, 3000), np.concatenate([span[-1000:], span[:2000]])
    )
    # the period repeats without a seam: no step there larger than inside it
    steps = np.abs(np.diff(span))
    assert abs(span[0] - span[-1]) <= steps.max()
    assert abs(loudness_lufs(span, RATE) - TARGET_LUFS) <= 0.5
    assert made.peak < 0.7  # a calm bed: no loud transients


# ---------------------------------------------------------------- ducking

SPEECH = Speech(10_000, 12_000, "one")


def test_the_bed_falls_before_each_sound_and_comes_back_after() -> None:
    timeline = timeline_of(
        Silence(0, 10_000),
        SPEECH,
        Silence(12_000, 30_000),
        Tone(30_000, 30_300, Cue.START),
        Silence(30_300, 60_000),
    )
    ducking = Ducking(timeline, -18.0, peak=0.5)
    gain = ducking.gain(0, frames(60_000))

    def at(ms: int) -> float:
        return float(gain[frames(ms)])

    hold, duck = ducking.hold_gain, ducking.duck_gain
    assert hold == pytest.approx(10 ** (-18 / 20))
    assert 20 * np.log10(duck) <= -28.0 + 1e-9
    assert at(10_000 - 160) == pytest.approx(hold)  # the fall starts 150 ms before the word
    assert duck < at(10_000 - 75) < hold
    assert at(10_000) == pytest.approx(duck, rel=0.01)
    assert np.all(gain[frames(10_000) : frames(12_000)] == duck)  # down under the whole phrase
    assert duck < at(12_200) < hold
    assert at(12_400) == pytest.approx(hold, rel=0.01)  # back 400 ms after
    assert at(30_100) == duck  # cues too
    # smooth: no step in the gain larger than a 150 ms cosine fall's largest
    assert np.abs(np.diff(gain[frames(4_000) :])).max() < (hold - duck) * np.pi / frames(150)
    # faded in at the start, out over the last seconds
    assert gain[0] < 0.001 * hold and at(1_500) < hold and at(3_100) == pytest.approx(hold)
    assert gain[-1] < 0.001 * hold and at(56_000) < hold and at(53_900) == pytest.approx(hold)


def test_short_gaps_between_sounds_stay_ducked_no_pumping_within_a_sentence() -> None:
    timeline = timeline_of(
        Silence(0, 10_000),
        Speech(10_000, 11_000, "Lie down,"),
        Silence(11_000, 11_450),
        Speech(11_450, 12_500, "and breathe."),
        Silence(12_500, 13_500),
        Tone(13_500, 13_600, Cue.TICK),
        Silence(13_600, 30_000),
    )
    ducking = Ducking(timeline, -18.0, peak=0.5)
    gain = ducking.gain(frames(10_000), frames(3_600))
    assert np.all(gain == ducking.duck_gain)  # through the 450 ms and 1 s gaps
    assert ducking.spans == [(frames(10_000), frames(13_600))]


def test_the_bed_level_sets_the_holds_and_speech_stays_far_above_it() -> None:
    timeline = timeline_of(Silence(0, 10_000), SPEECH, Silence(12_000, 30_000))
    for level in (-40.0, -18.0, -15.0):
        ducking = Ducking(timeline, level, peak=0.3)
        assert 20 * np.log10(ducking.hold_gain) == pytest.approx(level)
        assert 20 * np.log10(ducking.duck_gain) <= min(level - 10, -24) + 1e-9
    # a bed with high peaks is ducked further, so that the mix keeps its true peak
    assert Ducking(timeline, -18.0, peak=2.0).duck_gain * 2.0 <= 0.02 + 1e-12


def test_the_mix_is_the_same_however_it_is_cut_into_chunks(tmp_path: Path) -> None:
    timeline = timeline_of(Silence(0, 10_000), SPEECH, Silence(12_000, 20_000))
    mix = BedMix(Pad(tmp_path), timeline)
    rng = np.random.default_rng(7)
    speech = rng.integers(-3000, 3000, frames(20_000)).astype("<i2").tobytes()
    whole = mix.mix(speech, 0)
    parts, at = [], 0
    while at < frames(20_000):
        size = int(rng.integers(1, 30_000))
        parts.append(mix.mix(speech[2 * at : 2 * (at + size)], at))
        at += size
    assert b"".join(parts) == whole
    assert whole != speech


# ---------------------------------------------------------------- the listener's music


def make_music(path: Path, seconds: float = 12.0, lead_s: float = 1.0) -> Path:
    """Music (a low note and a chord, steady after a short swell) after a silent lead, cut
    off at the low note's peak: a loop without a crossfade would click."""
    t = np.arange(int(seconds * RATE)) / RATE
    end = t[-1]
    swell = np.minimum(1.0, 0.05 + t / 0.3)  # the start is soft: ends unlike each other
    x = swell * (
        0.3 * np.cos(2 * np.pi * 110 * (t - end))  # 0.3 at the very end
        + 0.1 * np.sin(2 * np.pi * 277.2 * t) * (1 + 0.2 * np.sin(2 * np.pi * 0.3 * t))
        + 0.05 * np.sin(2 * np.pi * 440 * t)
    )
    pcm = np.concatenate([np.zeros(int(lead_s * RATE)), x])
    wav = path.with_suffix(".source.wav")
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((pcm * 32767).astype("<i2").tobytes())
    codec = {
        ".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
        ".ogg": ["-c:a", "libvorbis"],
        ".flac": ["-c:a", "flac"],
        ".wav": [],
    }[path.suffix]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *codec, str(path)], check=True)
    wav.unlink()
    return path


@pytest.mark.ffmpeg
@pytest.mark.parametrize("name", ["song.flac", "song.ogg", "song.mp3"])
def test_music_loops_with_no_step_at_the_seams_larger_than_in_the_music(
    tmp_path: Path, name: str
) -> None:
    song = make_music(tmp_path / name)
    music = open_bed(str(song), tmp_path / "beds")
    assert isinstance(music, Music)
    own = music.read(0, music.loop + music.crossfade)  # once through, as decoded
    # the silent lead was trimmed: once through is the 12 s of music (an encoder's padding
    # and the quiet start of the swell aside)
    assert 11.5 * RATE <= music.loop + music.crossfade <= 12.1 * RATE
    largest = np.abs(np.diff(own)).max()
    naive = abs(own[-1] - own[0])  # a loop without a crossfade would step this much
    assert naive > largest, "the test music must end abruptly"
    looped = music.samples(0, 4 * music.loop)
    for k in (1, 2, 3):
        seam = looped[k * music.loop - 100 : k * music.loop + music.crossfade + 100]
        assert np.abs(np.diff(seam)).max() <= largest, k
        loop = looped[k * music.loop : (k + 1) * music.loop]
        assert np.array_equal(loop[music.crossfade :], own[music.crossfade : music.loop])
    assert abs(loudness_lufs(own, RATE) - TARGET_LUFS) <= 0.5
    # decoded once: a second opening reads the cache (and the file again only to hash it)
    before = sorted(p.name for p in (tmp_path / "beds").iterdir())
    assert np.array_equal(open_bed(str(song), tmp_path / "beds").samples(0, 5000), own[:5000])
    assert sorted(p.name for p in (tmp_path / "beds").iterdir()) == before


@pytest.mark.ffmpeg
def test_a_bed_in_use_survives_the_sweep_of_other_beds(tmp_path: Path) -> None:
    """The cache keeps the 3 newest decodings: three other beds opened meanwhile (other
    exports) removed the playing bed's file, and play died of FileNotFoundError."""
    beds = tmp_path / "beds"
    playing = open_bed(str(make_music(tmp_path / "playing.wav", 6.0, 0.0)), beds)
    assert isinstance(playing, Music)
    first = playing.samples(0, 5000)
    for n in range(4):
        open_bed(str(make_music(tmp_path / f"other{n}.wav", 5.5 + n / 10, 0.0)), beds)
    assert not playing._pcm.exists()  # swept, as the cache's rule says
    assert np.array_equal(playing.samples(0, 5000), first)
    assert len(playing.samples(playing.loop, 5000)) == 5000


# ---------------------------------------------------------------- live playback (fake device)


@pytest.fixture
def tiny(tmp_path: Path, fake_cache: PhraseCache) -> tuple[Timeline, PhraseCache, CueCache]:
    routine = pipeline.load(str(write_tiny_routine(tmp_path / "routine")))
    return pipeline.plan(routine, Settings(), fake_cache), fake_cache, CueCache(tmp_path, FORMAT)


def test_play_gives_the_samples_export_renders_with_a_bed_also_across_a_pause(
    tiny: tuple[Timeline, PhraseCache, CueCache], tmp_path: Path
) -> None:
    timeline, cache, cues = tiny
    mix = BedMix(Pad(tmp_path / "beds"), timeline)
    ref = np.frombuffer(render(timeline, cache.pcm, cues=cues, bed=mix), dtype="<i2")
    assert not np.array_equal(ref, np.frombuffer(render(timeline, cache.pcm, cues=cues), "<i2"))
    clock = FakeClock()
    device = FakePlayer(clock)
    clock.at(3.0, Command.TOGGLE)
    clock.at(5.0, Command.TOGGLE)
    playback = LivePlayback(timeline, cache.pcm, device, cues=cues, clock=clock, bed=mix)
    playback.run()
    (a, cut), (resumed, end) = playback.segments
    assert a == 0 and resumed == cut and end == len(ref)
    heard = device.heard()[FORMAT.frames(LEAD_IN_MS) :]
    edge = FORMAT.frames(EDGE_MS)  # where the music is cut and comes back, it is faded
    assert np.array_equal(heard[: cut - edge], ref[: cut - edge])
    fading = heard[cut - edge : cut].astype(np.int32)
    assert np.all(np.abs(fading) <= np.abs(ref[cut - edge : cut].astype(np.int32)))
    assert abs(int(fading[-1])) < 100  # no click: the last sample before the cut is near 0
    second = device.handles[1]
    at = round(second.t0 * RATE) + FORMAT.frames(ACK_MS[Ack.RESUME] + PREROLL_GAP_MS)
    resumed_pcm = device.heard()[at : at + end - cut]
    assert abs(int(resumed_pcm[0])) < 100
    assert np.array_equal(resumed_pcm[edge:], ref[cut + edge :])


def test_a_plan_in_stages_plays_the_bed_of_the_final_plan(
    tiny: tuple[Timeline, PhraseCache, CueCache], tmp_path: Path
) -> None:
    """Events after the final part of a plan still move: the bed must not be mixed from them
    (here the provisional plan has one long silence there, which would lift the bed)."""
    timeline, cache, cues = tiny
    mix = BedMix(Pad(tmp_path / "beds"), timeline)
    ref = np.frombuffer(render(timeline, cache.pcm, cues=cues, bed=mix), dtype="<i2")
    second = next(c for c in timeline.chapters if c.index == 2)
    ready = second.end_event
    rest = Silence(timeline.events[ready - 1].end_ms, timeline.total_ms + 30_000)
    provisional = dataclasses.replace(timeline, events=(*timeline.events[:ready], rest))
    clock = FakeClock()
    device = FakePlayer(clock)
    clock.at(second.end_ms / 1000 + 1.0, PlanStage.complete(timeline))
    playback = LivePlayback(
        PlanStage(provisional, ready, rest.end_ms),
        cache.pcm,
        device,
        cues=cues,
        clock=clock,
        bed=mix,
    )
    playback.run()
    heard = device.heard()
    lead = FORMAT.frames(LEAD_IN_MS)
    (a, cut), (resumed, end) = playback.segments  # it waited for the plan, then went on
    assert a == 0 and resumed == cut <= FORMAT.frames(second.end_ms - 8_000) and end == len(ref)
    edge = FORMAT.frames(EDGE_MS)  # faded out where it was cut, and in where it goes on
    assert np.array_equal(heard[lead : lead + cut - edge], ref[: cut - edge])
    at = round(device.handles[1].t0 * RATE) + lead + edge
    assert np.array_equal(
        heard[at : at + end - cut - FORMAT.frames(EDGE_MS)], ref[cut + FORMAT.frames(EDGE_MS) :]
    )


# ---------------------------------------------------------------- bad files, for real


def run_cli(
    *args: str, tmp: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    folders = {
        "VOICEGUIDE_CACHE_DIR": str(tmp / "cache"),
        "VOICEGUIDE_CONFIG_DIR": str(tmp / "config"),
    }
    return run_voiceguide(*args, env={**folders, **(env or {})})


def four_hour_wav(path: Path) -> Path:
    """A WAV whose header says 4 hours (8 kHz, 16 bits), stored sparse."""
    data = 8_000 * 2 * 4 * 3600
    with path.open("wb") as f:
        f.write(
            b"RIFF"
            + struct.pack("<I", 36 + data)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, 8_000, 16_000, 2, 16)
            + b"data"
            + struct.pack("<I", data)
        )
        f.truncate(44 + data)
    return path


def silent_mp3(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=mono",
            "-t",
            "20",
            "-c:a",
            "libmp3lame",
            str(path),
        ],
        check=True,
    )
    return path


def video_only(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=32x32:d=2",
            "-c:v",
            "mpeg4",
            str(path),
        ],
        check=True,
    )
    return path


BAD_BEDS = {
    "missing": (lambda d: d / "nowhere.mp3", r"nowhere\.mp3: no such file"),
    "empty": (
        lambda d: (d / "empty.mp3", (d / "empty.mp3").write_bytes(b""))[0],
        r"the file is empty \(0 bytes\)",
    ),
    "not sound": (
        lambda d: (d / "notes.mp3", (d / "notes.mp3").write_text("la la la"))[0],
        r"not a sound file ffmpeg can read",
    ),
    "no audio stream": (lambda d: video_only(d / "clip.mp4"), r"the file has no audio in it"),
    "silence": (lambda d: silent_mp3(d / "quiet.mp3"), r"the music is silent"),
    # too short for ffmpeg to measure its loudness: it was called silent
    "0.1 s": (lambda d: make_music(d / "blip.wav", 0.1, 0.0), r"the music is too short: 0\.1 s"),
    "4 hours": (
        lambda d: four_hour_wav(d / "long.wav"),
        r"4\.0 hours long; give a file of at most 1 hour",
    ),
    "a folder": (lambda d: d, r": not a file"),
}


@pytest.mark.ffmpeg
@pytest.mark.parametrize("case", sorted(BAD_BEDS))
def test_a_file_that_cannot_be_a_bed_is_one_line_exit_2_and_nothing_is_written(
    case: str, tmp_path: Path
) -> None:
    make, message = BAD_BEDS[case]
    files = tmp_path / "files"
    files.mkdir()
    bed = make(files)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files.iterdir() if p.is_file()}
    out = tmp_path / "out"
    result = run_cli(
        "export",
        str(write_tiny_routine(tmp_path / "routine")),
        "--bed",
        str(bed),
        "--out",
        str(out),
        tmp=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert result.stderr.startswith("voiceguide: error: --bed ")
    assert not out.exists()
    assert not (tmp_path / "cache" / "phrases").exists()  # not even synthesis began
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files.iterdir() if p.is_file()}
    assert after == before  # the user's files are only read


def stereo_48k(path: Path) -> Path:
    """12 s of two different chords left and right at 48 kHz: mixed down and resampled."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc='0.2*sin(2*PI*110*t)+0.1*sin(2*PI*2770*t)"
         "|0.2*sin(2*PI*220*t)+0.05*sin(2*PI*440*t)':s=48000:d=12", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.mark.ffmpeg
@pytest.mark.parametrize("name", ["song.wav", "song.flac", "song.ogg", "song.mp3", "48k.flac"])
def test_music_is_decoded_without_ffmpeg_as_ffmpeg_decodes_it(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The four formats a bed reads by itself (miniaudio), against ffmpeg's decoding of the
    same file (how beds were decoded before) and ffmpeg's loudness meter."""
    from voiceguide.sound import music

    song = stereo_48k(tmp_path / name) if name == "48k.flac" else make_music(tmp_path / name)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with monkeypatch.context() as hidden:
        hidden.setenv("PATH", str(empty))
        assert shutil.which("ffmpeg") is None and shutil.which("ffprobe") is None
        bed = open_bed(str(song), tmp_path / "beds")
    assert isinstance(bed, Music)
    ours = np.fromfile(bed._pcm, dtype="<i2").astype(np.float64)
    reference = tmp_path / "ffmpeg.pcm"
    music._decode_with_ffmpeg(song, reference, "--bed", FORMAT)
    theirs = np.fromfile(reference, dtype="<i2").astype(np.float64)
    assert len(ours) == len(theirs)
    ref_info = music._analyse(reference, "--bed", FORMAT)
    ref_lufs = TARGET_LUFS - 20 * np.log10(ref_info.gain)
    decoded_wav = tmp_path / "ffmpeg.wav"  # what the loudness was measured on before
    with wave.open(str(decoded_wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(reference.read_bytes())
    assert ref_lufs == pytest.approx(ebur128(decoded_wav)[0], abs=0.1)  # the meter is ffmpeg's
    if name == "48k.flac":  # resampled by another filter: the same sound, not the same samples
        lag = min(
            range(-3, 4),
            key=lambda k: np.abs(ours[5000 + k : -5000 + k] - theirs[5000:-5000]).sum(),
        )
        diff = ours[5000 + lag : -5000 + lag] - theirs[5000:-5000]
        assert np.sqrt(np.mean(diff**2)) < 0.02 * np.sqrt(np.mean(theirs**2))  # -34 dB
        assert 20 * abs(np.log10(bed._gain / ref_info.gain)) < 0.1
        assert abs(bed._first - ref_info.first) <= 3 and abs(bed._frames - ref_info.frames) <= 3
        return
    # lossless: the same samples; lossy: the two decoders' floats differ in the last bit
    assert np.abs(ours - theirs).max() <= (0 if name in ("song.wav", "song.flac") else 1)
    assert (bed._first, bed._frames) == (ref_info.first, ref_info.frames)
    assert bed._gain == pytest.approx(ref_info.gain, rel=1e-4)


@pytest.mark.ffmpeg
def test_without_ffmpeg_other_formats_are_exit_1_naming_the_formats_that_work(
    tmp_path: Path,
) -> None:
    song = tmp_path / "song.m4a"  # AAC: ffmpeg's to decode
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(make_music(tmp_path / "song.wav")),
         "-c:a", "aac", str(song)],
        check=True,
    )  # fmt: skip
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    result = run_cli(
        "export",
        str(write_tiny_routine(tmp_path / "routine")),
        "--bed",
        str(song),
        "--out",
        str(tmp_path / "out"),
        tmp=tmp_path,
        env={"PATH": str(bin_dir)},
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "reads WAV, FLAC, Ogg Vorbis and MP3 music itself" in result.stderr
    assert "apt-get install ffmpeg" in result.stderr and "song.m4a" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bed_options_and_config_values_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"--bed-level '-3': give dB .* between -40 and -15"):
        parse_bed_level("-3")
    assert parse_bed_level("-20dB") == -20.0
    assert parse_bed("PAD") == "pad"
    assert parse_bed("music/calm.mp3", tmp_path) == str(tmp_path / "music" / "calm.mp3")
    assert command_line(bed="off").bed == "off"
    settings = Settings(bed=str(tmp_path / "calm.mp3"), bed_level_db=-20.0)
    assert settings.label() == "with music" and settings.bed_name == "calm.mp3"
    config = tmp_path / "config.toml"
    config.write_text('bed = "calm.mp3"\nbed_level = -22\n', encoding="utf-8")
    loaded = load_config(config)
    assert loaded is not None
    assert loaded.top.bed == str(tmp_path / "calm.mp3") and loaded.top.bed_level_db == -22.0
    config.write_text("bed_level = 3\n", encoding="utf-8")
    with pytest.raises(
        SettingsError, match=r"config.toml: top level, key 'bed_level' = 3: give dB"
    ):
        load_config(config)


# ---------------------------------------------------------------- measured on real exports


def decoded(path: Path) -> np.ndarray:
    pcm = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by ffmpeg's ebur128 filter."""
    err = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    summary = err[err.rindex("Summary:") :]
    lufs = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert lufs is not None and peak is not None
    return float(lufs.group(1)), float(peak.group(1))


def under_sounds_db(timeline: Timeline, speech: np.ndarray, bed: np.ndarray) -> list[float]:
    """Per phrase and cue: the speech's level over the bed's, in dB (RMS over the sound)."""
    ratios = []
    for e in timeline.events:
        if isinstance(e, Speech | Tone):
            a, b = frames(e.start_ms), frames(e.end_ms)
            level = np.sqrt(np.mean(speech[a:b] ** 2)) / np.sqrt(np.mean(bed[a:b] ** 2) + 1e-20)
            ratios.append(20 * float(np.log10(level)))
    return ratios


def in_holds_db(timeline: Timeline, mix: np.ndarray) -> list[float]:
    """The bed's loudness in every quiet stretch of a hold (from a rise after the last sound
    to a fall before the next), relative to the speech loudness (TARGET_LUFS)."""
    levels = []
    for hold in timeline.holds:
        for e in timeline.events:
            # 4 s or more: a shorter stretch is mostly the bed's rise, and the pad's own slow
            # swell moves a short window's loudness by a dB or two
            quiet = isinstance(e, Silence) and e.end_ms - e.start_ms >= 4_000
            if quiet and hold.start_ms <= e.start_ms < hold.end_ms:
                a, b = frames(e.start_ms + 500), frames(e.end_ms - 200)
                levels.append(loudness_lufs(mix[a:b], RATE) - TARGET_LUFS)
    return levels


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The default routine with real speech, exported without a bed, with the pad, and with
    music at -15 dB (phrases synthesized once)."""
    from tests.conftest import _espeak_available, require

    require("espeak-ng (through pyttsx3)", _espeak_available(), "apt-get install espeak-ng")
    base = tmp_path_factory.mktemp("bed-export")
    routine = pipeline.load(None)
    song = make_music(base / "song.ogg", seconds=40.0)
    song_before = (song.stat().st_mtime_ns, song.read_bytes())
    runs = {
        "none": Settings(),
        "pad": Settings(bed="pad"),
        "pad again": Settings(bed="pad"),
        "music": Settings(bed=str(song), bed_level_db=-15.0),
    }
    results = {}
    for name, settings in runs.items():
        cache = pipeline.make_cache(settings, cache_dir=base / "cache")
        results[name] = pipeline.export(routine, settings, cache, base / name.replace(" ", "-"))
    return {"results": results, "song": song, "song_before": song_before}


@pytest.mark.slow
@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_the_exported_bed_steps_aside_for_every_phrase_and_cue_and_holds_its_level(
    exports: dict[str, Any],
) -> None:
    from tests.helpers import sound

    timeline, plain = exports["results"]["none"]
    speech = decoded(plain.full.path)
    for name, level_db in (("pad", -18.0), ("music", -15.0)):
        bed_timeline, result = exports["results"][name]
        assert bed_timeline.events == timeline.events  # the bed moves nothing
        mix = decoded(result.full.path)
        assert len(mix) == len(speech)
        # the bed is the difference (with the MP3 encoder's noise, so this is conservative)
        ratios = under_sounds_db(timeline, speech, mix - speech)
        assert min(ratios) >= 15.0, name
        holds = in_holds_db(timeline, mix)
        # the level over all holds, and each hold near it (the pad's slow swell moves a
        # 4-second window by up to two dB)
        assert len(holds) >= 10, (name, holds)
        assert abs(float(np.median(holds)) - level_db) <= 1.0, (name, holds)
        assert all(abs(h - level_db) <= 2.5 for h in holds), (name, holds)
        sound.MEASUREMENTS[f"bed ({name}): speech over bed under phrases and cues"] = (
            f"min {min(ratios):.1f} dB, median {np.median(ratios):.1f} dB over {len(ratios)}"
        )
        sound.MEASUREMENTS[f"bed ({name}): in holds, relative to speech (set {level_db:g} dB)"] = (
            f"{min(holds):.1f} to {max(holds):.1f} dB over {len(holds)} quiet stretches"
        )


@pytest.mark.slow
@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_exports_with_a_bed_keep_loudness_chapters_and_lyrics_and_say_the_music(
    exports: dict[str, Any],
) -> None:
    from mutagen.id3 import ID3

    _, plain = exports["results"]["none"]
    for name in ("pad", "music"):
        _, result = exports["results"][name]
        for track in (*result.tracks, result.full):
            integrated, peak = ebur128(track.path)
            assert abs(integrated - -19.0) <= 1.0, (name, track.path.name, integrated)
            assert peak <= -1.0, (name, track.path.name, peak)
        tags, before = ID3(result.full.path), ID3(plain.full.path)
        assert str(tags["TALB"]).endswith("(with music)")
        comment = str(tags.getall("COMM")[0])
        assert ("music pad at -18 dB" if name == "pad" else "music song.ogg at -15 dB") in comment
        assert tags.getall("SYLT")[0].text == before.getall("SYLT")[0].text  # lyrics
        chapters = sorted((c.start_time, c.end_time) for c in tags.getall("CHAP"))
        assert chapters == sorted((c.start_time, c.end_time) for c in before.getall("CHAP"))
        assert [t.duration_s for t in result.tracks] == [t.duration_s for t in plain.tracks]
    # the pad is the same every time, and the listener's file was only read
    again = exports["results"]["pad again"][1]
    pad = exports["results"]["pad"][1]
    assert np.array_equal(decoded(again.full.path), decoded(pad.full.path))
    assert (exports["song"].stat().st_mtime_ns, exports["song"].read_bytes()) == exports[
        "song_before"
    ]


# ---------------------------------------------------------------- on a real sound device


@pytest.mark.sound
@pytest.mark.ffmpeg
def test_on_a_sound_device_play_gives_the_samples_export_writes_with_a_bed(
    sound_device: Any, tmp_path: Path
) -> None:
    from tests.helpers import sound
    from tests.play.test_play_sound import NoiseSynthesizer, differing, first_content
    from voiceguide.play import SimpleaudioPlayer

    folder = tmp_path / "routine"
    path = write_tiny_routine(folder)
    for name in ("stretch", "squeeze"):  # shorter: about a minute in all
        text = (folder / f"{name}.yaml").read_text(encoding="utf-8")
        text = text.replace("settle_s: 1", "settle_s: 0.5").replace("switch_s: 1", "switch_s: 0.5")
        text = text.replace("sets: 2", "sets: 1")
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    cache = PhraseCache(NoiseSynthesizer(), tmp_path / "cache")
    routine, settings = pipeline.load(str(path)), Settings(bed="pad")
    timeline = pipeline.plan(routine, settings, cache)
    cues = CueCache(tmp_path / "cache", FORMAT)
    mix = BedMix(Pad(tmp_path / "cache" / "beds"), timeline)
    ref = np.frombuffer(render(timeline, cache.pcm, cues=cues, bed=mix), "<i2").astype(np.int32)
    playback = LivePlayback(timeline, cache.pcm, SimpleaudioPlayer(), cues=cues, bed=mix)
    with sound_device.record() as recorder:
        playback.run()
    rec = recorder.samples()
    at = first_content(rec, ref)
    assert playback.segments == [(0, len(ref))]
    assert differing(rec, at, ref) == 0  # sample for sample, the bed included
    # the exported MP3, decoded, is the same audio (up to the MP3 encoding)
    _, result = pipeline.export(routine, settings, cache, tmp_path / "export")
    mp3 = np.rint(decoded(result.full.path) * 32768).astype(np.int32)
    found = sound.find(mp3[RATE : 3 * RATE], rec)
    offset = found - RATE
    n = min(len(mp3), len(rec) - offset)
    assert sound.similarity(rec[offset : offset + n], mp3[:n]) > 0.95
    assert abs(offset - at) < RATE // 10
    sound.MEASUREMENTS["bed: play vs export on the virtual device"] = (
        f"0 samples differing over {len(ref) / RATE:.0f} s with the pad"
    )
