"""Speech: the synthesizer interface, the pyttsx3/espeak-ng backend, and the phrase cache.

Every phrase is synthesized once per (engine, voice, rate, text), converted to the one
audio format, and kept in the user's cache folder; changing hold lengths re-synthesizes
nothing. pyttsx3 is imported only inside :class:`Pyttsx3Synthesizer`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
import time
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from voiceguide.audio import FORMAT, AudioFormat
from voiceguide.errors import DependencyMissing, SynthesisError

__all__ = [
    "PhraseCache",
    "Pyttsx3Synthesizer",
    "Synthesizer",
    "default_cache_dir",
    "speakable",
]

# Bumped whenever the processing of a phrase changes, so old cache entries are not reused.
PROCESSING_VERSION = 1
_SYNTH_TIMEOUT_S = 30.0


class Synthesizer(Protocol):
    """Turns one phrase into a WAV file."""

    @property
    def identity(self) -> str:
        """Everything that changes the sound: engine, voice, rate (part of the cache key)."""
        ...

    def synthesize(self, text: str, wav_path: Path) -> None:
        """Write ``text`` spoken to ``wav_path`` (any rate; mono or stereo; 16-bit)."""
        ...


def speakable(text: str) -> str:
    """The text as the engine should get it: markup-like input is stripped, not interpreted."""
    text = re.sub(r"<[^<>]*>", " ", text)  # SSML-like tags
    text = text.replace("[[", " ").replace("]]", " ")  # espeak phoneme input
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if any(ch.isalnum() for ch in text) else ""


class Pyttsx3Synthesizer:
    """pyttsx3 on espeak-ng, in this process (pyttsx3's engine is a per-process singleton)."""

    def __init__(self, voice: str, rate_wpm: int) -> None:
        self.voice = voice
        self.rate_wpm = rate_wpm
        self._engine: Any = None
        self._done = threading.Event()
        self._errors: list[BaseException] = []

    @property
    def identity(self) -> str:
        return f"pyttsx3-espeak|{self.voice}|{self.rate_wpm}"

    def _init(self) -> Any:
        if self._engine is not None:
            return self._engine
        try:
            import pyttsx3
        except ImportError as error:  # pragma: no cover - a broken install
            raise DependencyMissing(f"pyttsx3 is not installed ({error}); pip install pyttsx3") from None
        try:
            engine = pyttsx3.init("espeak")
        except (OSError, RuntimeError, ImportError) as error:
            raise DependencyMissing(
                f"espeak-ng is not available ({error}); install it: sudo apt-get install espeak-ng"
            ) from None
        voices = {v.id for v in engine.getProperty("voices")}
        if self.voice not in voices:
            raise SynthesisError(
                f"voice '{self.voice}' is not installed; run 'voiceguide voices' to list them"
            )
        engine.setProperty("voice", self.voice)
        engine.setProperty("rate", self.rate_wpm)  # once, before the first phrase
        engine.connect("finished-utterance", self._finished)
        engine.connect("error", self._error)
        self._engine = engine
        return engine

    def _finished(self, name: str | None = None, completed: bool = True) -> None:
        self._done.set()

    def _error(self, name: str | None = None, exception: BaseException | None = None) -> None:
        if exception is not None:
            self._errors.append(exception)
        self._done.set()

    def synthesize(self, text: str, wav_path: Path) -> None:
        spoken = speakable(text)
        if not spoken:
            raise SynthesisError(f"nothing to speak in {text!r}")
        engine = self._init()
        self._done.clear()
        self._errors.clear()
        # One save_to_file per runAndWait; pyttsx3 prints "Audio saved to ..." on stdout.
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(spoken, str(wav_path))
            engine.runAndWait()
        # runAndWait() can return before the file is written (pyttsx3 issue #219).
        deadline = time.monotonic() + _SYNTH_TIMEOUT_S
        while not (self._done.is_set() and _wav_complete(wav_path)):
            if self._errors:
                raise SynthesisError(f"espeak-ng failed on {text!r}: {self._errors[0]}")
            if time.monotonic() > deadline:
                raise SynthesisError(f"espeak-ng produced no audio for {text!r} in time")
            time.sleep(0.005)


def _wav_complete(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() > 0
    except (OSError, EOFError, wave.Error):
        return False


def default_cache_dir() -> Path:
    override = os.environ.get("VOICEGUIDE_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("voiceguide", appauthor=False))


class PhraseCache:
    """Synthesized phrases on disk, in the one audio format, keyed by synthesizer and text."""

    def __init__(self, synthesizer: Synthesizer, directory: Path | None = None,
                 fmt: AudioFormat = FORMAT) -> None:  # fmt: skip
        self.synthesizer = synthesizer
        self.directory = (directory or default_cache_dir()) / "phrases"
        self.fmt = fmt
        self._pcm: dict[str, bytes] = {}
        self.synthesized = 0  # phrases synthesized by this cache object (for tests and notes)

    def path_for(self, text: str) -> Path:
        key = "\0".join([
            self.synthesizer.identity, str(self.fmt.sample_rate), str(self.fmt.channels),
            str(self.fmt.sample_width), str(PROCESSING_VERSION), text,
        ])  # fmt: skip
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.directory / digest[:2] / f"{digest}.wav"

    def ensure(self, texts: Iterable[str]) -> None:
        """Make sure every phrase is in the cache, synthesizing what is missing."""
        for text in dict.fromkeys(texts):
            self.pcm(text)

    def pcm(self, text: str) -> bytes:
        """The phrase as raw PCM in ``fmt``."""
        cached = self._pcm.get(text)
        if cached is not None:
            return cached
        path = self.path_for(text)
        data = self._read(path)
        if data is None:
            data = self._synthesize(text, path)
        self._pcm[text] = data
        return data

    def measure(self, text: str) -> int:
        """How long the phrase lasts in whole ms (the compiler's ``measure``)."""
        return self.fmt.ms(len(self.pcm(text)) // self.fmt.frame_bytes)

    def _read(self, path: Path) -> bytes | None:
        """A valid cache entry's PCM, or None (missing, truncated or garbage: re-synthesize)."""
        try:
            with wave.open(str(path), "rb") as w:
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

    def _synthesize(self, text: str, path: Path) -> bytes:
        from pydub import AudioSegment

        with tempfile.TemporaryDirectory(prefix="voiceguide-tts-") as tmp:
            raw_path = Path(tmp) / "phrase.wav"
            self.synthesizer.synthesize(text, raw_path)
            try:
                segment = AudioSegment.from_wav(str(raw_path))
            except Exception as error:
                raise SynthesisError(f"the speech engine wrote an unreadable file for {text!r}: {error}") from None
        segment = (
            segment.set_sample_width(self.fmt.sample_width)
            .set_channels(self.fmt.channels)
            .set_frame_rate(self.fmt.sample_rate)
        )
        data: bytes = segment.raw_data
        self._write(path, data)
        self.synthesized += 1
        return data

    def _write(self, path: Path, data: bytes) -> None:
        """Write atomically: a reader sees the old entry, no entry, or the whole new one."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".wav")
            try:
                with os.fdopen(fd, "wb") as handle, wave.open(handle, "wb") as w:
                    w.setframerate(self.fmt.sample_rate)
                    w.setnchannels(self.fmt.channels)
                    w.setsampwidth(self.fmt.sample_width)
                    w.writeframes(data)
                os.replace(tmp_name, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                raise
        except OSError:
            # A cache that cannot be written only costs speed; the audio is still right.
            return
