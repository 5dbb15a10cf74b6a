"""Loudness: every phrase and cue is brought to one loudness, with a true-peak limiter.

Normalizing the pieces (not the finished track) keeps export streaming, and makes every
track, of every variant, equally loud: gating (ITU-R BS.1770) ignores the silences between
pieces, so a track's integrated loudness is that of its pieces. espeak-ng speech peaks 18-20
dB above its loudness (measured), so reaching the target takes a limiter, not plain gain.

The target is -19 LUFS because the output is mono (the -16 LUFS stereo norm, less 3 dB);
the true-peak ceiling leaves room for the MP3 encoder's overshoot below -1 dBTP.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = [
    "CEILING_DBTP",
    "PIECE_OFFSET_LU",
    "TARGET_LUFS",
    "loudness_lufs",
    "normalize",
    "resample",
    "true_peak_dbtp",
]

TARGET_LUFS = -19.0  # of a finished track
# Pieces are normalized this much above the track target: over a whole track the gating
# weighs the quiet ends of phrases a little more than it does phrase by phrase (measured on
# the bundled routine: tracks came out 0.4-0.6 LU under the pieces' loudness).
PIECE_OFFSET_LU = 0.5
CEILING_DBTP = -1.8  # before encoding; MP3 encoding adds a few tenths of a dB
_LIMITER_WINDOW_S = 0.008  # attack and release ramps of the limiter
_OVERSAMPLE = 4
_MIN_MEASURE_S = 0.5  # BS.1770 blocks are 0.4 s: shorter pieces are padded with silence
_IN_TRACK_PAD_S = 0.45  # the quiet between pieces in a track (compiler.PHRASE_GAP_MS)


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """Band-limited resampling (polyphase), exact for integer-ratio rates."""
    if from_rate == to_rate:
        return samples
    from scipy.signal import resample_poly

    g = math.gcd(from_rate, to_rate)
    out: Samples = resample_poly(samples, to_rate // g, from_rate // g)
    return out


def loudness_lufs(samples: Samples, rate: int, pad_s: float = 0.0) -> float:
    """Integrated loudness (BS.1770-4 via pyloudnorm); -inf for silence.

    ``pad_s`` of silence on both sides measures a piece as it sounds inside a track, where
    the 0.4 s blocks that straddle its edges count too.
    """
    import numpy as np
    import pyloudnorm

    pad = np.zeros(int(pad_s * rate))
    samples = np.concatenate([pad, samples, pad])
    minimum = int(_MIN_MEASURE_S * rate)
    if len(samples) < minimum:
        samples = np.concatenate([samples, np.zeros(minimum - len(samples))])
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def _peak_envelope(samples: Samples) -> Samples:
    """Per sample, the largest absolute value of the 4x-oversampled signal around it."""
    import numpy as np

    over = np.abs(resample(samples, 1, _OVERSAMPLE))[: len(samples) * _OVERSAMPLE]
    envelope: Samples = np.abs(samples)
    for phase in range(_OVERSAMPLE):  # element-wise maxima: far faster than max(axis=1)
        np.maximum(envelope, over[phase::_OVERSAMPLE], out=envelope)
    return envelope


def true_peak_dbtp(samples: Samples) -> float:

    peak = float(_peak_envelope(samples).max()) if len(samples) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _limiter_gain(envelope: Samples, gain: float, rate: int, ceiling: float) -> Samples:
    """The per-sample gain of a look-ahead brick-wall limiter after a fixed ``gain``: a
    minimum filter then a moving average of the same width never lets the gain exceed what
    any peak within reach needs, and ramps smoothly."""
    import numpy as np
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    needed = np.minimum(gain, ceiling / np.maximum(envelope, 1e-12))
    if needed.min() >= gain:
        return np.full_like(envelope, gain)
    width = 2 * int(_LIMITER_WINDOW_S * rate) + 1
    smooth = uniform_filter1d(
        minimum_filter1d(needed, width, mode="nearest"), width, mode="nearest"
    )
    result: Samples = np.minimum(smooth, needed)
    return result


def normalize(samples: Samples, rate: int, target_lufs: float = TARGET_LUFS + PIECE_OFFSET_LU,
              ceiling_dbtp: float = CEILING_DBTP) -> Samples:  # fmt: skip
    """``samples`` (floats in [-1, 1]) at ``target_lufs``, true peaks at most ``ceiling_dbtp``.

    The true-peak envelope is computed once; since limiting lowers the loudness a little,
    the gain before the limiter is corrected from a new measurement (twice at most).
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    measured = loudness_lufs(samples, rate, pad_s=_IN_TRACK_PAD_S)
    if not math.isfinite(measured):
        return samples
    envelope = _peak_envelope(samples)
    gain_db = target_lufs - measured
    out = samples
    for _ in range(3):
        out = samples * _limiter_gain(envelope, 10 ** (gain_db / 20), rate, ceiling)
        error_db = target_lufs - loudness_lufs(out, rate, pad_s=_IN_TRACK_PAD_S)
        if abs(error_db) < 0.1:
            break
        gain_db += error_db
    return out
