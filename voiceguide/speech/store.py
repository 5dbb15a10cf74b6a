"""The phrase store: the cache's entries on disk, one WAV a phrase in the one audio format,
keyed by the synthesizer's identity, the format, the processing and the text; each entry
ends with a checksum, checked when it is read.

A phrase's audio is not held in memory: planning reads and checks every entry (its length,
its checksum), and rendering reads an entry again each time it is spoken, checking only that
the file is the one checked (holding every phrase from planning to the end would take tens
of megabytes). Only a phrase whose entry could not be written stays in memory."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path

from voiceguide.files import FileVersion, atomic_write, make_way, read_regular_as, seal, version_of
from voiceguide.routine.lexicon import Lexicon, respell
from voiceguide.sound.audio import AudioFormat
from voiceguide.sound.loudness import PIECE_OFFSET_LU, TARGET_LUFS

__all__ = ["PROCESSING_VERSION", "PhraseStore"]

# Bumped whenever the processing of a phrase changes (speech/making.py's PhraseFinisher), so
# old cache entries are not reused.
PROCESSING_VERSION = 6  # 4: each phrase from a fresh engine; 5: loudness at its rate; 6: soxr
_CHECK_CHUNK = b"vgck"  # a cache entry's last RIFF chunk: the SHA-256 of its key and audio
_MAX_ENTRY_BYTES = 64 * 1024 * 1024  # a 1,000-character paragraph at 80 wpm is about 11 MB


class PhraseStore:
    """The entries of one synthesizer's phrases in ``directory``, in ``fmt``: what is kept,
    checked, and how long each phrase is."""

    def __init__(self, identity: str, directory: Path, fmt: AudioFormat, lexicon: Lexicon) -> None:
        self.identity = identity
        self.directory = directory
        self.fmt = fmt
        self.lexicon = lexicon
        self.held: dict[str, bytes] = {}  # phrases whose entry could not be written
        self.checked: dict[str, FileVersion] = {}  # the entries checked, as they were then
        self.frames: dict[str, int] = {}  # every phrase's length, once known

    def key(self, text: str) -> bytes:
        """What a phrase's audio depends on: the engine, voice and rate, the format, the
        processing, and the text."""
        return "\0".join(
            [
                self.identity,
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

    def ready(self, text: str) -> bool:
        """Whether the phrase is held or its entry was checked."""
        return text in self.held or text in self.checked

    def stored(self, text: str) -> bytes | None:
        """The phrase's PCM, held or read again from the entry checked; None when it is
        neither, or the entry changed since it was checked (it is then forgotten)."""
        data = self.held.get(text)
        if data is None and text in self.checked:
            data = self.read(text, self.checked[text])  # the file checked, read again
        if data is None:
            self.checked.pop(text, None)
        return data

    def read(self, text: str, checked: FileVersion | None = None) -> bytes | None:
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
        data = self.pcm_of_wav(raw)
        if data is None:
            return None
        if checked is None:
            if raw[-40:-32] != _CHECK_CHUNK + (32).to_bytes(4, "little"):
                return None
            if raw[-32:] != seal(self.key(text), data):
                return None
            self.frames[text] = len(data) // self.fmt.frame_bytes
            self.checked[text] = version
        return data

    def pcm_of_wav(self, raw: bytes) -> bytes | None:
        """The PCM of a complete WAV in this store's format, or None."""
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

    def write(self, text: str, data: bytes) -> FileVersion | None:
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

    def remember(self, text: str, data: bytes, written: FileVersion | None) -> None:
        """A phrase just made, as :meth:`write` left it: its entry checked, or its PCM held
        when there is no entry to read it from."""
        if written is None:
            self.held[text] = data
        else:
            self.checked[text] = written
        self.frames[text] = len(data) // self.fmt.frame_bytes

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
