"""The same text, voice and rate give the same samples every time (issue #12, point 2, for
espeak-ng): libespeak-ng carries state from one utterance to the next (its pitch flutter
position), so each phrase is spoken in a fresh fork of a worker that has set espeak-ng up
and spoken nothing."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import sound
from tests.helpers.fake_device import write_tiny_routine
from voiceguide import pipeline
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Speech
from voiceguide.sound.audio import FORMAT
from voiceguide.sound.render import render
from voiceguide.sound.tones import CueCache
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.espeak import Pyttsx3Synthesizer


def default_routine_phrases() -> list[str]:
    """Every phrase the default routine speaks (lengths do not change which)."""
    settings = Settings()
    routine = pipeline.load(None)
    timeline = compile_routine(routine, dataclasses.replace(settings, fit_s=None), lambda t: 1_000)
    return timeline.phrases()


@pytest.mark.espeak
def test_two_cold_syntheses_of_the_default_routine_are_identical_phrase_by_phrase(
    tmp_path: Path,
) -> None:
    phrases = default_routine_phrases()
    assert len(phrases) > 50
    first = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "a")
    first.ensure(phrases)
    second = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "b")
    second.ensure(list(reversed(phrases)))  # other workers, other neighbours, other order
    assert first.synthesized == second.synthesized == len(phrases)
    different = [
        text
        for text in phrases
        if first.path_for(text).read_bytes() != second.path_for(text).read_bytes()
    ]
    assert different == []


def frames_of(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22_050)
        return w.readframes(w.getnframes())


@pytest.mark.espeak
def test_a_phrase_does_not_depend_on_what_the_worker_spoke_before(tmp_path: Path) -> None:
    """One worker speaks the same phrase after different phrases: the engine's own output,
    before any processing, is byte for byte the same, and the espeak-ng command line's."""
    phrase = "Keep the knee pointing outward."
    before = [
        [],
        ["Lie on your back with your knees bent."],
        ["Round 2 of 3.", "Stay in the stretch.", "Hello there, how are you doing today?"],
    ]
    spoken = []
    for n, others in enumerate(before):
        synthesizer = Pyttsx3Synthesizer("gmw/en-us", 160, workers=1)
        jobs = [(text, tmp_path / f"{n}-{i}.wav") for i, text in enumerate([*others, phrase])]
        synthesizer.synthesize(jobs)
        spoken.append(frames_of(jobs[-1][1]))
    command_line = tmp_path / "espeak-ng.wav"
    subprocess.run(
        ["espeak-ng", "-v", "gmw/en-us", "-s", "160", "-w", str(command_line), phrase], check=True
    )
    assert spoken[0] == spoken[1] == spoken[2] == frames_of(command_line)


@pytest.mark.sound
@pytest.mark.espeak
def test_a_cold_play_recorded_from_the_sound_device_is_the_audio_export_makes(
    sound_device: sound.SoundDevice, tmp_path: Path
) -> None:
    """``voiceguide play`` with an empty cache (it synthesizes while it plays), recorded on
    the virtual device, against the audio a cold export renders from a cache of its own."""
    path = write_tiny_routine(tmp_path / "routine")
    env = {
        **os.environ,
        **sound_device.process_env(),
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "play-cache"),
    }
    with sound_device.record() as recorder:
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "play", str(path)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            first = recorder.wait_for_sound(timeout_s=60)
            while len(recorder.samples()) < first + (LISTEN_S + 1) * sound.RATE:
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    recording = recorder.samples()
    # the export's audio, synthesized cold into another cache
    settings = Settings()
    cache = pipeline.make_cache(settings, cache_dir=tmp_path / "export-cache")
    timeline = pipeline.plan(pipeline.load(str(path)), settings, cache)
    reference = np.frombuffer(
        render(timeline, cache.pcm, cues=CueCache(tmp_path / "export-cache", FORMAT)), "<i2"
    ).astype(np.int32)
    onset = int(np.nonzero(reference)[0][0])
    at = (
        sound.find(
            reference[onset : onset + sound.RATE // 4],
            recording,
            max(0, first - sound.RATE // 20),
            first + sound.RATE // 2,
        )
        - onset
    )
    heard = recording[at : at + LISTEN_S * sound.RATE].astype(np.int32)
    if np.count_nonzero(heard != reference[: len(heard)]) == 0:
        return  # sample for sample, all along
    # A loaded machine can make playback catch up with the synthesis behind it: it then
    # waits, quietly, and goes on. So each phrase is looked for after the one before, and
    # must be there sample for sample.
    shift, checked = 0, 0
    for event in timeline.events:
        start = at + FORMAT.frames(event.start_ms) + shift
        if not isinstance(event, Speech) or start >= at + LISTEN_S * sound.RATE:
            continue
        phrase = np.frombuffer(cache.pcm(event.text), "<i2").astype(np.int32)
        if start + len(phrase) + 5 * sound.RATE > len(recording):
            break
        found = sound.find(phrase, recording, start - sound.RATE // 20, start + 5 * sound.RATE)
        assert np.array_equal(recording[found : found + len(phrase)], phrase), event.text
        shift += found - start
        checked += 1
    assert checked >= 4


LISTEN_S = 20  # the introduction and the start of the first exercise
