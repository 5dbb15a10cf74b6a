"""The cue sounds: each cue of :mod:`voiceguide.plan.cues` made into audio (pydub is
imported only here), brought to the cue loudness, and kept in a disk cache."""

from __future__ import annotations

import contextlib
import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydub import AudioSegment

    from voiceguide.sound.audio import AudioFormat

from voiceguide.files import SEAL_BYTES, atomic_write, make_way, read_regular, seal
from voiceguide.plan.cues import CUE_MS, NOTES, Cue

__all__ = ["CueCache", "cue_audio"]


_LEVEL_DBFS = -9.0  # before loudness normalization
_CUE_OFFSET_LU = -1.0  # cues sit this much below the speech
_BREATH_OFFSET_LU = -7.0  # and breathing tones further below: they pace, they do not call


def _import_pydub() -> None:
    """Import pydub without its warning that ffmpeg is missing: only its pure Python parts
    are used here (generators, overlays), which need no ffmpeg."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Couldn't find ffmpeg", RuntimeWarning)
        import pydub.generators  # noqa: F401 - imported here once, without the warning


@cache
def _cue_audio(cue: Cue, fmt: AudioFormat) -> AudioSegment:
    _import_pydub()
    from pydub import AudioSegment
    from pydub.generators import Sine

    out = AudioSegment.silent(duration=CUE_MS[cue], frame_rate=fmt.sample_rate)
    out = out.set_channels(fmt.channels).set_sample_width(fmt.sample_width)
    for freq, onset, length in NOTES[cue]:
        note = Sine(freq, sample_rate=fmt.sample_rate, bit_depth=8 * fmt.sample_width)
        # a second, quieter partial an octave up makes a rounder, bell-like note
        upper = Sine(2 * freq, sample_rate=fmt.sample_rate, bit_depth=8 * fmt.sample_width)
        tone = note.to_audio_segment(duration=length, volume=_LEVEL_DBFS)
        tone = tone.overlay(upper.to_audio_segment(duration=length, volume=_LEVEL_DBFS - 12))
        tone = (
            tone.set_channels(fmt.channels).fade_in(min(8, length // 4)).fade_out(length * 3 // 4)
        )
        out = out.overlay(tone, position=onset)
    return _at_cue_loudness(out, fmt, cue)


def _at_cue_loudness(segment: AudioSegment, fmt: AudioFormat, cue: Cue) -> AudioSegment:
    """Cues a little below the speech's loudness, peaks limited like speech (mono, 16-bit)."""
    import numpy as np
    from pydub import AudioSegment

    from voiceguide.sound import loudness

    samples = np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float64) / 32768.0
    offset = _CUE_OFFSET_LU + (_BREATH_OFFSET_LU if cue in (Cue.INHALE, Cue.EXHALE) else 0.0)
    level = loudness.normalize(
        samples, fmt.sample_rate, loudness.TARGET_LUFS + loudness.PIECE_OFFSET_LU + offset
    )
    pcm = np.clip(np.round(level * 32767.0), -32768, 32767).astype("<i2")
    return AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=fmt.sample_rate, channels=1)


def cue_audio(cue: Cue, fmt: AudioFormat) -> AudioSegment:
    """The cue's sound in ``fmt``, exactly ``CUE_MS[cue]`` long."""
    return _cue_audio(cue, fmt)


# Bumped whenever the cue sounds or their processing change.
_CUE_VERSION = 3  # 3: an entry is its PCM and the SHA-256 of its key and PCM


class CueCache:
    """Cue PCM kept on disk beside the phrase cache: making a cue (synthesis and loudness
    normalization) costs far more than reading it back."""

    def __init__(self, directory: Path, fmt: AudioFormat) -> None:
        self.directory = directory / "cues"
        self.fmt = fmt
        self._pcm: dict[Cue, bytes] = {}

    def __call__(self, cue: Cue) -> bytes:
        if cue in self._pcm:
            return self._pcm[cue]
        from voiceguide.sound.loudness import PIECE_OFFSET_LU, TARGET_LUFS

        key = f"{_CUE_VERSION}|{cue.value}|{self.fmt}|{TARGET_LUFS}|{PIECE_OFFSET_LU}".encode()
        path = self.directory / (hashlib.sha256(key).hexdigest()[:32] + ".pcm")
        expected = self.fmt.frames(CUE_MS[cue]) * self.fmt.frame_bytes
        # the entry: the PCM, then the SHA-256 of the key and the PCM. Damage of any kind,
        # another cue's entry copied over it, a folder or a FIFO there: the cue made again
        try:
            entry = read_regular(path, expected + SEAL_BYTES)
        except OSError:
            entry = b""
        data = entry[:-SEAL_BYTES]
        if len(data) != expected or entry[-SEAL_BYTES:] != seal(key, data):
            data = cue_audio(cue, self.fmt).raw_data[:expected]
            data += bytes(expected - len(data))
            self._write(path, data + seal(key, data))
        self._pcm[cue] = data
        return data

    def _write(self, path: Path, entry: bytes) -> None:
        # A cache that cannot be written only costs speed; the sound is still right.
        with contextlib.suppress(OSError):
            make_way(self.directory, path)
            atomic_write(path, entry)
