"""The sounds that acknowledge a key press during live playback.

Every control answers with a short sound of its own, so a listener with eyes closed knows
it took effect. All are glides (the pitch slides smoothly, an octave or more), which no cue
of a routine uses (cues are steady notes):

======== ================================================ ======
ack      sound                                             length
======== ================================================ ======
pause    a slide down (880 -> 440 Hz)                       220 ms
resume   a slide up (440 -> 880 Hz)                         220 ms
next     a quick high swoosh up (900 -> 1800 Hz)            130 ms
back     a quick high swoosh down (1800 -> 900 Hz)          130 ms
stop     a long slide down to a low hum (440 -> 110 Hz)     500 ms
======== ================================================ ======
"""

from __future__ import annotations

import math
import sys
from array import array
from enum import StrEnum
from functools import cache

from voiceguide.sound.audio import FORMAT, AudioFormat

__all__ = ["ACK_MS", "DESCRIPTIONS", "Ack", "ack_pcm"]


class Ack(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    NEXT = "next"
    BACK = "back"
    STOP = "stop"


# (from Hz, to Hz, length ms, peak level dBFS)
_GLIDES: dict[Ack, tuple[float, float, int, float]] = {
    Ack.PAUSE: (880.0, 440.0, 220, -12.0),
    Ack.RESUME: (440.0, 880.0, 220, -12.0),
    Ack.NEXT: (900.0, 1800.0, 130, -15.0),
    Ack.BACK: (1800.0, 900.0, 130, -15.0),
    Ack.STOP: (440.0, 110.0, 500, -10.0),
}
ACK_MS: dict[Ack, int] = {ack: glide[2] for ack, glide in _GLIDES.items()}
DESCRIPTIONS: dict[Ack, str] = {
    Ack.PAUSE: "a slide down: paused",
    Ack.RESUME: "a slide up: playing again",
    Ack.NEXT: "a quick high swoosh up: skipped ahead",
    Ack.BACK: "a quick high swoosh down: went back",
    Ack.STOP: "a long slide down to a low hum: stopped",
}
_FADE_MS = 15


@cache
def ack_pcm(ack: Ack, fmt: AudioFormat = FORMAT) -> bytes:
    """The acknowledgement's PCM in ``fmt`` (16-bit), exactly ``ACK_MS[ack]`` long."""
    if fmt.sample_width != 2:
        raise ValueError(f"acknowledgements are 16-bit, not {8 * fmt.sample_width}-bit")
    start_hz, end_hz, length_ms, level_dbfs = _GLIDES[ack]
    frames = fmt.frames(length_ms)
    fade = fmt.frames(_FADE_MS)
    peak = 32767 * 10 ** (level_dbfs / 20)
    ratio = end_hz / start_hz
    samples = array("h")
    phase = 0.0
    for i in range(frames):
        progress = i / frames
        # an exponential glide sounds even: equal musical steps in equal times
        phase += 2 * math.pi * start_hz * ratio**progress / fmt.sample_rate
        envelope = min(1.0, i / fade, (frames - 1 - i) / fade)
        value = round(peak * envelope * math.sin(phase))
        samples.extend([value] * fmt.channels)
    if sys.byteorder == "big":  # pragma: no cover - the format is little-endian
        samples.byteswap()
    return samples.tobytes()
