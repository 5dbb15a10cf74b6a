"""Live playback through a real sound path: simpleaudio -> ALSA -> PulseAudio null sink,
recorded from the sink's monitor (tests/helpers/sound.py) and compared with what export renders.

Speech here is a fast stand-in (noise bursts, so that cross-correlation finds exactly one
place) except in the end-to-end test, which runs ``voiceguide play`` with espeak-ng in a
pseudo-terminal and presses real keys.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import pty
import subprocess
import sys
import termios
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import REPO
from tests.helpers import sound
from tests.helpers.fake_device import write_tiny_routine
from voiceguide import pipeline
from voiceguide.bench.figures import cpu_s
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline, Tone
from voiceguide.play import Command, LivePlayback, SimpleaudioPlayer, State
from voiceguide.play.player import PREROLL_GAP_MS
from voiceguide.sound.acks import ACK_MS, Ack, ack_pcm
from voiceguide.sound.audio import FORMAT
from voiceguide.sound.render import render
from voiceguide.sound.tones import CueCache
from voiceguide.speech.cache import PhraseCache

RATE = FORMAT.sample_rate


def ms(frames: int) -> float:
    return frames * 1000 / RATE


class NoiseSynthesizer:
    """Stand-in speech: 40 ms per character of noise shaped like syllables, different for
    every text, so each phrase is found in a recording at exactly one place."""

    identity = "noise|1"

    def cancel(self) -> None:
        pass  # it is never run behind playback

    def synthesize(
        self, jobs: list[tuple[str, Path]], finish: Any = None, done: Any = None, spoken: Any = None
    ) -> None:
        for text, path in jobs:
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            rng = np.random.default_rng(seed)
            frames = max(1, len(text)) * 22_050 * 40 // 1000
            t = np.arange(frames) / 22_050
            envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
            samples = np.clip(rng.normal(0, 0.25, frames) * envelope, -1, 1)
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(22_050)
                w.writeframes((samples * 20_000).astype("<i2").tobytes())
            if spoken is not None:
                spoken(text, path)
            if finish is not None:
                finish(text, path)
            if done is not None:
                done(text, path)


@dataclasses.dataclass
class Played:
    playback: LivePlayback
    recording: np.ndarray
    recorder: sound.SinkRecorder
    sent: list[tuple[float, Command]]  # (time.monotonic, command)
    started_s: float  # when run() was called


@dataclasses.dataclass
class Setup:
    timeline: Timeline
    cache: PhraseCache
    cues: CueCache

    def reference(self) -> np.ndarray:
        pcm = render(self.timeline, self.cache.pcm, cues=self.cues)
        return np.frombuffer(pcm, dtype="<i2").astype(np.int32)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    folder = tmp_path / "routine"
    path = write_tiny_routine(folder)
    for name in ("stretch", "squeeze"):  # shorter: ~30 s in all
        text = (folder / f"{name}.yaml").read_text(encoding="utf-8")
        text = text.replace("settle_s: 1", "settle_s: 0.5").replace("switch_s: 1", "switch_s: 0.5")
        (folder / f"{name}.yaml").write_text(text.replace("sets: 2", "sets: 1"), encoding="utf-8")
    cache = PhraseCache(NoiseSynthesizer(), tmp_path / "cache")
    timeline = pipeline.plan(pipeline.load(str(path)), Settings(), cache)
    cues = CueCache(tmp_path / "cache", FORMAT)
    return Setup(timeline, cache, cues)


def play(
    device: sound.SoundDevice,
    setup: Setup,
    script: list[tuple[float, Command]],
    start_ms: int = 0,
    probes: list[tuple[float, Callable[[], None]]] | None = None,
) -> Played:
    """Play in this process, sending ``script`` commands (seconds after playback started)."""
    playback = LivePlayback(
        setup.timeline, setup.cache.pcm, SimpleaudioPlayer(), start_ms=start_ms, cues=setup.cues
    )
    sent: list[tuple[float, Command]] = []

    def drive() -> None:
        while playback.first_sound_s is None:
            time.sleep(0.005)
        t0 = playback.first_sound_s
        events = sorted([(at, c) for at, c in script] + list(probes or []), key=lambda x: x[0])
        for at, what in events:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            if isinstance(what, Command):
                sent.append((time.monotonic(), what))
                playback.send(what)
            else:
                what()

    with device.record() as recorder:
        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        started = time.monotonic()
        playback.run()
        driver.join(timeout=5)
    return Played(playback, recorder.samples(), recorder, sent, started)


def first_content(recording: np.ndarray, reference: np.ndarray, start: int = 0) -> int:
    """Where the reference's first sound is in the recording (the first non-silent frame,
    then the exact match within 50 ms of it)."""
    loud = int(np.nonzero(recording[start:])[0][0]) + start
    onset = int(np.nonzero(reference)[0][0])
    probe = reference[onset : onset + RATE // 4]
    window = RATE // 20
    at = sound.find(probe, recording, max(0, loud - window), loud + window + len(probe))
    return at - onset


def cue_onset_errors_ms(setup: Setup, recording: np.ndarray, at: int) -> list[float]:
    """For every cue of the plan, how far from its planned start (``at`` being where the
    plan's first frame is in the recording) it was found, within 100 ms either side."""
    errors = []
    for event in (e for e in setup.timeline.events if isinstance(e, Tone)):
        pcm = np.frombuffer(setup.cues(event.cue), dtype="<i2").astype(np.int32)
        expected = at + FORMAT.frames(event.start_ms)
        search = RATE // 10
        found = sound.find(pcm, recording, expected - search, expected + search + len(pcm))
        errors.append(abs(ms(found - expected)))
    return errors


def differing(recording: np.ndarray, at: int, reference: np.ndarray) -> int:
    """How many frames of ``reference`` differ from the recording placed at ``at``."""
    got = recording[at : at + len(reference)]
    assert len(got) == len(reference), "the recording ends early"
    return int(np.count_nonzero(got != reference))


@pytest.mark.sound
@pytest.mark.ffmpeg
def test_the_routine_plays_sample_for_sample_as_exported_with_cues_on_time(
    sound_device: sound.SoundDevice, setup: Setup, tmp_path: Path
) -> None:
    timeline = setup.timeline
    hold = timeline.holds[0]
    cpu: dict[str, float] = {}

    def cpu_at(name: str) -> Callable[[], None]:
        return lambda: cpu.__setitem__(name, time.process_time())

    window = (hold.start_ms / 1000 + 0.5, hold.end_ms / 1000 - 0.5)
    played = play(
        sound_device, setup, [], probes=[(window[0], cpu_at("from")), (window[1], cpu_at("to"))]
    )
    ref = setup.reference()
    rec = played.recording
    at = first_content(rec, ref)
    assert played.playback.segments == [(0, len(ref))]
    assert differing(rec, at, ref) == 0  # sample for sample
    assert not rec[at + len(ref) :].any()

    # the exported MP3, decoded, is the same audio (up to the MP3 encoding)
    routine = pipeline.load(str(tmp_path / "routine" / "tiny.routine.yaml"))
    _, result = pipeline.export(routine, Settings(), setup.cache, tmp_path / "export")
    decoded = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(result.full.path),
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
    mp3 = np.frombuffer(decoded, dtype="<i2").astype(np.int32)
    probe = mp3[RATE : 3 * RATE]
    found = sound.find(probe, rec)
    offset = found - RATE  # where the MP3's first frame is in the recording
    n = min(len(mp3), len(rec) - offset)
    assert sound.similarity(rec[offset : offset + n], mp3[:n]) > 0.95
    assert abs(offset - at) < RATE // 10  # the MP3 has the encoder's delay and padding

    # every cue starts where the plan puts it, relative to the first sound
    errors = cue_onset_errors_ms(setup, rec, at)
    assert len(errors) >= 8 and max(errors) <= 30
    sound.MEASUREMENTS["cue onset error, short routine (median / worst)"] = (
        f"{np.median(errors):.1f} ms / {max(errors):.1f} ms over {len(errors)} cues"
    )
    # holding is cheap: the engine sleeps, the device's thread copies 88 kB a second
    load = (cpu["to"] - cpu["from"]) / (window[1] - window[0])
    sound.MEASUREMENTS["CPU while holding (in-process engine + device thread)"] = (
        f"{100 * load:.1f} % of one core"
    )
    assert load < 0.10
    first = played.recorder.time_at(int(np.nonzero(rec)[0][0])) - played.started_s
    sound.MEASUREMENTS["first sound after run() (in-process, planned)"] = f"{first:.3f} s"


@pytest.mark.long
@pytest.mark.sound
@pytest.mark.espeak
def test_the_whole_default_routine_plays_as_exported_with_every_cue_on_time(
    sound_device: sound.SoundDevice, tmp_path: Path
) -> None:
    # about 15 minutes: run with ./dev.sh test -m long
    settings = Settings()
    cache = pipeline.make_cache(settings, cache_dir=tmp_path / "cache")
    timeline = pipeline.plan(pipeline.load(None), settings, cache)
    setup = Setup(timeline, cache, CueCache(tmp_path / "cache", FORMAT))
    played = play(sound_device, setup, [])
    ref = setup.reference()
    rec = played.recording
    at = first_content(rec, ref)
    assert played.playback.segments == [(0, len(ref))]
    assert differing(rec, at, ref) == 0
    errors = cue_onset_errors_ms(setup, rec, at)
    sound.MEASUREMENTS["cue onset error, whole default routine (median / worst)"] = (
        f"{np.median(errors):.1f} ms / {max(errors):.1f} ms over {len(errors)} cues, "
        f"{len(ref) / RATE:.0f} s played, 0 samples differing"
    )
    assert len(errors) >= 50 and max(errors) <= 30


@pytest.mark.sound
def test_pause_really_stops_the_sound_and_resume_continues_where_it_stopped(
    sound_device: sound.SoundDevice, setup: Setup
) -> None:
    chapter = next(c for c in setup.timeline.chapters if c.exercise == "squeeze")
    played = play(
        sound_device,
        setup,
        [(1.0, Command.TOGGLE), (3.0, Command.TOGGLE), (4.5, Command.STOP)],
        start_ms=chapter.start_ms,
    )
    ref, rec = setup.reference(), played.recording
    (start, cut), (resumed, _end) = played.playback.segments
    assert start == FORMAT.frames(chapter.start_ms) and resumed == cut
    at = first_content(rec, ref[start:])
    # before the pause: exactly the routine, up to the cut
    assert differing(rec, at, ref[start:cut]) == 0
    paused_at = at + cut - start  # where the sound stopped, in the recording
    pause_ack = np.frombuffer(ack_pcm(Ack.PAUSE), dtype="<i2").astype(np.int32)
    assert differing(rec, paused_at, pause_ack) == 0
    # while paused: silence, until the resume sound
    resume_ack = np.frombuffer(ack_pcm(Ack.RESUME), dtype="<i2").astype(np.int32)
    quiet_from = paused_at + len(pause_ack)
    resume_at = sound.find(resume_ack, rec, quiet_from)
    assert ms(resume_at - quiet_from) > 1_200
    assert not rec[quiet_from:resume_at].any()
    # after it: the routine again, from where it stopped; found without being told where
    content = resume_at + FORMAT.frames(ACK_MS[Ack.RESUME] + PREROLL_GAP_MS)
    piece = rec[content : content + RATE // 2]
    window = FORMAT.frames(2_000)
    continued = sound.find(piece, ref, cut - window, cut + window + len(piece))
    error_ms = ms(continued - cut)
    assert abs(error_ms) <= 50
    assert differing(rec, content, ref[cut : cut + FORMAT.frames(1_000)]) == 0
    # the key took effect within a fifth of a second
    pressed_s = played.sent[0][0]
    latency = played.recorder.time_at(paused_at) - pressed_s
    assert latency < 0.35
    sound.MEASUREMENTS["pause/resume position error"] = f"{error_ms:.1f} ms"
    sound.MEASUREMENTS["pause key -> sound stops"] = f"{1000 * latency:.0f} ms"
    assert played.playback.status().state is State.STOPPED


@pytest.mark.sound
def test_next_jumps_to_the_next_section(sound_device: sound.SoundDevice, setup: Setup) -> None:
    timeline = setup.timeline
    played = play(sound_device, setup, [(0.5, Command.NEXT), (2.5, Command.STOP)])
    ref, rec = setup.reference(), played.recording
    (_, cut), (target, _end) = played.playback.segments
    assert target == FORMAT.frames(timeline.sections[1].start_ms)
    at = first_content(rec, ref)
    assert differing(rec, at, ref[:cut]) == 0
    # the next section's audio, after the skip sound, found without being told where
    next_ack = np.frombuffer(ack_pcm(Ack.NEXT), dtype="<i2").astype(np.int32)
    ack_at = sound.find(next_ack, rec, at + cut)
    content = ack_at + FORMAT.frames(ACK_MS[Ack.NEXT] + PREROLL_GAP_MS)
    piece = rec[content : content + RATE // 2]
    found = sound.find(piece, ref)
    assert abs(ms(found - target)) <= 30
    assert differing(rec, content, ref[target : target + RATE]) == 0


# ---- the command, end to end, in a pseudo-terminal


_CHILD = (
    "import fcntl, os, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"  # the pty becomes its terminal: Ctrl-C works
    "os.execv(sys.executable, [sys.executable, '-m', 'voiceguide', *sys.argv[1:]])\n"
)


class Terminal:
    """``voiceguide ARGS`` on a pseudo-terminal: keys go in, the screen is collected."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x18\x00\x64\x00\x00\x00\x00\x00")  # 24x100
        self.slave = slave
        self.mode = termios.tcgetattr(slave)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )
        self.screen = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.screen += data

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout_s: float = 30) -> int:
        code = self.process.wait(timeout=timeout_s)
        time.sleep(0.1)
        self.mode_after = termios.tcgetattr(self.slave)
        os.close(self.slave)
        self._reader.join(timeout=2)
        os.close(self.master)
        return code

    def text(self) -> str:
        return self.screen.decode("utf-8", "replace")


@pytest.mark.sound
@pytest.mark.espeak
def test_voiceguide_play_in_a_terminal_with_real_keys_and_real_speech(
    sound_device: sound.SoundDevice, tmp_path: Path
) -> None:
    path = write_tiny_routine(tmp_path / "routine")
    env = {
        **sound_device.process_env(),
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "24",
    }
    args = ["play", str(path), "--from", "stretch"]
    with sound_device.record() as recorder:
        # cold: nothing synthesized yet; q stops it once it is heard
        cold_term = Terminal(args, env)
        cold = recorder.time_at(recorder.wait_for_sound()) - cold_term.started
        time.sleep(0.5)
        cold_term.press(b"q")
        cold_code = cold_term.finish()
        # the plan, as the player makes it (this synthesizes what the player did not yet)
        settings = Settings()
        cache = pipeline.make_cache(settings, cache_dir=tmp_path / "cache")
        timeline = pipeline.plan(pipeline.load(str(path)), settings, cache)
        chapter = next(c for c in timeline.chapters if c.exercise == "stretch")
        hold = timeline.holds[0]
        left = next(s for s in timeline.sections if s.side == "left" and s.chapter == chapter.index)
        assert left.start_ms < hold.end_ms and left.end_ms - hold.end_ms >= 1_000  # time for keys
        # warm, with keys
        since = len(recorder.samples())
        term = Terminal(args, env)
        first = recorder.wait_for_sound(since)
        warm = recorder.time_at(first) - term.started
        t0 = recorder.time_at(first)  # about when the chapter's first frame played
        # CPU while holding, display and all
        time.sleep(
            max(0.0, t0 + (hold.start_ms - chapter.start_ms) / 1000 + 0.5 - time.monotonic())
        )
        cpu_from, wall_from = cpu_s(term.process.pid), time.monotonic()
        time.sleep(3.0)
        cpu_load = (cpu_s(term.process.pid) - cpu_from) / (time.monotonic() - wall_from)
        # space: pause (just before the end tone); space: resume; right arrow, while still on
        # the left side: the next side; Esc: stop. Where it is when the arrow is pressed is
        # timed from the resume, so the phrases' lengths do not matter.
        time.sleep(max(0.0, t0 + (hold.end_ms - chapter.start_ms) / 1000 - 0.25 - time.monotonic()))
        term.press(b" ")
        paused_s = time.monotonic()
        time.sleep(1.5)
        term.press(b" ")
        time.sleep((ACK_MS[Ack.RESUME] + PREROLL_GAP_MS) / 1000 + 0.75)
        term.press(b"\x1b[C")
        time.sleep(2.0)
        term.press(b"\x1b")
        code = term.finish()
        # Ctrl-C stops it too
        term2 = Terminal(args, env)
        recorder.wait_for_sound(len(recorder.samples()))
        time.sleep(0.5)
        term2.press(b"\x03")
        code2 = term2.finish()
    rec = recorder.samples()
    assert cold_code == 0 and "Traceback" not in cold_term.text(), cold_term.text()[-2000:]
    screen = term.text()
    assert code == 0, screen[-2000:]
    assert "Traceback" not in screen
    assert "Stopped at" in screen and "Stretch" in screen
    assert term.mode_after == term.mode  # the terminal is back as it was
    assert code2 == 130 and term2.mode_after == term2.mode
    assert "Traceback" not in term2.text()

    ref = np.frombuffer(
        render(timeline, cache.pcm, cues=CueCache(cache.directory.parent, FORMAT)), dtype="<i2"
    ).astype(np.int32)
    start = FORMAT.frames(chapter.start_ms)
    at = first_content(rec, ref[start:], since)
    # up to the pause: the routine as export renders it
    pause_ack = np.frombuffer(ack_pcm(Ack.PAUSE), dtype="<i2").astype(np.int32)
    paused_at = sound.find(pause_ack, rec, at)
    assert differing(rec, at, ref[start : start + paused_at - at]) == 0
    assert recorder.time_at(paused_at) - paused_s < 0.35
    # the pause is silent, then it goes on where it stopped
    resume_ack = np.frombuffer(ack_pcm(Ack.RESUME), dtype="<i2").astype(np.int32)
    resume_at = sound.find(resume_ack, rec, paused_at + len(pause_ack))
    assert not rec[paused_at + len(pause_ack) : resume_at].any()
    content = resume_at + FORMAT.frames(ACK_MS[Ack.RESUME] + PREROLL_GAP_MS)
    cut = start + paused_at - at
    continued = sound.find(
        rec[content : content + RATE // 2], ref, cut - RATE, cut + RATE + RATE // 2
    )
    assert abs(ms(continued - cut)) <= 50
    # the right arrow went to the next side
    next_ack = np.frombuffer(ack_pcm(Ack.NEXT), dtype="<i2").astype(np.int32)
    next_at = sound.find(next_ack, rec, content)
    right = next(s for s in timeline.sections if s.side == "right" and s.chapter == chapter.index)
    after = next_at + FORMAT.frames(ACK_MS[Ack.NEXT] + PREROLL_GAP_MS)
    found = sound.find(rec[after : after + RATE // 2], ref, start)
    assert abs(ms(found - FORMAT.frames(right.start_ms))) <= 30
    # Esc: the stop sound
    stop_ack = np.frombuffer(ack_pcm(Ack.STOP), dtype="<i2").astype(np.int32)
    stop_at = sound.find(stop_ack, rec, after)
    assert sound.similarity(rec[stop_at : stop_at + len(stop_ack)], stop_ack) > 0.99

    sound.MEASUREMENTS["time to first sound, cold (espeak-ng, nothing cached)"] = f"{cold:.2f} s"
    sound.MEASUREMENTS["time to first sound, warm (voiceguide play in a terminal)"] = (
        f"{warm:.2f} s"
    )
    sound.MEASUREMENTS["CPU while holding (voiceguide play, display on)"] = (
        f"{100 * cpu_load:.1f} %"
    )
    assert warm < 1.5
    assert cpu_load < 0.15


@pytest.mark.parametrize(
    "default",
    [
        "pcm.!default { type hw card 42 }",
        # ALSA's library prints 8 lines of its own for this one (no card 42 to default to)
        "defaults.pcm.card 42\ndefaults.ctl.card 42",
    ],
)
def test_no_sound_device_is_one_line_exit_1_suggesting_export(tmp_path: Path, default: str) -> None:
    conf = tmp_path / "asound.conf"
    conf.write_text(f"</usr/share/alsa/alsa.conf>\n{default}\n")
    routine = write_tiny_routine(tmp_path / "routine")
    env = {**os.environ, "ALSA_CONFIG_PATH": str(conf), "PULSE_SERVER": "unix:/nonexistent"}
    env.pop("PULSE_CLIENTCONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "play", str(routine)],
        capture_output=True,
        text=True,
        env={**env, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "c")},
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "voiceguide export" in lines[0] and "sound device" in lines[0]


def test_device_errors_read_as_what_happened() -> None:
    from voiceguide.play.simpleaudio_player import _describe

    busy = _describe(
        Exception("Error opening PCM device. -- CODE: -16 -- MSG: Device or resource busy")
    )
    assert busy.startswith("the sound device is busy") and "voiceguide export" in busy
    absent = _describe(
        Exception("Error opening PCM device. -- CODE: -2 -- MSG: No such file or directory")
    )
    assert absent.startswith("no sound device could be opened (ALSA: No such file or directory)")
