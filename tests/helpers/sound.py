"""Helpers of the sound tests: the virtual device (:mod:`voiceguide.bench.virtual_sound`), the
measurements printed at the end of a run, and finding one sound inside a recording."""

from __future__ import annotations

import numpy as np

from voiceguide.bench.virtual_sound import RATE, SinkRecorder, SoundDevice, missing

__all__ = ["MEASUREMENTS", "RATE", "SinkRecorder", "SoundDevice", "find", "missing", "similarity"]

MEASUREMENTS: dict[str, str] = {}
"""Numbers the sound tests measured, printed at the end of the test run."""


# ---- analysis


def find(piece: np.ndarray, recording: np.ndarray, start: int = 0, stop: int | None = None) -> int:
    """Where ``piece`` best matches ``recording[start:stop]``: the largest normalized
    cross-correlation, so that a loud passage does not outweigh the quiet exact match."""
    hay = recording[start:stop].astype(np.float64)
    probe = piece.astype(np.float64)
    if len(hay) < len(probe):
        raise AssertionError("the recording is shorter than what is looked for")
    n = 1 << (len(hay) + len(probe)).bit_length()
    places = len(hay) - len(probe) + 1
    corr = np.fft.irfft(np.fft.rfft(hay, n) * np.conj(np.fft.rfft(probe, n)), n)[:places]
    energy = np.concatenate(([0.0], np.cumsum(hay * hay)))
    local = np.sqrt(np.maximum(energy[len(probe) :] - energy[:places], 0.0))
    score = corr / np.maximum(local, 1e-9 * (1.0 + local.max()))
    return start + int(np.argmax(score))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalized correlation of two equally long pieces (1: the same up to loudness)."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.dot(x, y) / norm) if norm else 0.0
