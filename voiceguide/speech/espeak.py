"""espeak-ng through pyttsx3, in worker processes: the default speech engine.

Synthesis calls libespeak-ng directly (our ctypes binding, :mod:`.libespeak`), in espeak-ng's
synchronous mode, one forked process per phrase (see below); ``voiceguide voices`` uses
pyttsx3's engine. pyttsx3 is imported only here.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from voiceguide.errors import DependencyMissing, Interrupted, SettingsError, SynthesisError
from voiceguide.routine.text import did_you_mean, speakable
from voiceguide.speech.base import short
from voiceguide.speech.workers import WorkerEngine, WorkerSynthesizer, wav_complete

if TYPE_CHECKING:
    from voiceguide.speech.libespeak import LibEspeak

__all__ = ["Pyttsx3Synthesizer", "espeak_engine", "espeak_rate_for"]


# espeak-ng's rate -> the words a minute a listener counts at it (the words of the bundled
# scripts divided by the seconds from each phrase's first sound to its last), measured on
# the 72 phrases (1,041 words) of the default routine with gmw/en-us.
_LISTENER_WPM_AT_RATE = (
    (80, 93.2),
    (100, 110.5),
    (120, 132.8),
    (140, 155.9),
    (160, 178.2),
    (200, 224.1),
    (250, 280.6),
    (350, 397.3),
    (450, 499.4),
)
_RATE_RANGE = (80, 450)  # what espeak-ng accepts


def espeak_rate_for(rate_wpm: int) -> int:
    """The espeak-ng rate at which it speaks ``rate_wpm`` words a minute as a listener counts
    them (interpolated in the measured table; espeak-ng's slowest is 93, its fastest 499)."""
    points = _LISTENER_WPM_AT_RATE
    i = min(max(1, sum(1 for _rate, wpm in points if wpm < rate_wpm)), len(points) - 1)
    (r0, w0), (r1, w1) = points[i - 1], points[i]
    rate = round(r0 + (rate_wpm - w0) * (r1 - r0) / (w1 - w0))
    return min(max(rate, _RATE_RANGE[0]), _RATE_RANGE[1])


class Pyttsx3Synthesizer(WorkerSynthesizer):
    """pyttsx3 on espeak-ng, in worker processes (several at once use every core; a phrase
    on which the engine hangs is stopped by a timeout). ``rate_wpm`` is espeak-ng's own rate
    (:func:`espeak_rate_for` turns a listener's words a minute into it)."""

    engine_name: ClassVar[str] = "espeak-ng"
    cost_s_per_word: ClassVar[float] = 0.005  # synthesis time per word on one core, measured
    cost_s_per_phrase: ClassVar[float] = 0.03  # finishing a phrase (loudness, rate), measured
    preload: ClassVar[tuple[str, ...]] = (__name__,)  # this module: its workers speak with it

    def worker_engine(self) -> WorkerEngine:
        return _worker_setup, (self.voice, self.rate_wpm), _worker_synthesize

    @property
    def identity(self) -> str:
        return f"pyttsx3-espeak|{self.voice}|{self.rate_wpm}"

    def before_synthesis(self) -> None:
        # espeak-ng's data checked here first: one line at once, no worker started
        problem = _data_problem(_espeak_binding())
        if problem is not None:
            raise DependencyMissing(problem)


# ---- inside a worker process
#
# Why every phrase is spoken in a process of its own: libespeak-ng keeps state from one
# utterance to the next that no call resets. The one that matters is the position in its
# pitch "flutter" table (a function-level static in wavegen.c, ``Flutter_ix``), which
# advances with every 64 samples spoken and wraps only after 368 steps: the same text came
# out a few samples to tens of milliseconds longer or shorter, with other pitch detail,
# depending on what the worker had spoken before (resetting that one word of the library's
# memory made every phrase identical to the espeak-ng command line's). So
# the worker sets espeak-ng up once (library loaded, voice and rate set, nothing spoken)
# and forks for each phrase: the child speaks into the WAV from that pristine state and
# exits. A phrase is then the same bytes every time, in any order, as the espeak-ng
# command line writes; a fork is cheap next to speaking.

_worker_voice: tuple[str, int] = ("", 0)
_worker_espeak: LibEspeak | None = None  # libespeak-ng, set up
_worker_rate_hz = 0
_worker_samples: list[bytes] = []
_libc: Any = None
_PR_SET_PDEATHSIG = 1


def _worker_setup(voice: str, rate_wpm: int) -> None:
    global _worker_voice
    _worker_voice = (voice, rate_wpm)


def espeak_engine() -> Any:
    """This process's pyttsx3 engine on espeak-ng, or a clear error saying what to install."""
    try:
        import pyttsx3
    except ImportError as error:  # pragma: no cover - a broken install
        raise DependencyMissing(
            f"pyttsx3 is not installed ({error}); pip install pyttsx3"
        ) from None
    started_s = time.monotonic()
    problem = _data_problem(_espeak_binding())  # else the library prints and exits
    if problem is not None:
        raise DependencyMissing(problem)
    try:
        return pyttsx3.init("espeak")
    except Exception as error:
        _interrupted_since(started_s)
        raise DependencyMissing(
            f"espeak-ng is not available ({error}); install it: sudo apt-get install espeak-ng"
        ) from None


def _espeak_binding() -> LibEspeak:
    """libespeak-ng, loaded (our binding of it)."""
    from voiceguide.speech import libespeak

    try:
        return libespeak.load()
    except OSError as error:
        raise DependencyMissing(
            f"espeak-ng is not available ({error}); install it: sudo apt-get install espeak-ng"
        ) from None


def _interrupted_since(started_s: float) -> None:
    """Raise the Ctrl-C (or SIGTERM) that came while pyttsx3 loaded espeak-ng, if one did:
    pyttsx3 takes any Exception of loading for a missing library ("you probably do not
    have eSpeak")."""
    interrupt = Interrupted.raised_since(started_s)
    if interrupt is not None:
        raise interrupt


# What espeak_Initialize reads first; without any of them the library prints an error for
# each and calls exit(1), from inside the process that loaded it.
_DATA_FILES = ("phontab", "phonindex", "phondata", "intonations")
_DATA_HINT = "install it: sudo apt-get install --reinstall espeak-ng-data"


def _data_problem(espeak: LibEspeak) -> str | None:
    """What is wrong with the data folder libespeak-ng is about to use (found the way it
    finds it: ``$ESPEAK_DATA_PATH``, ``~/espeak-ng-data``, the folder it was built with), or
    None. Asks the library for the folder without starting it."""
    folder = espeak.data_folder()
    if folder is None:  # not espeak-ng (the old espeak): nothing to ask
        return None
    if not folder.is_dir():
        return f"espeak-ng's data folder {folder} is missing; {_DATA_HINT}"
    missing = [name for name in _DATA_FILES if not (folder / name).is_file()]
    if missing:
        return (
            f"espeak-ng's data folder {folder} is incomplete (no {', '.join(missing)}); "
            f"{_DATA_HINT}"
        )
    return None


def _worker_ready() -> LibEspeak:
    """espeak-ng set up in this worker: synchronous output into :func:`_collect`, the voice
    and the rate set (and read back), nothing spoken yet."""
    global _worker_espeak, _worker_rate_hz, _libc
    if _worker_espeak is not None:
        return _worker_espeak
    import ctypes

    from voiceguide.speech.libespeak import AUDIO_OUTPUT_SYNCHRONOUS, RATE

    voice, rate_wpm = _worker_voice
    espeak = _espeak_binding()
    problem = _data_problem(espeak)  # else the library prints and exits, and the pool waits
    if problem is not None:
        raise DependencyMissing(problem)
    rate_hz = espeak.initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0)
    if rate_hz <= 0:
        raise DependencyMissing(
            "espeak-ng could not start (its data folder is missing or damaged); "
            "reinstall it: sudo apt-get install --reinstall espeak-ng espeak-ng-data"
        )
    voices = sorted(v.lower() for v in espeak.voice_ids())
    if voice not in voices:
        raise SettingsError(
            f"--voice {voice!r}: espeak-ng has no such voice{did_you_mean(voice, voices, n=3)}"
            "; 'voiceguide voices' lists them"
        )
    if espeak.set_voice_by_name(voice) != 0:
        raise SynthesisError(f"espeak-ng could not load the voice {voice!r}")
    current = None
    for _attempt in range(_ATTEMPTS):  # read back: a rate lost made a worker 20 % faster
        espeak.set_parameter(RATE, rate_wpm, 0)
        current = espeak.current(RATE)
        if current == rate_wpm:
            break
    else:
        raise SynthesisError(
            f"espeak-ng kept the rate at {current} words per minute instead of {rate_wpm}"
        )
    espeak.set_synth_callback(_collect)
    _libc = ctypes.CDLL(None, use_errno=True)
    _worker_rate_hz = rate_hz
    _worker_espeak = espeak
    return espeak


def _collect(wav: Any, count: int, events: Any) -> int:
    """espeak-ng's synthesis callback: keep the samples (returning 0 goes on)."""
    import ctypes

    if count > 0:
        _worker_samples.append(ctypes.string_at(wav, count * 2))
    return 0


def _worker_synthesize(text: str, wav_path: str) -> None:
    spoken = speakable(text)
    if not spoken:
        raise SynthesisError(f"nothing to speak in the phrase {short(text)}")
    espeak = _worker_ready()
    path = Path(wav_path)
    path.unlink(missing_ok=True)
    parent = os.getpid()
    with warnings.catch_warnings():  # Python 3.12+ warns of threads: the child uses none
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - the child (coverage does not follow it)
        code = 1
        try:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the worker
            if os.getppid() == parent:
                code = _speak_into(espeak, spoken, path)
        finally:
            os._exit(code)
    status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if status < 0:
        raise SynthesisError(
            f"espeak-ng crashed on the phrase {short(text)} ({signal.Signals(-status).name})"
        )
    if status == _NO_AUDIO or not wav_complete(path):
        raise SynthesisError(f"espeak-ng produced no audio for the phrase {short(text)}")
    if status != 0:
        raise SynthesisError(f"espeak-ng failed on the phrase {short(text)}")


_NO_AUDIO = 3
_ATTEMPTS = 3


def _speak_into(espeak: LibEspeak, text: str, path: Path) -> int:
    """In the forked child: speak ``text`` into a WAV at ``path``; the exit code."""
    from voiceguide.speech.libespeak import CHARS_UTF8, ENDPAUSE

    _worker_samples.clear()
    if espeak.synth(text.encode("utf-8"), ENDPAUSE | CHARS_UTF8) != 0:
        return 1
    data = b"".join(_worker_samples)
    if not data:
        return _NO_AUDIO
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(_worker_rate_hz)
        w.writeframes(data)
    return 0
