"""Making the phrases the store is missing: the synthesizer's workers run for them, all
together or in the background (their lengths first, for planning), each one finished to
the one format and loudness and kept in the :class:`~voiceguide.speech.store.PhraseStore`
as soon as it is made; a Ctrl-C or a cancel stops the workers."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import Interrupted, SynthesisError
from voiceguide.files import sweep_abandoned
from voiceguide.routine.lexicon import respell
from voiceguide.sound.audio import AudioFormat
from voiceguide.speech.base import Finisher, SynthesisProgress, Synthesizer, estimate_s, short
from voiceguide.speech.store import PhraseStore

__all__ = ["PhraseFinisher", "PhraseMaker"]

_WORK_PREFIX = "voiceguide-tts-"  # + pid: a temporary folder of phrases being made


@dataclass(frozen=True)
class PhraseFinisher:
    """Turns the engine's WAV into the one format, at the target loudness with its peaks
    limited, in place. Runs in the synthesis workers, so phrases are processed in parallel.
    A change here bumps the store's ``PROCESSING_VERSION``."""

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


class PhraseMaker:
    """Runs ``synthesizer`` for the phrases ``store`` is missing, and keeps what it makes
    there."""

    def __init__(self, synthesizer: Synthesizer, store: PhraseStore) -> None:
        self.synthesizer = synthesizer
        self.store = store
        self.synthesized = 0  # phrases synthesized by this maker (for tests and notes)
        self._pending: set[str] = set()
        self._failure: BaseException | None = None
        self._changed = threading.Condition()
        self._batch: threading.Thread | None = None
        # told of every phrase synthesized (a progress bar); (done, in all, estimate)
        self.progress: SynthesisProgress | None = None
        self._progress_of = (0, 0, 0.0)

    def ensure(self, texts: Iterable[str], *, lengths_only: bool = False) -> None:
        """Make sure every phrase is ready, synthesizing the missing ones together.

        With ``lengths_only`` it returns as soon as every phrase is spoken (its length is
        known, enough to plan), while the speech is still being made even in loudness in the
        background: :meth:`wait_for` waits for a phrase that is not ready yet. An export
        renders and encodes the first phrases meanwhile. :meth:`close` ends that background
        work.
        """
        store = self.store
        wanted = [t for t in dict.fromkeys(texts) if not store.ready(t) and t not in self._pending]
        # the phrases with no entry are being spoken while the others are read
        absent = [text for text in wanted if not store.path_for(text).exists()]
        batch = lengths_only and self._batch is None and bool(absent)
        if batch:
            self._start_batch(absent)
        missing = [] if batch else absent
        spoken_now = set(absent)
        try:
            for text in (t for t in wanted if t not in spoken_now):
                if store.read(text) is None:  # damaged, or gone meanwhile
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

    def wait_for(self, text: str) -> None:
        """Wait until the phrase is made, if it is being made in the background (or raise
        why it was not)."""
        if text in self._pending:
            with self._changed:
                while text in self._pending and self._failure is None:
                    self._changed.wait()
                if text in self._pending:
                    assert self._failure is not None
                    raise self._failure

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
        frames = self.store.frames
        with self._changed:
            while self._failure is None and any(t not in frames for t in texts):
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
        """A phrase spoken, not yet finished: its length in the store's format, as
        finishing makes it."""
        try:
            with wave.open(str(path), "rb") as w:
                frames, rate = w.getnframes(), w.getframerate()
        except (OSError, EOFError, wave.Error) as error:
            raise SynthesisError(
                f"the speech engine wrote an unreadable file for {short(text)}: {error}"
            ) from None
        to = self.store.fmt.sample_rate
        with self._changed:
            self.store.frames[text] = -(-frames * to // rate)  # what resampling gives: ceil
            self._changed.notify_all()

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

            spelled = [(respell(text, self.store.lexicon), path) for text, path in jobs]
            self.synthesizer.synthesize(
                spelled, PhraseFinisher(self.store.fmt), keep, said if spoken is not None else None
            )
            for text, _path in jobs:
                if not self.store.ready(text):
                    raise SynthesisError(f"the speech engine wrote no audio for {short(text)}")

    def _keep(self, text: str, path: Path) -> None:
        """A phrase just synthesized: into the store at once (an interrupted first run keeps
        what it made)."""
        store = self.store
        data = store.pcm_of_wav(path.read_bytes()) if path.exists() else None
        if data is None:
            raise SynthesisError(f"the speech engine wrote no audio for {short(text)}")
        frames = store.frames.get(text)
        made = len(data) // store.fmt.frame_bytes
        if frames is not None and frames != made:
            raise SynthesisError(  # the plan was made with the other length
                f"the phrase {short(text)} came out {made} frames long, not {frames} "
                "(a bug in voiceguide)"
            )
        written = store.write(text, data)
        with self._changed:
            store.remember(text, data, written)
            self._pending.discard(text)
            self.synthesized += 1
            self._changed.notify_all()
        done, total, estimate = self._progress_of
        self._progress_of = (done + 1, total, estimate)
        progress = self.progress
        if progress is not None:
            progress(done + 1, total, estimate)
