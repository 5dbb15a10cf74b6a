"""The phrase cache: every phrase synthesized once per (engine, voice, rate, text), brought
to the one audio format and loudness, and kept in the user's cache folder; changing hold
lengths re-synthesizes nothing.

A phrase's audio is not held in memory: planning reads and checks every entry (its length,
its checksum), and rendering reads an entry again each time it is spoken, checking only that
the file is the one checked (holding every phrase from planning to the end would take tens
of megabytes). Only a phrase whose entry could not be written stays in memory."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import signal
import tempfile
import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import Interrupted, SynthesisError
from voiceguide.files import (
    FileVersion,
    atomic_write,
    make_way,
    read_regular_as,
    seal,
    sweep_abandoned,
    version_of,
)
from voiceguide.routine.lexicon import Lexicon, respell
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.loudness import PIECE_OFFSET_LU, TARGET_LUFS
from voiceguide.speech.base import Finisher, SynthesisProgress, Synthesizer, estimate_s, short

__all__ = ["PhraseCache", "PhraseFinisher", "default_cache_dir"]

# Bumped whenever the processing of a phrase changes, so old cache entries are not reused.
PROCESSING_VERSION = 6  # 4: each phrase from a fresh engine; 5: loudness at its rate; 6: soxr
_WORK_PREFIX = "voiceguide-tts-"  # + pid: a temporary folder of phrases being made
_CHECK_CHUNK = b"vgck"  # a cache entry's last RIFF chunk: the SHA-256 of its key and audio
_MAX_ENTRY_BYTES = 64 * 1024 * 1024  # a 1,000-character paragraph at 80 wpm is about 11 MB


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
                f"the speech engine wrote an unreadable file for {short(text)}: {error}"
            ) from None
        if width != 2 or not raw:
            raise SynthesisError(f"the speech engine wrote no 16-bit audio for {short(text)}")
        samples = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
        samples = samples.reshape(-1, channels).mean(axis=1)  # mono
        # brought to loudness at the engine's rate (half the work at 22.05 kHz), then resampled
        samples = loudness.normalize(samples, rate)
        samples = loudness.resample(samples, rate, self.fmt.sample_rate)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
        if self.fmt.channels > 1:
            pcm = np.repeat(pcm, self.fmt.channels)
        with wave.open(str(path), "wb") as w:
            w.setframerate(self.fmt.sample_rate)
            w.setnchannels(self.fmt.channels)
            w.setsampwidth(self.fmt.sample_width)
            w.writeframes(pcm.tobytes())


class PhraseCache:
    """Synthesized phrases on disk, in the one audio format, keyed by synthesizer and text."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        directory: Path | None = None,
        fmt: AudioFormat = FORMAT,
        lexicon: Lexicon = (),
    ) -> None:
        self.synthesizer = synthesizer
        self.lexicon = lexicon if getattr(synthesizer, "takes_respellings", True) else ()
        self.directory = (directory or default_cache_dir()) / "phrases"
        self.fmt = fmt
        self._pcm: dict[str, bytes] = {}  # phrases whose entry could not be written
        self._checked: dict[str, FileVersion] = {}  # the entries checked, as they were then
        self.synthesized = 0  # phrases synthesized by this cache object (for tests and notes)
        # every phrase's length, once known (ensure(lengths_only=True): before its audio)
        self._frames: dict[str, int] = {}
        self._pending: set[str] = set()
        self._failure: BaseException | None = None
        self._changed = threading.Condition()
        self._batch: threading.Thread | None = None
        # told of every phrase synthesized (a progress bar); (done, in all, estimate)
        self.progress: SynthesisProgress | None = None
        self._progress_of = (0, 0, 0.0)

    def key(self, text: str) -> bytes:
        """What a phrase's audio depends on: the engine, voice and rate, the format, the
        processing, and the text."""
        return "\0".join(
            [
                self.synthesizer.identity,
                str(self.fmt.sample_rate),
                str(self.fmt.channels),
                str(self.fmt.sample_width),
                f"{PROCESSING_VERSION}@{TARGET_LUFS}{PIECE_OFFSET_LU:+}",
                respell(text, self.lexicon),
            ]
        ).encode("utf-8")

    def path_for(self, text: str) -> Path:
        digest = hashlib.sha256(self.key(text)).hexdigest()
        return self.directory / digest[:2] / f"{digest}.wav"

    def ensure(self, texts: Iterable[str], *, lengths_only: bool = False) -> None:
        """Make sure every phrase is ready, synthesizing the missing ones together.

        With ``lengths_only`` it returns as soon as every phrase is spoken (its length is
        known, enough to plan), while the speech is still being made even in loudness in the
        background: :meth:`pcm` waits for a phrase that is not ready yet. An export renders
        and encodes the first phrases meanwhile. :meth:`close` ends that background work.
        """
        wanted = [t for t in dict.fromkeys(texts) if not self._ready(t) and t not in self._pending]
        # the phrases with no entry are being spoken while the others are read
        absent = [text for text in wanted if not self.path_for(text).exists()]
        batch = lengths_only and self._batch is None and bool(absent)
        if batch:
            self._start_batch(absent)
        missing = [] if batch else absent
        spoken_now = set(absent)
        try:
            for text in (t for t in wanted if t not in spoken_now):
                if self._read(text) is None:  # damaged, or gone meanwhile
                    missing.append(text)
            if batch:
                self._wait_spoken(absent)
        except BaseException:
            # Ctrl-C: the batch is stopped before this goes on to exit. Left running, it
            # could be starting a worker when the interpreter ends, and that worker would
            # print a traceback reading what to run from a parent that is gone
            self.close(cancel=True)
            raise
        if missing:
            if batch:  # rare: an entry was damaged; spoken once the batch is done
                self.close()
            if lengths_only and self._batch is None:
                self._start_batch(missing)
                self._wait_spoken(missing)
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
        data = self._pcm.get(text)
        if data is None and text in self._checked:
            data = self._read(text, self._checked[text])  # the file checked, read again
        if data is None:  # never asked for, or changed since it was checked
            self._checked.pop(text, None)
            self.ensure([text])
            data = self._pcm.get(text) or self._read(text)
            if data is None:
                raise SynthesisError(f"the phrase {short(text)} is missing from the cache")
        return data

    def _ready(self, text: str) -> bool:
        return text in self._pcm or text in self._checked

    def measure(self, text: str) -> int:
        """How long the phrase lasts in whole ms (the compiler's ``measure``)."""
        frames = self._frames.get(text)
        if frames is None:
            frames = len(self.pcm(text)) // self.fmt.frame_bytes
            self._frames[text] = frames
        return self.fmt.ms(frames)

    def close(self, cancel: bool = False) -> None:
        """Wait for the background work of ``ensure(lengths_only=True)`` to end, or, with
        ``cancel``, stop it at once (the synthesizer is not used again)."""
        batch = self._batch
        if batch is None:
            return
        if cancel:
            self.synthesizer.cancel()
        while True:
            try:
                batch.join()
                break
            except (Interrupted, KeyboardInterrupt):
                if not cancel:
                    raise
                # stopping already: another Ctrl-C waits for the stop (a moment), as the
                # first one would end in the same exit
                self.synthesizer.cancel()
        self._batch = None

    def _start_batch(self, texts: list[str]) -> None:
        """Synthesis of ``texts`` started in the background (:meth:`_wait_spoken` waits for
        their lengths)."""
        with self._changed:
            self._pending.update(texts)
            self._failure = None
        self._batch = threading.Thread(target=self._run_batch, args=(texts,), daemon=True)
        self._batch.start()

    def _wait_spoken(self, texts: list[str]) -> None:
        """Wait until every one of ``texts`` is spoken (its length known), or raise why not."""
        with self._changed:
            while self._failure is None and any(t not in self._frames for t in texts):
                self._changed.wait()
            failure = self._failure
        if failure is not None:
            if self._batch is not None:
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
                f"the speech engine wrote an unreadable file for {short(text)}: {error}"
            ) from None
        to = self.fmt.sample_rate
        with self._changed:
            self._frames[text] = -(-frames * to // rate)  # what resampling gives: ceil
            self._changed.notify_all()

    def _read(self, text: str, checked: FileVersion | None = None) -> bytes | None:
        """The phrase's cache entry's PCM, or None (missing, truncated, damaged, garbage, not
        a regular file, or another phrase's entry: the phrase is synthesized again). The
        entry's last chunk is the SHA-256 of the phrase's key and its audio: it is checked,
        unless the file is still the version ``checked`` (None when it is not). A checked
        entry is remembered, with its length."""
        try:
            raw, version = read_regular_as(self.path_for(text), _MAX_ENTRY_BYTES)
        except OSError:
            return None
        if checked is not None and version != checked:
            return None
        data = self._pcm_of_wav(raw)
        if data is None:
            return None
        if checked is None:
            if raw[-40:-32] != _CHECK_CHUNK + (32).to_bytes(4, "little"):
                return None
            if raw[-32:] != seal(self.key(text), data):
                return None
            self._frames[text] = len(data) // self.fmt.frame_bytes
            self._checked[text] = version
        return data

    def _pcm_of_wav(self, raw: bytes) -> bytes | None:
        """The PCM of a complete WAV in this cache's format, or None."""
        try:
            with wave.open(io.BytesIO(raw), "rb") as w:
                ok = (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (
                    self.fmt.sample_rate,
                    self.fmt.channels,
                    self.fmt.sample_width,
                )
                frames = w.getnframes()
                data = w.readframes(frames)
        except (OSError, EOFError, wave.Error):
            return None
        if not ok or frames == 0 or len(data) != frames * self.fmt.frame_bytes:
            return None
        return data

    def _synthesize(self, texts: list[str], spoken: Finisher | None = None) -> None:
        sweep_abandoned(Path(tempfile.gettempdir()), _WORK_PREFIX)
        with tempfile.TemporaryDirectory(prefix=f"{_WORK_PREFIX}{os.getpid()}-") as tmp:
            jobs = [(text, Path(tmp) / f"{i}.wav") for i, text in enumerate(texts)]
            self._progress_of = (0, len(texts), estimate_s(self.synthesizer, texts))
            if self.progress is not None:
                self.progress(*self._progress_of)
            text_of = {path: text for text, path in jobs}  # the engine gets them respelled

            def keep(_spelled: str, path: Path) -> None:
                self._keep(text_of[path], path)

            def said(_spelled: str, path: Path) -> None:
                assert spoken is not None
                spoken(text_of[path], path)

            spelled = [(respell(text, self.lexicon), path) for text, path in jobs]
            self.synthesizer.synthesize(
                spelled, PhraseFinisher(self.fmt), keep, said if spoken is not None else None
            )
            for text, _path in jobs:
                if not self._ready(text):
                    raise SynthesisError(f"the speech engine wrote no audio for {short(text)}")

    def _keep(self, text: str, path: Path) -> None:
        """A phrase just synthesized: into the cache at once (an interrupted first run keeps
        what it made)."""
        data = self._pcm_of_wav(path.read_bytes()) if path.exists() else None
        if data is None:
            raise SynthesisError(f"the speech engine wrote no audio for {short(text)}")
        frames = self._frames.get(text)
        if frames is not None and frames != len(data) // self.fmt.frame_bytes:
            raise SynthesisError(  # the plan was made with the other length
                f"the phrase {short(text)} came out {len(data) // self.fmt.frame_bytes} "
                f"frames long, not {frames} (a bug in voiceguide)"
            )
        written = self._write(text, data)
        with self._changed:
            if written is None:
                self._pcm[text] = data  # held: there is no entry to read it from
            else:
                self._checked[text] = written
            self._frames[text] = len(data) // self.fmt.frame_bytes
            self._pending.discard(text)
            self.synthesized += 1
            self._changed.notify_all()
        done, total, estimate = self._progress_of
        self._progress_of = (done + 1, total, estimate)
        progress = self.progress
        if progress is not None:
            progress(done + 1, total, estimate)

    def _write(self, text: str, data: bytes) -> FileVersion | None:
        """The phrase's entry written; the version written, or None when it could not be (a
        cache that cannot be written only costs speed and memory; the audio is still
        right)."""
        path = self.path_for(text)
        try:
            make_way(self.directory, path)  # a folder in place of the entry, a file of its folder
            atomic_write(path, self._entry(text, data))
            return version_of(path.stat())
        except OSError:
            return None

    def _entry(self, text: str, data: bytes) -> bytes:
        """A WAV of the PCM, ending with a chunk holding the SHA-256 of the phrase's key and
        audio (which WAV readers skip), so any damage to an entry, or another entry copied
        over it, is noticed when it is read."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as w:
            w.setframerate(self.fmt.sample_rate)
            w.setnchannels(self.fmt.channels)
            w.setsampwidth(self.fmt.sample_width)
            w.writeframes(data)
        wav = bytearray(buffer.getvalue())
        if len(wav) % 2:  # RIFF chunks start on even offsets
            wav += b"\0"
        wav += _CHECK_CHUNK + (32).to_bytes(4, "little") + seal(self.key(text), data)
        wav[4:8] = (len(wav) - 8).to_bytes(4, "little")
        return bytes(wav)
