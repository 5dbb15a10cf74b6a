"""The numpy-only filters behind loudness normalization give what scipy and pyloudnorm give
(the synthesis workers do without scipy, which is slow to import)."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, resample_poly, sosfilt

from voiceguide.sound import dsp, loudness

RNG = np.random.default_rng(17)


def test_the_low_pass_is_scipys_firwin() -> None:
    for taps, cutoff in ((41, 0.5), (49, 0.25), (321, 1 / 160)):
        expected = firwin(taps, cutoff, window=("kaiser", 5.0))
        assert np.abs(dsp.lowpass(taps, cutoff) - expected).max() < 1e-15


@pytest.mark.parametrize(("from_rate", "to_rate"), [(24_000, 44_100), (22_050, 44_100)])
def test_resampling_keeps_the_sound_and_gives_the_planned_length(
    from_rate: int, to_rate: int
) -> None:
    """A tone and its resampled copy are the same sound (to -80 dB away from the ends), the
    length is the one the phrase cache plans with (the ceiling), and a second run gives the
    same samples."""
    for count in (1, 5, 1_001, 3 * from_rate + 7):
        x = RNG.normal(size=count)
        out = loudness.resample(x, from_rate, to_rate)
        assert len(out) == -(-count * to_rate // from_rate)
        assert np.array_equal(out, loudness.resample(x.copy(), from_rate, to_rate))
    seconds = np.arange(2 * from_rate) / from_rate
    out = loudness.resample(0.5 * np.sin(2 * np.pi * 3_000 * seconds), from_rate, to_rate)
    expected = 0.5 * np.sin(2 * np.pi * 3_000 * np.arange(len(out)) / to_rate)
    inside = slice(to_rate // 10, -to_rate // 10)
    assert np.abs(out[inside] - expected[inside]).max() < 1e-4 * 0.5
    # nothing above the old Nyquist frequency comes through
    noise = loudness.resample(RNG.normal(size=from_rate), from_rate, to_rate)
    spectrum = np.abs(np.fft.rfft(noise * np.hanning(len(noise)))) ** 2
    freqs = np.fft.rfftfreq(len(noise), 1 / to_rate)
    above = spectrum[freqs > from_rate / 2 * 1.05].mean()
    assert 10 * np.log10(above / spectrum[freqs < from_rate / 2 * 0.9].mean()) < -90


@pytest.mark.parametrize("n", [1, 700, 70_001, 300_000])
def test_long_filters_by_fft_are_the_convolution(n: int) -> None:
    x, h = RNG.normal(size=n), RNG.normal(size=5_000)
    expected = np.convolve(x, h)
    assert np.abs(dsp.convolve(x, h) - expected).max() < 1e-9 * np.abs(expected).max()


def test_the_k_weighting_response_filters_as_sosfilt() -> None:
    for rate in (22_050, 44_100, 48_000):
        x = RNG.normal(size=rate)
        expected = sosfilt(loudness._k_weighting(rate), x)
        ours = dsp.convolve(x, loudness._k_weighting_response(rate))[: len(x)]
        assert np.abs(ours - expected).max() < 1e-9


@pytest.mark.parametrize("width", [1, 3, 705])
def test_running_minimum_and_mean_are_scipy_ndimage_nearest(width: int) -> None:
    x = RNG.normal(size=10_007)
    assert np.array_equal(dsp.running_min(x, width), minimum_filter1d(x, width, mode="nearest"))
    mean = uniform_filter1d(x, width, mode="nearest")
    assert np.abs(dsp.running_mean(x, width) - mean).max() < 1e-12


def speechy(seconds: float, rate: int = 44_100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    voiced = np.sin(2 * np.pi * 130 * t) + 0.5 * np.sin(2 * np.pi * 2_600 * t)
    return 0.6 * voiced * np.sin(2 * np.pi * 2.7 * t) ** 8 + RNG.normal(0, 0.01, len(t))


@pytest.mark.parametrize("seconds", [0.2, 1.5, 6.0])
def test_the_meter_is_pyloudnorms(seconds: float) -> None:
    x = speechy(seconds)
    for pad_s in (0.0, 0.45):
        padded = np.concatenate([np.zeros(int(pad_s * 44_100)), x, np.zeros(int(pad_s * 44_100))])
        if len(padded) < 22_050:
            padded = np.concatenate([padded, np.zeros(22_050 - len(padded))])
        expected = pyloudnorm.Meter(44_100).integrated_loudness(padded)
        assert loudness.loudness_lufs(x, 44_100, pad_s) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("rate", [22_050, 44_100])
def test_normalized_pieces_reach_the_target_under_the_true_peak_ceiling(rate: int) -> None:
    """As the phrase cache does it: at the engine's rate, then resampled to 44.1 kHz."""
    target = loudness.TARGET_LUFS + loudness.PIECE_OFFSET_LU
    for seconds in (0.6, 2.0, 5.0):
        out = loudness.resample(loudness.normalize(speechy(seconds, rate), rate), rate, 44_100)
        padded = np.concatenate([np.zeros(19_845), out, np.zeros(19_845)])
        measured = pyloudnorm.Meter(44_100).integrated_loudness(padded)
        assert measured == pytest.approx(target, abs=0.1)
        true_peak = 20 * np.log10(np.abs(resample_poly(out, 4, 1)).max())  # scipy's 81 taps
        assert true_peak <= loudness.CEILING_DBTP + 0.05
