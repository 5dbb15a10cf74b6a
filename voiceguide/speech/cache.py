"""The phrase cache: every phrase synthesized once per (engine, voice, rate, text), brought
to the one audio format and loudness, and kept in the user's cache folder; changing hold
lengths re-synthesizes nothing.

:class:`PhraseCache` is what the other stages use: the entries on disk are a
:class:`~voiceguide.speech.store.PhraseStore`'s, and a
:class:`~voiceguide.speech.making.PhraseMaker` runs the synthesizer for what is missing."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from voiceguide.errors import SynthesisError
from voiceguide.files import user_folder
from voiceguide.routine.lexicon import Lexicon
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.speech.base import SynthesisProgress, Synthesizer, short
from voiceguide.speech.making import PhraseMaker
from voiceguide.speech.store import PhraseStore

__all__ = ["PhraseCache", "default_cache_dir"]


def default_cache_dir() -> Path:
    return user_folder("cache", "VOICEGUIDE_CACHE_DIR")


class PhraseCache:
    """Synthesized phrases on disk, in the one audio format, keyed by synthesizer and text:
    read from the store, or made for it first."""

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
        self.store = PhraseStore(synthesizer.identity, self.directory, fmt, self.lexicon)
        self.maker = PhraseMaker(synthesizer, self.store)

    @property
    def progress(self) -> SynthesisProgress | None:
        """Told of every phrase synthesized (a progress bar): (done, in all, estimate)."""
        return self.maker.progress

    @progress.setter
    def progress(self, progress: SynthesisProgress | None) -> None:
        self.maker.progress = progress

    @property
    def synthesized(self) -> int:
        """Phrases synthesized by this cache object (for tests and notes)."""
        return self.maker.synthesized

    def key(self, text: str) -> bytes:
        return self.store.key(text)

    def path_for(self, text: str) -> Path:
        return self.store.path_for(text)

    def ensure(self, texts: Iterable[str], *, lengths_only: bool = False) -> None:
        """Make sure every phrase is ready (see :meth:`PhraseMaker.ensure`; with
        ``lengths_only``, :meth:`pcm` waits for a phrase still being made)."""
        self.maker.ensure(texts, lengths_only=lengths_only)

    def pcm(self, text: str) -> bytes:
        """The phrase as raw PCM in ``fmt``."""
        self.maker.wait_for(text)
        data = self.store.stored(text)
        if data is None:  # never asked for, or changed since it was checked
            self.maker.ensure([text])
            data = self.store.held.get(text) or self.store.read(text)
            if data is None:
                raise SynthesisError(f"the phrase {short(text)} is missing from the cache")
        return data

    def measure(self, text: str) -> int:
        """How long the phrase lasts in whole ms (the compiler's ``measure``)."""
        frames = self.store.frames.get(text)
        if frames is None:
            frames = len(self.pcm(text)) // self.fmt.frame_bytes
            self.store.frames[text] = frames
        return self.fmt.ms(frames)

    def close(self, cancel: bool = False) -> None:
        """Wait for the background work of ``ensure(lengths_only=True)`` to end, or, with
        ``cancel``, stop it at once (the synthesizer is not used again)."""
        self.maker.close(cancel)
