"""Speech: the synthesizer interface, the pyttsx3/espeak-ng backend, and the phrase cache.

Every phrase is synthesized once per (engine, voice, rate, text), converted to the one
audio format, and kept in the user's cache folder; changing hold lengths re-synthesizes
nothing. pyttsx3 is imported only inside :class:`Pyttsx3Synthesizer`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from voiceguide.errors import DependencyMissing, Interrupted, SettingsError, SynthesisError
from voiceguide.routine.text import did_you_mean, speakable
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.loudness import PIECE_OFFSET_LU, TARGET_LUFS

__all__ = [
    "PhraseCache",
    "Pyttsx3Synthesizer",
    "Synthesizer",
    "default_cache_dir",
]

# Bumped whenever the processing of a phrase changes, so old cache entries are not reused.
PROCESSING_VERSION = 3  # 3: entries from before the rate was checked may be too fast
_SYNTH_TIMEOUT_S = 30.0  # per phrase; a hung engine is stopped after this
_ATTEMPTS = 3
_FILE_WAIT_S = 2.0  # after the engine says it is done
_CANCEL_POLL_S = 0.05  # how often a wait for a phrase looks for cancel()
_WORK_PREFIX = "voiceguide-tts-"  # + pid: a temporary folder of phrases being made
_CHECK_CHUNK = b"vgck"  # a cache entry's last RIFF chunk: the SHA-256 of its audio


class Synthesizer(Protocol):
    """Turns phrases into WAV files."""

    @property
    def identity(self) -> str:
        """Everything that changes the sound: engine, voice, rate (part of the cache key)."""
        ...

    def synthesize(
        self, jobs: Sequence[tuple[str, Path]], finish: Finisher | None = None,
        done: Finisher | None = None, spoken: Finisher | None = None,
    ) -> None:  # fmt: skip
        """Write each text, spoken, to its path (a WAV at any rate; mono or stereo; 16-bit),
        and call ``spoken(text, path)`` on it; then call ``finish(text, path)`` on it (in a
        worker, when there are workers) and ``done(text, path)``. The callbacks ``spoken``
        and ``done`` run in the calling thread, job by job in order: the phrases finished so
        far are kept when a later one fails or synthesis is stopped. ``spoken`` may come for
        every job before the first ``finish``: the speech's length is known early."""
        ...

    def cancel(self) -> None:
        """Stop synthesis running in another thread at once (it raises Interrupted there).
        The synthesizer is not used again."""
        ...


class Pyttsx3Synthesizer:
    """pyttsx3 on espeak-ng, in worker processes.

    pyttsx3's engine is a per-process singleton whose rate only takes effect when set before
    the first phrase, so each voice/rate gets fresh processes; running several at once
    also uses every core, and a phrase on which the engine hangs is stopped by a timeout.
    """

    def __init__(self, voice: str, rate_wpm: int, timeout_s: float = _SYNTH_TIMEOUT_S,
                 workers: int | None = None) -> None:  # fmt: skip
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.timeout_s = timeout_s
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._cancelled = threading.Event()
        self._pools: set[Any] = set()
        self._pools_lock = threading.Lock()

    @property
    def identity(self) -> str:
        return f"pyttsx3-espeak|{self.voice}|{self.rate_wpm}"

    def synthesize(
        self, jobs: Sequence[tuple[str, Path]], finish: Finisher | None = None,
        done: Finisher | None = None, spoken: Finisher | None = None,
    ) -> None:  # fmt: skip
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(jobs))
        release = _ignore_ctrl_c()
        try:
            pool = context.Pool(
                workers, initializer=_worker_start, initargs=(self.voice, self.rate_wpm)
            )
        except BaseException:
            release()
            raise
        with self._pools_lock:
            self._pools.add(pool)
        try:
            release()  # a Ctrl-C pressed while the workers started arrives here
            # every phrase is spoken first (its length is then known), then finished
            speaking = [(text, path, pool.apply_async(_worker_synthesize, (text, str(path))))
                        for text, path in jobs]  # fmt: skip
            finishing = []
            for text, path, result in speaking:
                self._wait(text, result)
                if spoken is not None:
                    spoken(text, path)
                finishing.append(
                    (text, path, pool.apply_async(_worker_finish, (text, str(path), finish)))
                )
            for text, path, result in finishing:
                self._wait(text, result)
                if done is not None:
                    done(text, path)
            pool.close()
        finally:
            with self._pools_lock:
                self._pools.discard(pool)
            pool.terminate()
            pool.join()

    def _wait(self, text: str, result: Any) -> None:
        """The phrase's result (its error raised here), watching for cancel() meanwhile."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            if self._cancelled.is_set():
                raise Interrupted()
            try:
                result.get(timeout=min(_CANCEL_POLL_S, max(0.0, deadline - time.monotonic())))
                return
            except multiprocessing.TimeoutError:
                if time.monotonic() >= deadline:
                    raise SynthesisError(
                        f"espeak-ng hung on the phrase {_short(text)} "
                        f"(no audio after {self.timeout_s:g} s)"
                    ) from None

    def cancel(self) -> None:
        self._cancelled.set()
        with self._pools_lock:
            pools = list(self._pools)
        for pool in pools:
            pool.terminate()  # its workers stop now and start no others


def _ignore_ctrl_c() -> Callable[[], None]:
    """Ignore Ctrl-C until the returned function is called, so that the processes started
    meanwhile ignore it from their first instruction (ignoring survives exec): Ctrl-C
    reaches the whole process group, and a worker still starting Python would die printing
    a KeyboardInterrupt traceback. A Ctrl-C pressed meanwhile is held (blocked), not lost."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # starting it unblocks Ctrl-C: start it first
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def release() -> None:
        signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    return release


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# ---- inside a worker process

_worker_engine: Any = None
_worker_voice: tuple[str, int] = ("", 0)
_worker_done = threading.Event()
_worker_errors: list[BaseException] = []


def _worker_start(voice: str, rate_wpm: int) -> None:
    global _worker_voice
    _worker_voice = (voice, rate_wpm)
    # Ctrl-C reaches the whole process group: the parent handles it and stops the workers
    # (a worker's own KeyboardInterrupt would only print a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL) cannot stop its workers: they stop themselves.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    # pyttsx3 prints "Audio saved to ..." (sometimes from its own thread, after runAndWait
    # returned): a worker's stdout must never reach the user's terminal or a --json pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    # Finishing needs scipy and pyloudnorm (half a second to import): imported meanwhile,
    # while espeak-ng speaks (in its own thread, mostly without the GIL).
    threading.Thread(target=_import_for_finishing, daemon=True).start()


def _import_for_finishing() -> None:
    with contextlib.suppress(Exception):  # a real failure shows when finishing
        import pyloudnorm  # noqa: F401
        import scipy.ndimage
        import scipy.signal  # noqa: F401


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


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


def _worker_finish(text: str, wav_path: str, finish: Finisher | None) -> None:
    if finish is not None:
        finish(text, Path(wav_path))


def _worker_synthesize(text: str, wav_path: str) -> None:
    spoken = speakable(text)
    if not spoken:
        raise SynthesisError(f"nothing to speak in the phrase {_short(text)}")
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
                f"espeak-ng failed on the phrase {_short(text)}: {_worker_errors[0]}"
            )
        deadline = time.monotonic() + _FILE_WAIT_S
        while time.monotonic() < deadline:
            if _wav_complete(path):
                return
            time.sleep(0.005)
    raise SynthesisError(f"espeak-ng produced no audio for the phrase {_short(text)}")


def _wav_complete(path: Path) -> bool:
    """True once the WAV holds every frame its header announces (it may still be growing)."""
    try:
        with wave.open(str(path), "rb") as w:
            expected = w.getnframes() * w.getsampwidth() * w.getnchannels()
            return expected > 0 and len(w.readframes(w.getnframes())) == expected
    except (OSError, EOFError, wave.Error):
        return False


def _sweep_work_folders() -> None:
    """Remove the temporary folders of runs that were killed (which could not do it)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_WORK_PREFIX}*"):
        pid = folder.name.removeprefix(_WORK_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's
    return True


def default_cache_dir() -> Path:
    override = os.environ.get("VOICEGUIDE_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("voiceguide", appauthor=False))


@dataclass(frozen=True)
class PhraseFinisher:
    """Turns the engine's WAV into the one format, at the target loudness with its peaks
    limited, in place. Runs in the synthesis workers, so phrases are processed in parallel."""

    fmt: AudioFormat

    def __call__(self, text: str, path: Path) -> None:
        import numpy as np

        from voiceguide.sound import loudness

        try:
            with wave.open(str(path), "rb") as w:
                width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
                raw = w.readframes(w.getnframes())
        except (OSError, EOFError, wave.Error) as error:
            raise SynthesisError(
                f"the speech engine wrote an unreadable file for {_short(text)}: {error}"
            ) from None
        if width != 2 or not raw:
            raise SynthesisError(f"the speech engine wrote no 16-bit audio for {_short(text)}")
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
        samples = samples.reshape(-1, channels).mean(axis=1)  # mono
        samples = loudness.resample(samples, rate, self.fmt.sample_rate)
        samples = loudness.normalize(samples, self.fmt.sample_rate)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
        if self.fmt.channels > 1:
            pcm = np.repeat(pcm, self.fmt.channels)
        with wave.open(str(path), "wb") as w:
            w.setframerate(self.fmt.sample_rate)
            w.setnchannels(self.fmt.channels)
            w.setsampwidth(self.fmt.sample_width)
            w.writeframes(pcm.tobytes())


Finisher = Callable[[str, Path], None]


class PhraseCache:
    """Synthesized phrases on disk, in the one audio format, keyed by synthesizer and text."""

    def __init__(self, synthesizer: Synthesizer, directory: Path | None = None,
                 fmt: AudioFormat = FORMAT) -> None:  # fmt: skip
        self.synthesizer = synthesizer
        self.directory = (directory or default_cache_dir()) / "phrases"
        self.fmt = fmt
        self._pcm: dict[str, bytes] = {}
        self.synthesized = 0  # phrases synthesized by this cache object (for tests and notes)
        # ensure(lengths_only=True): phrases whose length is known before their audio
        self._frames: dict[str, int] = {}
        self._pending: set[str] = set()
        self._failure: BaseException | None = None
        self._changed = threading.Condition()
        self._batch: threading.Thread | None = None

    def path_for(self, text: str) -> Path:
        key = "\0".join([
            self.synthesizer.identity, str(self.fmt.sample_rate), str(self.fmt.channels),
            str(self.fmt.sample_width), f"{PROCESSING_VERSION}@{TARGET_LUFS}{PIECE_OFFSET_LU:+}",
            text,
        ])  # fmt: skip
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.directory / digest[:2] / f"{digest}.wav"

    def ensure(self, texts: Iterable[str], *, lengths_only: bool = False) -> None:
        """Make sure every phrase is ready, synthesizing the missing ones together.

        With ``lengths_only`` it returns as soon as every phrase is spoken (its length is
        known, enough to plan), while the speech is still being made even in loudness in the
        background: :meth:`pcm` waits for a phrase that is not ready yet. An export renders
        and encodes the first phrases meanwhile. :meth:`close` ends that background work.
        """
        missing = []
        for text in dict.fromkeys(texts):
            if text in self._pcm or text in self._pending:
                continue
            data = self._read(self.path_for(text))
            if data is None:
                missing.append(text)
            else:
                self._pcm[text] = data
        if not missing:
            return
        if lengths_only and self._batch is None:
            self._start_batch(missing)
        else:
            self._synthesize(missing)

    def pcm(self, text: str) -> bytes:
        """The phrase as raw PCM in ``fmt``."""
        if text in self._pending:
            with self._changed:
                while text in self._pending and self._failure is None:
                    self._changed.wait()
                if text in self._pending:
                    assert self._failure is not None
                    raise self._failure
        if text not in self._pcm:
            self.ensure([text])
        return self._pcm[text]

    def measure(self, text: str) -> int:
        """How long the phrase lasts in whole ms (the compiler's ``measure``)."""
        frames = self._frames.get(text)
        if frames is None:
            frames = len(self.pcm(text)) // self.fmt.frame_bytes
        return self.fmt.ms(frames)

    def close(self, cancel: bool = False) -> None:
        """Wait for the background work of ``ensure(lengths_only=True)`` to end, or, with
        ``cancel``, stop it at once (the synthesizer is not used again)."""
        batch = self._batch
        if batch is None:
            return
        if cancel:
            self.synthesizer.cancel()
        batch.join()
        self._batch = None

    def _start_batch(self, texts: list[str]) -> None:
        with self._changed:
            self._pending.update(texts)
            self._failure = None
        self._batch = threading.Thread(target=self._run_batch, args=(texts,), daemon=True)
        self._batch.start()
        with self._changed:
            while self._failure is None and any(t not in self._frames for t in texts):
                self._changed.wait()
            if self._failure is not None:
                failure = self._failure
                self._batch.join()
                self._batch = None
                raise failure

    def _run_batch(self, texts: list[str]) -> None:
        # Ctrl-C is for the main thread (the worker processes started from here inherit
        # this thread's blocked SIGINT, so they cannot die of it while they start).
        with contextlib.suppress(AttributeError, OSError, ValueError):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._synthesize(texts, spoken=self._spoken)
        except BaseException as error:
            with self._changed:
                self._failure = error
                self._changed.notify_all()
        finally:
            with self._changed:
                if self._failure is None and self._pending & set(texts):
                    self._failure = SynthesisError("the speech engine stopped before the end")
                self._pending.difference_update(texts)
                self._changed.notify_all()

    def _spoken(self, text: str, path: Path) -> None:
        """A phrase spoken, not yet finished: its length in ``fmt``, as finishing makes it."""
        try:
            with wave.open(str(path), "rb") as w:
                frames, rate = w.getnframes(), w.getframerate()
        except (OSError, EOFError, wave.Error) as error:
            raise SynthesisError(
                f"the speech engine wrote an unreadable file for {_short(text)}: {error}"
            ) from None
        to = self.fmt.sample_rate
        with self._changed:
            self._frames[text] = -(-frames * to // rate)  # what resampling gives: ceil
            self._changed.notify_all()

    def _read(self, path: Path) -> bytes | None:
        """A valid cache entry's PCM, or None (missing, truncated, damaged or garbage: the
        phrase is synthesized again). The entry's last chunk is the SHA-256 of its audio."""
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        data = self._pcm_of_wav(raw)
        if data is None:
            return None
        if raw[-40:-32] != _CHECK_CHUNK + (32).to_bytes(4, "little"):
            return None
        if raw[-32:] != hashlib.sha256(data).digest():
            return None
        return data

    def _pcm_of_wav(self, raw: bytes) -> bytes | None:
        """The PCM of a complete WAV in this cache's format, or None."""
        try:
            with wave.open(io.BytesIO(raw), "rb") as w:
                ok = (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (
                    self.fmt.sample_rate, self.fmt.channels, self.fmt.sample_width,
                )  # fmt: skip
                frames = w.getnframes()
                data = w.readframes(frames)
        except (OSError, EOFError, wave.Error):
            return None
        if not ok or frames == 0 or len(data) != frames * self.fmt.frame_bytes:
            return None
        return data

    def _synthesize(self, texts: list[str], spoken: Finisher | None = None) -> None:
        _sweep_work_folders()
        with tempfile.TemporaryDirectory(prefix=f"{_WORK_PREFIX}{os.getpid()}-") as tmp:
            jobs = [(text, Path(tmp) / f"{i}.wav") for i, text in enumerate(texts)]
            self.synthesizer.synthesize(jobs, PhraseFinisher(self.fmt), self._keep, spoken)
            for text, _path in jobs:
                if text not in self._pcm:
                    raise SynthesisError(f"the speech engine wrote no audio for {_short(text)}")

    def _keep(self, text: str, path: Path) -> None:
        """A phrase just synthesized: into the cache at once (an interrupted first run keeps
        what it made)."""
        data = self._pcm_of_wav(path.read_bytes()) if path.exists() else None
        if data is None:
            raise SynthesisError(f"the speech engine wrote no audio for {_short(text)}")
        frames = self._frames.get(text)
        if frames is not None and frames != len(data) // self.fmt.frame_bytes:
            raise SynthesisError(  # the plan was made with the other length
                f"the phrase {_short(text)} came out {len(data) // self.fmt.frame_bytes} "
                f"frames long, not {frames} (a bug in voiceguide)"
            )
        self._write(self.path_for(text), data)
        with self._changed:
            self._pcm[text] = data
            self._pending.discard(text)
            self.synthesized += 1
            self._changed.notify_all()

    def _write(self, path: Path, data: bytes) -> None:
        """Write atomically: a reader sees the old entry, no entry, or the whole new one."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self._entry(data))
                os.replace(tmp_name, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                raise
        except OSError:
            # A cache that cannot be written only costs speed; the audio is still right.
            return

    def _entry(self, data: bytes) -> bytes:
        """A WAV of the PCM, ending with a chunk holding the audio's SHA-256 (which WAV readers
        skip), so any damage to an entry is noticed when it is read."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as w:
            w.setframerate(self.fmt.sample_rate)
            w.setnchannels(self.fmt.channels)
            w.setsampwidth(self.fmt.sample_width)
            w.writeframes(data)
        wav = bytearray(buffer.getvalue())
        if len(wav) % 2:  # RIFF chunks start on even offsets
            wav += b"\0"
        wav += _CHECK_CHUNK + (32).to_bytes(4, "little") + hashlib.sha256(data).digest()
        wav[4:8] = (len(wav) - 8).to_bytes(4, "little")
        return bytes(wav)
