"""The generated bed (``--bed pad``): slow chords, made in code, the same every time.

Four chords of five low notes each, one after another, each sounding for ``_CHORD_S`` and
crossfading into the next; every note is a cosine with soft 2nd and 3rd harmonics under its
own slow swell. No beat, no melody: nothing that competes with words. Every frequency is a
whole number of cycles per period, so the period repeats without a seam: it is made once
(about a second), kept in the cache folder, and read by position.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.files import atomic_write
from voiceguide.sound.audio import FORMAT, AudioFormat

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = ["Pad", "pad_period"]

_CHORD_S = 15  # each chord lasts this long...
_XFADE_S = 6  # ...crossfading into the next over this
# MIDI notes of the chords (Dmaj9, Bm11, Gmaj9, A6sus2): low, close, all in D major
_CHORDS = (
    (50, 57, 61, 64, 66),
    (47, 54, 57, 62, 64),
    (43, 50, 54, 57, 59),
    (45, 52, 59, 61, 66),
)
_HARMONICS = (0.15, 0.04)  # the 2nd and 3rd harmonics' amplitudes: soft, round notes
_GRID = 441  # frames between the points the slow swells are computed at
# The pad's level: measured to be TARGET_LUFS, the speech loudness (tests/sound/test_bed.py checks).
_GAIN = 0.10792
_VERSION = 1  # of the sound: bumped whenever it changes (the cached period is remade)


class Pad:
    """The pad, read by frame position (see the module)."""

    name = "pad"

    def __init__(self, cache_dir: Path | None, fmt: AudioFormat = FORMAT) -> None:
        self._fmt = fmt
        self.period = len(_CHORDS) * _CHORD_S * fmt.sample_rate
        self._table = self._load(cache_dir)
        self.peak = float(abs(self._table).max())

    def samples(self, start: int, count: int) -> Samples:
        import numpy as np

        out: Samples = np.empty(count)
        done, at = 0, start % self.period
        while done < count:
            size = min(count - done, self.period - at)
            out[done : done + size] = self._table[at : at + size]
            done, at = done + size, 0
        return out

    def _load(self, cache_dir: Path | None) -> npt.NDArray[np.float32]:
        import numpy as np

        path = None
        if cache_dir is not None:
            path = cache_dir / f"pad-v{_VERSION}-{self._fmt.sample_rate}.f32"
            try:
                table = np.fromfile(path, dtype="<f4")
                if len(table) == self.period:
                    return table
            except (OSError, ValueError):
                pass
        table = pad_period(self._fmt.sample_rate).astype("<f4")
        if path is not None:
            with contextlib.suppress(OSError):  # a cache that cannot be written: made again
                atomic_write(path, table.tobytes())
        return table


def pad_period(rate: int) -> Samples:
    """One period of the pad, at its level. Each note is one cosine and its harmonics
    (Chebyshev polynomials of it), under a swell computed on a coarse grid: a few operations
    per sample."""
    import numpy as np

    chord_frames = _CHORD_S * rate
    period = len(_CHORDS) * chord_frames
    xfade = _XFADE_S * rate
    seconds = period // rate
    out = np.zeros(period)
    ramp = np.sin(0.5 * np.pi * (np.arange(xfade) + 0.5) / xfade)  # equal power
    coarse = np.arange(0, period + _GRID, _GRID)
    a2, a3 = _HARMONICS
    for c, chord in enumerate(_CHORDS):
        # the chord sounds from xfade/2 before its slot to xfade/2 after it, circularly
        first = c * chord_frames - xfade // 2
        frames = chord_frames + xfade
        n = np.arange(first, first + frames, dtype=np.int64) % period
        envelope = np.ones(frames)
        envelope[:xfade] = ramp
        envelope[-xfade:] = ramp[::-1]
        voice = np.zeros(frames)
        for k, midi in enumerate(chord):
            cycles = round(440.0 * 2 ** ((midi - 69) / 12) * seconds)  # whole cycles per period
            x = np.cos((2 * np.pi / period) * ((cycles * n + k * period // 7) % period))
            # x + a2*T2(x) + a3*T3(x), with T2 = 2x^2 - 1 and T3 = 4x^3 - 3x
            tone = x * ((1 - 3 * a3) + x * (2 * a2 + x * (4 * a3))) - a2
            # each note swells and ebbs on its own slow cycles (3 to 13 per period)
            phase = 2 * np.pi * coarse / period
            swell = 0.7 + 0.2 * np.sin((3 + k) * phase + k) + 0.1 * np.sin((5 + 2 * k) * phase)
            voice += tone * np.interp(n, coarse, swell)
        out[n] += envelope * voice
    result: Samples = out * _GAIN
    return result
