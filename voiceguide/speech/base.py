"""The speech engine's interface: what every synthesizer (espeak-ng through pyttsx3, and any
other engine) offers the phrase cache."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

__all__ = [
    "Finisher",
    "SynthesisProgress",
    "Synthesizer",
    "estimate_s",
    "log_interpolate",
    "short",
]

Finisher = Callable[[str, Path], None]
"""Called with a phrase's text and the path of its WAV."""

SynthesisProgress = Callable[[int, int, float], None]
"""Called with the phrases synthesized so far, the phrases to synthesize in all, and how
long the whole synthesis should take (in seconds, estimated from the words)."""


class Synthesizer(Protocol):
    """Turns phrases into WAV files."""

    @property
    def identity(self) -> str:
        """Everything that changes the sound: engine, voice, rate (part of the cache key)."""
        ...

    def synthesize(
        self,
        jobs: Sequence[tuple[str, Path]],
        finish: Finisher | None = None,
        done: Finisher | None = None,
        spoken: Finisher | None = None,
    ) -> None:
        """Write each text, spoken, to its path (a WAV at any rate; mono or stereo; 16-bit),
        and call ``spoken(text, path)`` on it; then call ``finish(text, path)`` on it (in a
        worker, when there are workers) and ``done(text, path)``. The callbacks ``spoken``
        and ``done`` run in the calling thread, job by job in order: the phrases finished so
        far are kept when a later one fails or synthesis is stopped. ``spoken`` may come for
        every job before the first ``finish``: the speech's length is known early."""
        ...

    def cancel(self) -> None:
        """Stop synthesis running in another thread at once (it raises Interrupted there).
        The synthesizer is not used again."""
        ...


def short(text: str, limit: int = 60) -> str:
    """A phrase as an error message quotes it: at most ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def estimate_s(synthesizer: Synthesizer, texts: Iterable[str]) -> float:
    """How long synthesizing ``texts`` should take: the engine's measured cost per word (a
    ``cost_s_per_word`` attribute; none for a fake) over its worker processes."""
    per_word = float(getattr(synthesizer, "cost_s_per_word", 0.0))
    workers = max(1, int(getattr(synthesizer, "workers", 1)))
    return per_word * sum(len(text.split()) for text in texts) / workers


def log_interpolate(table: Iterable[tuple[float, float]], rate_wpm: int) -> float:
    """The engine setting at which a listener counts ``rate_wpm`` words a minute, from a
    measured table of (setting, words a minute): interpolated log-log, extended beyond its
    ends by its first and last steps."""
    points = sorted((math.log(wpm), math.log(setting)) for setting, wpm in table)
    x = math.log(rate_wpm)
    i = min(max(1, sum(1 for px, _ in points if px < x)), len(points) - 1)
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return round(math.exp(y0 + (x - x0) * (y1 - y0) / (x1 - x0)), 4)
