"""The few filters loudness normalization needs, with numpy alone.

scipy.signal is slow to import (it imports scipy.stats), and every synthesis worker would
import it before its first phrase could be finished, costing a cold export more than
finishing the phrases does. These are the same designs (a Kaiser windowed-sinc low-pass
as ``scipy.signal.firwin``, causal IIR filtering as a convolution with the impulse
response, running minimum and mean with the edges repeated as ``scipy.ndimage``'s
``mode="nearest"``); the tests compare them with scipy's. Resampling is libsoxr's (soxr).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = ["convolve", "impulse_response", "lowpass", "running_mean", "running_min"]

_DIRECT_TAPS = 64  # longer filters are applied by FFT
_BLOCK = 1 << 16  # samples per FFT block


def lowpass(taps: int, cutoff: float, beta: float = 5.0) -> Samples:
    """A linear-phase low-pass FIR (odd ``taps``), ``cutoff`` relative to the Nyquist
    frequency, Kaiser window, unit gain at 0 Hz."""
    n = np.arange(taps) - (taps - 1) / 2
    h: Samples = cutoff * np.sinc(cutoff * n) * np.kaiser(taps, beta)
    unit: Samples = h / h.sum()
    return unit


def convolve(x: Samples, h: Samples) -> Samples:
    """The full convolution of ``x`` and ``h`` (``len(x) + len(h) - 1`` samples); long
    filters by FFT (block by block past a few seconds, so memory stays bounded)."""
    if len(h) <= _DIRECT_TAPS or len(x) == 0:
        out: Samples = np.convolve(x, h)
        return out
    block = len(x) if len(x) <= 4 * _BLOCK else _BLOCK
    size = _fast_size(block + len(h) - 1)
    spectrum = np.fft.rfft(h, size)
    result = np.zeros(len(x) + len(h) - 1)
    for start in range(0, len(x), block):
        part = x[start : start + block]
        piece = np.fft.irfft(np.fft.rfft(part, size) * spectrum, size)
        stop = min(len(result), start + len(part) + len(h) - 1)
        result[start:stop] += piece[: stop - start]
    return result


def _fast_size(n: int) -> int:
    """The smallest FFT size at least ``n`` whose only prime factors are 2, 3 and 5."""
    best = 1 << max(0, (n - 1).bit_length())
    five = 1
    while five < best:
        three = five
        while three < best:
            size = three
            while size < n:
                size *= 2
            best = min(best, size)
            three *= 3
        five *= 5
    return best


def impulse_response(sections: Samples, length: int) -> Samples:
    """The first ``length`` samples of the impulse response of cascaded biquads (rows of
    ``b0 b1 b2 a0 a1 a2``, ``a0`` = 1), as ``scipy.signal.sosfilt`` would filter."""
    signal = np.zeros(length)
    signal[0] = 1.0
    for b0, b1, b2, _a0, a1, a2 in sections:
        x = signal.tolist() + [0.0] * (length - len(signal))
        y = [0.0] * length
        x1 = x2 = y1 = y2 = 0.0
        for i, xi in enumerate(x):
            yi = b0 * xi + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            y[i] = yi
            x2, x1, y2, y1 = x1, xi, y1, yi
            if i > 64 and abs(yi) < 1e-13 and abs(y2) < 1e-13:  # decayed to nothing
                del y[i + 1 :]
                break
        signal = np.array(y)
    return signal


def running_min(x: Samples, width: int) -> Samples:
    """The minimum of the ``width`` (odd) samples centred on each sample, the edge values
    repeated outside (van Herk / Gil-Werman: two passes, whatever the width)."""
    half = width // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half + width, x[-1])])
    blocks = -(-len(padded) // width)
    padded = np.concatenate([padded, np.full(blocks * width - len(padded), x[-1])])
    grid = padded.reshape(blocks, width)
    ahead = np.minimum.accumulate(grid, axis=1).ravel()  # min from each block's start
    behind = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()  # to its end
    out: Samples = np.minimum(behind[: len(x)], ahead[width - 1 : width - 1 + len(x)])
    return out


def running_mean(x: Samples, width: int) -> Samples:
    """The mean of the ``width`` (odd) samples centred on each sample, edges repeated."""
    half = width // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    total = np.concatenate([[0.0], np.cumsum(padded)])
    out: Samples = (total[width:] - total[:-width]) / width
    return out
