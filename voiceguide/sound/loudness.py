"""Loudness: every phrase and cue is brought to one loudness, with a true-peak limiter.

Normalizing the pieces (not the finished track) keeps export streaming, and makes every
track, of every variant, equally loud: gating (ITU-R BS.1770) ignores the silences between
pieces, so a track's integrated loudness is that of its pieces. espeak-ng speech peaks 18-20
dB above its loudness (measured), so reaching the target takes a limiter, not plain gain.

The target is -19 LUFS because the output is mono (the -16 LUFS stereo norm, less 3 dB);
the true-peak ceiling leaves room for the MP3 encoder's overshoot below -1 dBTP.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = [
    "CEILING_DBTP",
    "PIECE_OFFSET_LU",
    "TARGET_LUFS",
    "LoudnessMeter",
    "loudness_lufs",
    "normalize",
    "resample",
    "true_peak_dbtp",
]

TARGET_LUFS = -19.0  # of a finished track
# Pieces are normalized this much above the track target: over a whole track the gating
# weighs the quiet ends of phrases a little more than it does phrase by phrase (tracks of the
# bundled routine come out about half an LU under the pieces' loudness).
PIECE_OFFSET_LU = 0.5
CEILING_DBTP = -1.8  # before encoding; MP3 encoding adds a few tenths of a dB
_LIMITER_WINDOW_S = 0.008  # attack and release ramps of the limiter
_OVERSAMPLE = 4
_MIN_MEASURE_S = 0.5  # BS.1770 blocks are 0.4 s: shorter pieces are padded with silence
_IN_TRACK_PAD_S = 0.45  # the quiet between pieces in a track (compiler.PHRASE_GAP_MS)


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """``samples`` at ``to_rate``: ``ceil(len * to_rate / from_rate)`` samples (the length the
    phrase cache plans with before a phrase is finished), through libsoxr's very-high-quality
    filter (double precision: the same samples on every run). Its own length is the rounded
    one: the ceiling adds at most one sample of silence at the end."""
    if from_rate == to_rate:
        return samples
    import numpy as np
    import soxr

    count = -(-len(samples) * to_rate // from_rate)
    out: Samples = soxr.resample(np.ascontiguousarray(samples), from_rate, to_rate, quality="VHQ")
    if len(out) < count:
        out = np.concatenate([out, np.zeros(count - len(out))])
    return out[:count]


def loudness_lufs(samples: Samples, rate: int, pad_s: float = 0.0) -> float:
    """Integrated loudness (ITU-R BS.1770-4: K-weighting, 0.4 s blocks overlapping by 75 %,
    absolute and relative gates); -inf for silence. The same numbers as pyloudnorm (to 1e-6
    LU; a test checks it), the blocks summed at once instead of one by one.

    ``pad_s`` of silence on both sides measures a piece as it sounds inside a track, where
    the 0.4 s blocks that straddle its edges count too.
    """
    weighted = _k_weighted(samples, rate, pad_s)
    return _gated_lufs(weighted * weighted, rate)


def _padded(samples: Samples, rate: int, pad_s: float) -> Samples:
    """``pad_s`` of silence either side, and more after if shorter than a measure needs."""
    import numpy as np

    pad = int(pad_s * rate)
    after = max(pad, int(_MIN_MEASURE_S * rate) - pad - len(samples))
    return np.concatenate([np.zeros(pad), samples, np.zeros(after)])


def _k_weighted(samples: Samples, rate: int, pad_s: float) -> Samples:
    """The samples, padded as :func:`_padded`, through the K-weighting filter."""
    from voiceguide.sound import dsp

    padded = _padded(samples, rate, pad_s)
    return dsp.convolve(padded, _k_weighting_response(rate))[: len(padded)]


def _gated_lufs(power: Samples, rate: int) -> float:
    """BS.1770's gated loudness of K-weighted samples given squared (``power``)."""
    import numpy as np

    blocks = round((len(power) / rate - _BLOCK_S) / (_BLOCK_S * _BLOCK_STEP)) + 1
    index = np.arange(blocks)
    starts = np.minimum((_BLOCK_S * rate * index * _BLOCK_STEP).astype(int), len(power))
    ends = np.minimum((_BLOCK_S * rate * (index * _BLOCK_STEP + 1)).astype(int), len(power))
    energy = np.concatenate([[0.0], np.cumsum(power)])
    return _gated((energy[ends] - energy[starts]) / (_BLOCK_S * rate))


class LoudnessMeter:
    """:func:`loudness_lufs` of a long sound given a piece at a time (a music file of an
    hour is not held in memory): the K-weighting carries the end of each piece into the
    next, and only the energy of each 0.1 s step (a quarter block) is kept."""

    def __init__(self, rate: int) -> None:
        import numpy as np

        self._rate = rate
        self._response = _k_weighting_response(rate)
        self._history: Samples = np.zeros(len(self._response) - 1)
        self._step = round(rate * _BLOCK_S * _BLOCK_STEP)
        self._partial: Samples = np.zeros(0)  # the K-weighted power of an unfinished step
        self._steps: list[float] = []

    def feed(self, samples: Samples) -> None:
        import numpy as np

        from voiceguide.sound import dsp

        if len(samples) == 0:
            return
        joined = np.concatenate([self._history, samples])
        weighted = dsp.convolve(joined, self._response)[len(self._history) : len(joined)]
        self._history = joined[len(joined) - len(self._history) :]
        power = np.concatenate([self._partial, weighted * weighted])
        whole = len(power) // self._step * self._step
        self._steps.extend(power[:whole].reshape(-1, self._step).sum(axis=1).tolist())
        self._partial = power[whole:]

    def lufs(self) -> float:
        """The integrated loudness of all that was fed; -inf for silence."""
        import numpy as np

        per_block = round(1 / _BLOCK_STEP)
        seconds = (len(self._steps) * self._step + len(self._partial)) / self._rate
        blocks = max(1, round((seconds - _BLOCK_S) / (_BLOCK_S * _BLOCK_STEP)) + 1)
        steps = np.zeros(blocks + per_block)  # the steps past the end are silence
        known = [*self._steps, float(self._partial.sum())][: len(steps)]
        steps[: len(known)] = known
        energy = np.concatenate([[0.0], np.cumsum(steps)])
        mean = (energy[per_block : per_block + blocks] - energy[:blocks]) / (self._step * per_block)
        return _gated(mean)


def _gated(mean: Samples) -> float:
    """BS.1770's gating of the blocks' mean K-weighted power."""
    import numpy as np

    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10 * np.log10(np.maximum(mean, 0.0))
    above = mean[block_lufs >= _ABSOLUTE_GATE_LUFS]
    if len(above) == 0:
        return -math.inf
    relative_gate = -0.691 + 10 * math.log10(float(np.mean(above))) - 10
    gated = mean[(block_lufs > relative_gate) & (block_lufs > _ABSOLUTE_GATE_LUFS)]
    if len(gated) == 0 or float(np.mean(gated)) <= 0:
        return -math.inf
    return -0.691 + 10 * math.log10(float(np.mean(gated)))


_BLOCK_S = 0.4
_BLOCK_STEP = 0.25  # of a block: 75 % overlap
_ABSOLUTE_GATE_LUFS = -70.0


@functools.cache
def _k_weighting(rate: int) -> Any:
    """BS.1770's K-weighting at ``rate`` as two biquads (rows ``b0 b1 b2 a0 a1 a2``): a +4 dB
    high shelf at 1,500 Hz and a high-pass at 38 Hz (RBJ cookbook designs, as pyloudnorm)."""
    import numpy as np

    def biquad(kind: str, gain_db: float, q: float, fc: float) -> list[float]:
        a = 10 ** (gain_db / 40)
        w0 = 2 * math.pi * fc / rate
        alpha = math.sin(w0) / (2 * q)
        cos = math.cos(w0)
        if kind == "shelf":
            b = [
                a * ((a + 1) + (a - 1) * cos + 2 * math.sqrt(a) * alpha),
                -2 * a * ((a - 1) + (a + 1) * cos),
                a * ((a + 1) + (a - 1) * cos - 2 * math.sqrt(a) * alpha),
            ]
            den = [
                (a + 1) - (a - 1) * cos + 2 * math.sqrt(a) * alpha,
                2 * ((a - 1) - (a + 1) * cos),
                (a + 1) - (a - 1) * cos - 2 * math.sqrt(a) * alpha,
            ]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            den = [1 + alpha, -2 * cos, 1 - alpha]
        return [x / den[0] for x in (*b, *den)]

    return np.array(
        [biquad("shelf", 4.0, 1 / math.sqrt(2), 1500.0), biquad("high-pass", 0.0, 0.5, 38.0)]
    )


@functools.cache
def _k_weighting_response(rate: int) -> Samples:
    """The K-weighting filter's impulse response: a quarter second reaches below 1e-20."""
    from voiceguide.sound import dsp

    return dsp.impulse_response(_k_weighting(rate), rate // 4)


@functools.cache
def _interpolator(factor: int) -> Samples:
    """A ``factor``-times interpolation filter of 12 taps per phase (as BS.1770-4's 4x
    true-peak meter), symmetric around its middle tap."""
    from voiceguide.sound import dsp

    return dsp.lowpass(factor * _TRUE_PEAK_TAPS + 1, 1 / factor) * factor


_TRUE_PEAK_TAPS = 12
_TRUE_PEAK_RATE = 176_400  # oversampled to at least this: 4x at 44.1 kHz, 8x at 22.05 kHz


def _peak_envelope(samples: Samples, rate: int = 44_100) -> Samples:
    """Per sample, the largest absolute value of the oversampled signal around it (the
    in-between phases of a polyphase filter; at 44.1 kHz within 0.01 dB of an 81-tap 4x
    resampler on speech, measured)."""
    import numpy as np

    factor = max(_OVERSAMPLE, -(-_TRUE_PEAK_RATE // rate))
    h = _interpolator(factor)
    middle = factor * _TRUE_PEAK_TAPS // 2  # the middle tap, in oversampled samples
    envelope: Samples = np.abs(samples)
    for phase in range(1, factor):
        # oversampled sample f*n + phase: the taps j with (f*n + phase + middle - j) % f == 0
        first = (phase + middle) % factor
        shift = (phase + middle - first) // factor
        part = np.convolve(samples, h[first::factor])[shift : shift + len(samples)]
        np.maximum(envelope, np.abs(part), out=envelope)
    return envelope


def true_peak_dbtp(samples: Samples) -> float:

    peak = float(_peak_envelope(samples).max()) if len(samples) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _limiter_gain(envelope: Samples, gain: float, rate: int, ceiling: float) -> Samples:
    """The per-sample gain of a look-ahead brick-wall limiter after a fixed ``gain``: a
    minimum filter then a moving average of the same width never lets the gain exceed what
    any peak within reach needs, and ramps smoothly."""
    import numpy as np

    from voiceguide.sound import dsp

    needed = np.minimum(gain, ceiling / np.maximum(envelope, 1e-12))
    if needed.min() >= gain:
        return np.full_like(envelope, gain)
    width = 2 * int(_LIMITER_WINDOW_S * rate) + 1
    smooth = dsp.running_mean(dsp.running_min(needed, width), width)
    result: Samples = np.minimum(smooth, needed)
    return result


def normalize(
    samples: Samples,
    rate: int,
    target_lufs: float = TARGET_LUFS + PIECE_OFFSET_LU,
    ceiling_dbtp: float = CEILING_DBTP,
) -> Samples:
    """``samples`` (floats in [-1, 1]) at ``target_lufs``, true peaks at most ``ceiling_dbtp``.

    The true-peak envelope is computed once; since limiting lowers the loudness a little,
    the gain before the limiter is corrected from a new measurement (twice at most).
    """
    import numpy as np

    ceiling = 10 ** (ceiling_dbtp / 20)
    weighted = _k_weighted(samples, rate, _IN_TRACK_PAD_S)
    measured = _gated_lufs(weighted * weighted, rate)
    if not math.isfinite(measured):
        return samples
    envelope = _peak_envelope(samples, rate)
    gain_db = target_lufs - measured
    out = samples
    pad = int(_IN_TRACK_PAD_S * rate)
    for _ in range(3):
        gain = _limiter_gain(envelope, 10 ** (gain_db / 20), rate, ceiling)
        out = samples * gain
        # the limited samples' loudness: the K-weighted samples times the gain (the gain
        # moves slowly next to the filter: within 0.0001 LU of filtering again, measured)
        after = len(weighted) - pad - len(samples)
        curve = np.concatenate([np.full(pad, gain[0]), gain, np.full(after, gain[-1])])
        error_db = target_lufs - _gated_lufs((weighted * curve) ** 2, rate)
        if abs(error_db) < 0.1:
            break
        gain_db += error_db
    return out
