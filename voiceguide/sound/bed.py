"""The music bed: a generated pad (:mod:`.pad`) or the listener's music (:mod:`.music`) under
the voice, ducked under every phrase and cue (``--bed``, ``--bed-level``).

The ducking is computed from the timeline, which knows where every sound is, not from a
level detector: the bed starts to fall ``FALL_MS`` before each phrase or cue, is down by the
time it starts, and is back ``RISE_MS`` after it ends, on cosine curves (in dB). Sounds
closer together than ``BRIDGE_MS`` are ducked as one, so the bed never pumps within a
sentence or a countdown. It is faded in at the start and out over the last seconds.

Everything is a pure function of the frame position: any stretch of the mix can be made on
its own, and is the same however the audio is cut into chunks, so live playback (rendering
ahead from wherever it is) and export (from the start) give the same samples. The ramps are
tables made once and read by frame offset, so no gain depends on where a chunk starts.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from voiceguide.plan.parsing import BED_LEVEL_DB
from voiceguide.plan.timeline import Speech, Timeline, Tone
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.music import Music
from voiceguide.sound.pad import Pad

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = [
    "BRIDGE_MS",
    "FALL_MS",
    "RISE_MS",
    "SETTLE_MS",
    "BedMix",
    "BedSource",
    "Ducking",
    "Music",
    "Pad",
    "open_bed",
    "settled_events",
]

DUCK_DB = 10.0  # under speech and cues the bed is this much lower than in the holds...
DUCKED_MAX_DB = -24.0  # ...and at least this far below the speech loudness,
PEAK_UNDER_SPEECH = 0.02  # with peaks of at most this (-34 dBFS): the mix keeps its true peak
FALL_MS = 150
RISE_MS = 400
BRIDGE_MS = 2_000
FADE_IN_MS = 3_000
FADE_OUT_MS = 6_000
# How far ahead the bed's gain looks: a plan that is final only up to some event gives the
# mix only up to this long before it (live playback starts on a partly made plan).
SETTLE_MS = FADE_OUT_MS + BRIDGE_MS + FALL_MS
_MIX_BLOCK_FRAMES = 8192  # mixed at a time: 0.19 s, 64 KiB of floats


class BedSource(Protocol):
    """A bed at the speech loudness (``TARGET_LUFS``); samples are floats, 1.0 full scale."""

    @property
    def name(self) -> str: ...

    @property
    def peak(self) -> float:
        """The largest absolute sample it ever gives."""
        ...

    def samples(self, start: int, count: int) -> Samples:
        """Frames ``start`` to ``start + count``, for any ``start`` >= 0."""
        ...


def open_bed(source: str, cache_dir: Path, fmt: AudioFormat = FORMAT) -> BedSource:
    """``"pad"`` or a music file's path -> the bed; a file that cannot be one raises a
    :class:`~voiceguide.errors.SettingsError` (a missing ffmpeg: DependencyMissing)."""
    if source == "pad":
        return Pad(cache_dir, fmt)
    return Music(Path(source).expanduser(), cache_dir, fmt)


class Ducking:
    """The bed's gain at every frame of a timeline (see the module)."""

    def __init__(
        self,
        timeline: Timeline,
        level_db: float = BED_LEVEL_DB,
        peak: float = 1.0,
        fmt: AudioFormat = FORMAT,
    ) -> None:
        import numpy as np

        self.hold_gain = 10 ** (level_db / 20)
        ducked = 10 ** (min(level_db - DUCK_DB, DUCKED_MAX_DB) / 20)
        self.duck_gain = min(ducked, PEAK_UNDER_SPEECH / max(peak, 1e-9))
        self.total = fmt.frames(timeline.total_ms)
        spans: list[tuple[int, int]] = []
        bridge = fmt.frames(BRIDGE_MS)
        for event in timeline.events:
            if isinstance(event, Speech | Tone):
                a, b = fmt.frames(event.start_ms), fmt.frames(event.end_ms)
                if spans and a - spans[-1][1] < bridge:
                    a = spans.pop()[0]
                spans.append((a, b))
        self.spans = spans  # (first frame, end frame) of each ducked stretch
        self._starts = [a for a, _b in spans]
        low_db, high_db = 20 * math.log10(self.duck_gain), level_db

        def fall(ms: int) -> Samples:  # from the hold level down to the ducked one
            x = (np.arange(fmt.frames(ms)) + 0.5) / fmt.frames(ms)
            shape = 0.5 - 0.5 * np.cos(np.pi * x)
            table: Samples = 10 ** ((high_db + (low_db - high_db) * shape) / 20)
            return table

        self._fall = fall(FALL_MS)
        self._rise = fall(RISE_MS)[::-1].copy()
        x = (np.arange(fmt.frames(FADE_IN_MS)) + 0.5) / fmt.frames(FADE_IN_MS)
        self._fade_in: Samples = 0.5 - 0.5 * np.cos(np.pi * x)
        x = (np.arange(fmt.frames(FADE_OUT_MS)) + 0.5) / fmt.frames(FADE_OUT_MS)
        self._fade_out: Samples = 0.5 + 0.5 * np.cos(np.pi * x)

    def gain(self, start: int, count: int) -> Samples:
        """The gain of frames ``start`` to ``start + count`` (0 past the end)."""
        import numpy as np

        end = start + count
        out: Samples = np.full(count, self.hold_gain)
        # stretches are at least BRIDGE_MS apart, more than a rise and a fall: none overlap
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        while i < len(self.spans) and self.spans[i][0] - len(self._fall) < end:
            a, b = self.spans[i]
            i += 1
            _put(out, start, a - len(self._fall), self._fall)
            out[max(a, start) - start : max(min(b, end), start) - start] = self.duck_gain
            _put(out, start, b, self._rise)
        _put(out, start, 0, self._fade_in, multiply=True)
        _put(out, start, self.total - len(self._fade_out), self._fade_out, multiply=True)
        out[max(0, self.total - start) :] = 0.0
        return out


def _put(out: Samples, start: int, at: int, table: Samples, multiply: bool = False) -> None:
    """Write (or multiply in) ``table``, placed at frame ``at``, into ``out`` (from ``start``)."""
    lo, hi = max(at, start), min(at + len(table), start + len(out))
    if hi > lo:
        if multiply:
            out[lo - start : hi - start] *= table[lo - at : hi - at]
        else:
            out[lo - start : hi - start] = table[lo - at : hi - at]


class BedMix:
    """Adds the ducked bed to rendered speech: ``mix(pcm, first_frame)``."""

    def __init__(
        self,
        source: BedSource,
        timeline: Timeline,
        level_db: float = BED_LEVEL_DB,
        fmt: AudioFormat = FORMAT,
    ) -> None:
        self.source = source
        self.level_db = level_db
        self.ducking = Ducking(timeline, level_db, source.peak, fmt)
        self._fmt = fmt

    def mix(self, pcm: bytes, first_frame: int) -> bytes:
        """``pcm`` (s16, the timeline's frames from ``first_frame`` on) with the bed in it,
        mixed a block at a time (a phrase of seconds would take megabytes of floats)."""
        width = self._fmt.frame_bytes
        block = _MIX_BLOCK_FRAMES * width
        if len(pcm) <= block:
            return self._mixed(pcm, first_frame)
        return b"".join(
            self._mixed(pcm[at : at + block], first_frame + at // width)
            for at in range(0, len(pcm), block)
        )

    def _mixed(self, pcm: bytes, first_frame: int) -> bytes:
        import numpy as np

        count = len(pcm) // self._fmt.frame_bytes
        if count == 0:
            return pcm
        bed = self.source.samples(first_frame, count) * self.ducking.gain(first_frame, count)
        mixed = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
        mixed += np.rint(bed * 32767.0).astype(np.int32)
        return np.clip(mixed, -32768, 32767).astype("<i2").tobytes()

    def for_timeline(self, timeline: Timeline) -> BedMix:
        """The same bed under another timeline (a later stage of a plan)."""
        return BedMix(self.source, timeline, self.level_db, self._fmt)


def settled_events(timeline: Timeline, ready_events: int) -> int:
    """How many of a partly final plan's first ``ready_events`` events have their mix final
    too: those ending at least ``SETTLE_MS`` before the last final event's end."""
    if ready_events >= len(timeline.events):
        return ready_events
    limit = timeline.events[ready_events - 1].end_ms - SETTLE_MS if ready_events else 0
    return bisect.bisect_right([e.end_ms for e in timeline.events[:ready_events]], limit)
