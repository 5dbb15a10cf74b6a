"""Speech synthesis: the real pyttsx3/espeak-ng backend and the phrase cache."""

from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeSynthesizer
from voiceguide.errors import Interrupted, SynthesisError
from voiceguide.routine.text import speakable
from voiceguide.sound.audio import FORMAT
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.espeak import Pyttsx3Synthesizer


def _rms(pcm: bytes) -> float:
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))


@pytest.mark.espeak
def test_espeak_speaks_a_long_phrase_completely_into_the_cache(tmp_path: Path) -> None:
    cache = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path)
    long_text = (
        "Use the outstretched arm to press the knee away from the center of your body, "
        "thereby accentuating the spinal rotation and the concurrent stretch at the hip."
    )
    short_ms = cache.measure("Release.")
    long_ms = cache.measure(long_text)
    # about 27 words at 160 words a minute: roughly 10 s; "Release." well under 1.5 s
    assert 300 < short_ms < 1500
    assert 7_000 < long_ms < 14_000
    pcm = cache.pcm(long_text)
    assert _rms(pcm) > 300  # real speech, not silence
    tail = pcm[-FORMAT.frames(2000) * FORMAT.frame_bytes :]
    assert _rms(tail) > 50  # the end of the phrase is there too (not cut off early)
    with wave.open(str(cache.path_for(long_text)), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (44_100, 1, 2)


@pytest.mark.espeak
def test_rate_and_voice_change_the_audio(tmp_path: Path) -> None:
    text = "Lie on your back with your knees bent and your feet flat on the floor."
    slow = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 120), tmp_path).measure(text)
    fast = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 220), tmp_path).measure(text)
    assert slow > fast * 1.4


def test_the_cache_synthesizes_each_phrase_once_across_runs(tmp_path: Path) -> None:
    synth = FakeSynthesizer()
    first = PhraseCache(synth, tmp_path)
    first.ensure(["One.", "Two.", "One."])
    assert synth.calls == ["One.", "Two."]
    second = PhraseCache(synth, tmp_path)  # a new run, same cache folder
    assert second.pcm("One.") == first.pcm("One.")
    assert synth.calls == ["One.", "Two."]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_cache_entry_is_detected_and_synthesized_again(
    tmp_path: Path, damage: str
) -> None:
    synth = FakeSynthesizer()
    good = PhraseCache(synth, tmp_path).pcm("Hold.")
    path = PhraseCache(synth, tmp_path).path_for("Hold.")
    data = path.read_bytes()
    damaged = {"truncate": data[: len(data) // 2], "garbage": b"\x13\x37" * 500, "empty": b""}
    path.write_bytes(damaged[damage])
    again = PhraseCache(synth, tmp_path)
    assert again.pcm("Hold.") == good
    assert synth.calls == ["Hold.", "Hold."]


def test_markup_reaches_the_engine_as_plain_text() -> None:
    assert speakable('<speak>Hold <break time="10s"/> still</speak>') == "Hold still"
    assert speakable("Say [[h@'loU]] now") == "Say h@'loU now"
    assert speakable("<<>>") == ""


def _frames(path: Path) -> int:
    with wave.open(str(path), "rb") as w:
        return w.getnframes()


@pytest.mark.espeak
def test_every_worker_speaks_at_the_rate_asked_for(tmp_path: Path) -> None:
    # Each worker is a fresh espeak-ng; one whose rate was lost spoke 20 % faster (3
    # fresh processes in 200 did, before the rate was read back).
    jobs = [("Bring one knee toward your chest.", tmp_path / f"{n}.wav") for n in range(8)]
    Pyttsx3Synthesizer("gmw/en-us", 160, workers=8).synthesize(jobs)
    lengths = [_frames(path) for _, path in jobs]
    assert max(lengths) - min(lengths) <= 0.01 * max(lengths), lengths


def _speak_with_the_rate_dropped_once(wav_path: str) -> tuple[int, int]:
    """In a fresh process: espeak-ng loses the first rate it is given (as pyttsx3's loop
    could make it); the worker notices and sets it again."""
    from voiceguide.speech import espeak as tts
    from voiceguide.speech import libespeak

    binding = libespeak.load()
    real = binding.set_parameter
    calls = []

    def lose_the_rate(parameter: int, value: int, relative: int = 0) -> int:
        if parameter == libespeak.RATE:
            calls.append(1)
            if len(calls) == 1:
                value = 200  # the rate going back to the default
        return real(parameter, value, relative)

    binding.set_parameter = lose_the_rate  # type: ignore[method-assign]
    tts._worker_setup("gmw/en-us", 160)
    tts._worker_synthesize("Bring one knee toward your chest.", wav_path)
    return len(calls), binding.current(libespeak.RATE)


@pytest.mark.espeak
def test_a_rate_espeak_ng_lost_is_noticed_and_set_again(tmp_path: Path) -> None:
    import multiprocessing

    reference = tmp_path / "reference.wav"
    Pyttsx3Synthesizer("gmw/en-us", 160, workers=1).synthesize(
        [("Bring one knee toward your chest.", reference)]
    )
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        calls, rate = pool.apply(_speak_with_the_rate_dropped_once, (str(tmp_path / "x.wav"),))
    assert calls >= 2 and rate == 160
    assert abs(_frames(tmp_path / "x.wav") - _frames(reference)) <= 0.01 * _frames(reference)


# ---- lengths first: planning while the audio is still being made


class SlowFinish(FakeSynthesizer):
    """Speaks every phrase at once, then finishes them slowly (or fails on one), the way
    the real workers finish loudness after every phrase is spoken."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.finished: list[str] = []

    def synthesize(
        self, jobs: list[tuple[str, Path]], finish: Any = None, done: Any = None, spoken: Any = None
    ) -> None:
        for text, path in jobs:
            self._one(text, path)
            if spoken is not None:
                spoken(text, path)
        for text, path in jobs:
            time.sleep(0.05)
            if self.cancelled:
                raise Interrupted()
            if text == self.fail_on:
                raise SynthesisError(f"espeak-ng failed on the phrase {text!r}")
            finish(text, path)
            self.finished.append(text)
            done(text, path)


def test_lengths_first_then_the_audio_the_same_as_all_at_once(tmp_path: Path) -> None:
    texts = [f"Phrase {n}, said once." for n in range(6)]
    whole = PhraseCache(FakeSynthesizer(), tmp_path / "a")
    whole.ensure(texts)
    early = PhraseCache(SlowFinish(), tmp_path / "b")
    early.ensure(texts, lengths_only=True)
    synthesizer = early.synthesizer
    assert isinstance(synthesizer, SlowFinish)
    assert len(synthesizer.finished) < len(texts)  # returned before the audio was made
    assert [early.measure(t) for t in texts] == [whole.measure(t) for t in texts]
    assert [early.pcm(t) for t in texts] == [whole.pcm(t) for t in texts]  # waits for each
    early.close()
    again = PhraseCache(FakeSynthesizer(), tmp_path / "b")
    again.ensure(texts)
    assert again.synthesized == 0  # every entry was written whole


def test_a_phrase_failing_after_the_plan_fails_where_it_is_needed(tmp_path: Path) -> None:
    texts = [f"Phrase {n}, said once." for n in range(4)]
    cache = PhraseCache(SlowFinish(fail_on=texts[2]), tmp_path)
    cache.ensure(texts, lengths_only=True)
    assert cache.pcm(texts[1])
    with pytest.raises(SynthesisError, match="Phrase 2"):
        cache.pcm(texts[2])
    assert cache.pcm(texts[3])  # never made by the failed batch: made when asked, no hang
    cache.close()


def test_closing_with_cancel_stops_the_background_work(tmp_path: Path) -> None:
    texts = [f"Phrase {n}, said once." for n in range(40)]
    cache = PhraseCache(SlowFinish(), tmp_path)
    cache.ensure(texts, lengths_only=True)
    started = time.monotonic()
    cache.close(cancel=True)
    assert time.monotonic() - started < 0.5
    synthesizer = cache.synthesizer
    assert isinstance(synthesizer, SlowFinish) and len(synthesizer.finished) < len(texts)


def test_a_ctrl_c_while_the_workers_start_is_held_and_raised_not_lost() -> None:
    """While the worker processes start, Ctrl-C is held. The terminal's SIGINT goes to the
    whole process; with it blocked in the main thread, the kernel hands it to another
    thread (the progress bar's), where an ignored signal would be dropped: the user's
    Ctrl-C was lost and all the phrases were spoken. It must arrive when the start ends."""
    import os
    import signal
    import threading

    from voiceguide.speech.workers import _ignore_ctrl_c

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)  # as the progress bar's thread
    other.start()
    try:
        release = _ignore_ctrl_c()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)  # held: nothing raised yet
        with pytest.raises(KeyboardInterrupt):
            release()
            time.sleep(0.2)  # the handler runs at the next instruction at the latest
    finally:
        stop.set()
        other.join(5)


# ---- workers started early, while the routine loads


def _spoken(synthesizer: Pyttsx3Synthesizer, texts: list[str], folder: Path) -> list[bytes]:
    folder.mkdir()
    jobs = [(text, folder / f"{i}.wav") for i, text in enumerate(texts)]
    synthesizer.synthesize(jobs)
    return [path.read_bytes() for _text, path in jobs]


@pytest.mark.espeak
def test_a_few_phrases_are_spoken_by_the_early_worker_the_same_as_by_fresh_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from voiceguide.speech import workers

    texts = ["Hold for 37 seconds.", "Switch sides."]
    fresh = _spoken(Pyttsx3Synthesizer("gmw/en-us", 160), texts, tmp_path / "fresh")
    early = workers.EarlyWorkers(1)
    early._thread.join()  # started (before _start_pool is replaced)
    synthesizer = Pyttsx3Synthesizer("gmw/en-us", 160)
    assert synthesizer.workers_for([(t, tmp_path) for t in texts]) == 1
    synthesizer.early = early

    def no_new_pool(count: int, *_preload: Any) -> Any:
        raise AssertionError(f"a pool of {count} was started: the early worker was not taken")

    monkeypatch.setattr(workers, "_start_pool", no_new_pool)
    assert _spoken(synthesizer, texts, tmp_path / "early") == fresh  # the same bytes
    assert early.take() is None and synthesizer.early is None  # taken once, by the first
    assert not multiprocessing.active_children()  # ended with the synthesis


@pytest.mark.espeak
def test_many_phrases_get_a_pool_of_their_own_and_the_early_worker_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    from voiceguide.speech import workers

    texts = [f"Reach for your toes, round {n}, and breathe out slowly." for n in range(12)]
    synthesizer = Pyttsx3Synthesizer("gmw/en-us", 160, workers=2)
    assert synthesizer.workers_for([(t, tmp_path) for t in texts]) == 2
    started: list[int] = []
    real = workers._start_pool

    def counted(count: int, *preload: Any) -> Any:
        started.append(count)
        return real(count, *preload)

    monkeypatch.setattr(workers, "_start_pool", counted)
    early = workers.EarlyWorkers(1)
    synthesizer.early = early
    spoken = _spoken(synthesizer, texts, tmp_path / "many")
    assert started == [1, 2]  # the early worker, then the synthesis's own pool
    assert len(spoken) == len(texts) and early.take() is None
    assert not multiprocessing.active_children()


@pytest.mark.espeak
def test_early_workers_nobody_took_are_stopped_when_closed() -> None:
    import multiprocessing

    from voiceguide.speech.workers import EarlyWorkers

    with EarlyWorkers(2) as early:
        early._thread.join()
        assert len(multiprocessing.active_children()) >= 2
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()
    assert early.take() is None
