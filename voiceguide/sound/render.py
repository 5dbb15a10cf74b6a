"""Rendering: timeline events -> raw PCM, streamed in chunks.

Each event fills exactly the frames its ``start_ms``/``end_ms`` give it (speech is padded
with silence up to its slot, which the compiler made at least as long), so the audio and
the plan never drift apart, and nothing longer than one phrase is ever held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from voiceguide.plan.cues import Cue
from voiceguide.plan.timeline import Event, Silence, Speech, Timeline, Tone
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.bed import BedMix
from voiceguide.sound.tones import cue_audio

__all__ = ["CueSource", "PhraseSource", "render", "render_events", "render_frames"]

PhraseSource = Callable[[str], bytes]
"""Returns a phrase's PCM in the render format (``PhraseCache.pcm``)."""
CueSource = Callable[[Cue], bytes]
"""Returns a cue's PCM in the render format (``CueCache``)."""

_SILENCE_CHUNK_MS = 1000


def render_events(
    events: Iterable[Event],
    phrases: PhraseSource,
    fmt: AudioFormat = FORMAT,
    cues: CueSource | None = None,
) -> Iterator[bytes]:
    """PCM for ``events`` (contiguous), in chunks of at most about a second of silence."""
    zeros = bytes(fmt.frames(_SILENCE_CHUNK_MS) * fmt.frame_bytes)
    for event in events:
        length = (fmt.frames(event.end_ms) - fmt.frames(event.start_ms)) * fmt.frame_bytes
        if isinstance(event, Silence):
            while length > 0:
                piece = min(length, len(zeros))
                yield zeros if piece == len(zeros) else zeros[:piece]
                length -= piece
            continue
        if isinstance(event, Speech):
            data = phrases(event.text)
        elif isinstance(event, Tone):
            data = cues(event.cue) if cues is not None else cue_audio(event.cue, fmt).raw_data
        else:  # pragma: no cover - Event is a closed union
            raise TypeError(event)
        if len(data) >= length:
            yield data[:length]
        else:
            yield data
            yield bytes(length - len(data))


def render_frames(
    events: Sequence[Event],
    start: int,
    end: int,
    phrases: PhraseSource,
    fmt: AudioFormat = FORMAT,
    cues: CueSource | None = None,
) -> Iterator[bytes]:
    """PCM for the audio frames ``[start, end)`` of ``events`` (contiguous, from frame 0):
    a piece of the stream, exactly as :func:`render_events` renders it."""
    for event in events:
        first, stop = fmt.frames(event.start_ms), fmt.frames(event.end_ms)
        if stop <= start or first == stop:
            continue
        if first >= end:
            break
        keep_from, keep_to = max(start, first) - first, min(end, stop) - first  # in the event
        at = 0
        for chunk in render_events((event,), phrases, fmt, cues):
            frames = len(chunk) // fmt.frame_bytes
            lo, hi = max(keep_from - at, 0), min(keep_to - at, frames)
            if hi > lo:
                yield chunk[lo * fmt.frame_bytes : hi * fmt.frame_bytes]
            at += frames
            if at >= keep_to:
                break


def render(
    timeline: Timeline,
    phrases: PhraseSource,
    fmt: AudioFormat = FORMAT,
    cues: CueSource | None = None,
    bed: BedMix | None = None,
) -> bytes:
    """The whole timeline as one PCM buffer (for tests and short routines), with the music
    ``bed`` mixed in."""
    pcm = b"".join(render_events(timeline.events, phrases, fmt, cues))
    return pcm if bed is None else bed.mix(pcm, 0)
