"""espeak-ng through pyttsx3, in worker processes: the default speech engine.

pyttsx3's engine is a per-process singleton whose rate only takes effect when set before
the first phrase, so each voice/rate gets fresh processes (see :mod:`.workers`). pyttsx3 is
imported only here.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from voiceguide.errors import DependencyMissing, SettingsError, SynthesisError
from voiceguide.routine.text import did_you_mean, speakable
from voiceguide.speech.base import short
from voiceguide.speech.workers import SYNTH_TIMEOUT_S, WorkerSynthesizer, start_worker, wav_complete

__all__ = ["Pyttsx3Synthesizer", "espeak_engine"]

_ATTEMPTS = 3
_FILE_WAIT_S = 2.0  # after the engine says it is done


class Pyttsx3Synthesizer(WorkerSynthesizer):
    """pyttsx3 on espeak-ng, in worker processes (several at once use every core; a phrase
    on which the engine hangs is stopped by a timeout)."""

    engine_name: ClassVar[str] = "espeak-ng"

    def __init__(self, voice: str, rate_wpm: int, timeout_s: float = SYNTH_TIMEOUT_S,
                 workers: int | None = None) -> None:  # fmt: skip
        super().__init__(_worker_start, (voice, rate_wpm), _worker_synthesize, timeout_s, workers)
        self.voice = voice
        self.rate_wpm = rate_wpm

    @property
    def identity(self) -> str:
        return f"pyttsx3-espeak|{self.voice}|{self.rate_wpm}"


# ---- inside a worker process

_worker_engine: Any = None
_worker_voice: tuple[str, int] = ("", 0)
_worker_done = threading.Event()
_worker_errors: list[BaseException] = []


def _worker_start(voice: str, rate_wpm: int) -> None:
    global _worker_voice
    _worker_voice = (voice, rate_wpm)
    start_worker()


def espeak_engine() -> Any:
    """This process's pyttsx3 engine on espeak-ng, or a clear error saying what to install."""
    try:
        import pyttsx3
    except ImportError as error:  # pragma: no cover - a broken install
        raise DependencyMissing(
            f"pyttsx3 is not installed ({error}); pip install pyttsx3"
        ) from None
    try:
        return pyttsx3.init("espeak")
    except Exception as error:
        raise DependencyMissing(
            f"espeak-ng is not available ({error}); install it: sudo apt-get install espeak-ng"
        ) from None


def _worker_engine_ready() -> Any:
    global _worker_engine
    if _worker_engine is not None:
        return _worker_engine
    voice, rate_wpm = _worker_voice
    engine = espeak_engine()
    voices = sorted(v.id for v in engine.getProperty("voices"))
    if voice not in voices:
        raise SettingsError(
            f"--voice {voice!r}: espeak-ng has no such voice{did_you_mean(voice, voices, n=3)}"
            "; 'voiceguide voices' lists them"
        )
    engine.connect("finished-utterance", lambda name=None, completed=True: _worker_done.set())
    engine.connect("error", _worker_error)
    _apply_voice(engine, voice, rate_wpm)  # once, before the first phrase
    _worker_engine = engine
    return engine


def _apply_voice(engine: Any, voice: str, rate_wpm: int) -> None:
    """Set the voice and the rate, and make sure espeak-ng really took the rate.

    Until its loop has run once, pyttsx3 holds property changes back; its loop then hands
    them to espeak-ng's command queue and, in the same step, stops whatever espeak-ng is
    doing (``espeak_Cancel``, which also drops queued commands). Now and then (3 fresh
    processes in 200 measured here) that dropped the new rate, and every phrase of the
    worker came out at pyttsx3's default 200 words per minute: 20 % faster than the rest.
    So the loop runs once first (from then on pyttsx3 applies properties at once), and the
    rate espeak-ng ends up with is read back until it is the one asked for.
    """
    from pyttsx3.drivers import _espeak

    engine.runAndWait()  # nothing to say yet: starts pyttsx3's loop once
    current = None
    for _attempt in range(_ATTEMPTS):
        engine.setProperty("voice", voice)
        engine.setProperty("rate", rate_wpm)
        _espeak.Synchronize()  # until espeak-ng's queue has run them
        current = _espeak_current_rate(_espeak.dll)
        if current == rate_wpm:
            return
    raise SynthesisError(
        f"espeak-ng kept the rate at {current} words per minute instead of {rate_wpm}"
    )


def _espeak_current_rate(dll: Any) -> int:
    """espeak-ng's current rate (pyttsx3's getProperty("rate") asks for the default one)."""
    import ctypes

    get = dll.espeak_GetParameter
    get.argtypes = [ctypes.c_int, ctypes.c_int]
    get.restype = ctypes.c_int
    return int(get(1, 1))  # espeakRATE, current value


def _worker_error(name: str | None = None, exception: BaseException | None = None) -> None:
    if exception is not None:
        _worker_errors.append(exception)
    _worker_done.set()


def _worker_synthesize(text: str, wav_path: str) -> None:
    spoken = speakable(text)
    if not spoken:
        raise SynthesisError(f"nothing to speak in the phrase {short(text)}")
    engine = _worker_engine_ready()
    from pyttsx3.drivers import _espeak  # loaded by now (by the engine)

    # pyttsx3's espeak driver now and then finishes an utterance with no audio at all (an
    # empty WAV; 2 phrases in 2,960 measured here): such a phrase is simply spoken again.
    for _attempt in range(_ATTEMPTS):
        path = Path(wav_path)
        path.unlink(missing_ok=True)
        _worker_done.clear()
        _worker_errors.clear()
        _espeak.Synchronize()  # else pyttsx3 cancels the tail of the last phrase, and more
        engine.save_to_file(spoken, wav_path)  # one save_to_file per runAndWait
        engine.runAndWait()
        # runAndWait() can return before the file is written (pyttsx3 issue #219): wait
        # for the finished-utterance callback, then for the file (the parent's timeout
        # bounds the whole wait).
        while not _worker_done.is_set():
            time.sleep(0.005)
        if _worker_errors:
            raise SynthesisError(
                f"espeak-ng failed on the phrase {short(text)}: {_worker_errors[0]}"
            )
        deadline = time.monotonic() + _FILE_WAIT_S
        while time.monotonic() < deadline:
            if wav_complete(path):
                return
            time.sleep(0.005)
    raise SynthesisError(f"espeak-ng produced no audio for the phrase {short(text)}")
