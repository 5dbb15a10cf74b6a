"""The pieces the live player is made of: lookups by time in a timeline (:class:`Index`), the
renderer that fills a stream's buffer ahead of the device (:class:`Renderer`), and one
continuous stream on the device (:class:`Stream`).

How a stream works. A :class:`Player` backend plays a buffer that it reads *while* playing,
never more than ``read_ahead_ms`` ahead of the time elapsed since ``play()`` returned
(simpleaudio reads the buffer in place). The engine renders into that buffer a few seconds
ahead of that point, so playback starts as soon as the first second is rendered and goes on
as one continuous stream: no gaps between pieces, no drift. To end the sound at an exact
frame (pause, skip, stop) it picks a frame the device cannot have read yet (now + read-ahead
+ a margin), writes the acknowledgement sound and then silence from there, and stops the
stream once the device has played past it. The content ends exactly at that frame, and
resuming starts a new stream exactly there, after the resume sound.
"""

from __future__ import annotations

import bisect
import dataclasses
import mmap
from collections.abc import Iterator, Sequence

from voiceguide.plan.timeline import Event, Timeline
from voiceguide.play.device import PlayHandle
from voiceguide.play.state import PlanStage, State, Status
from voiceguide.sound.audio import AudioFormat
from voiceguide.sound.bed import BedMix, settled_events
from voiceguide.sound.render import CueSource, PhraseSource, render_events

__all__ = ["EDGE_MS", "Index", "Renderer", "Stream", "bedded"]

EDGE_MS = 15  # with a music bed, content is faded in and out this long where a stream
# starts (after a pause or skip) and where it is cut


class Index:
    """Lookups by time in one timeline."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._chapters = [c.start_ms for c in timeline.chapters]
        self._sections = [s.start_ms for s in timeline.sections]
        self._holds = [h.start_ms for h in timeline.holds]
        self._sets = [s.start_ms for s in timeline.sets]
        self._rounds: dict[str, int] = {}
        for hold in timeline.holds:
            self._rounds[hold.exercise] = max(self._rounds.get(hold.exercise, 0), hold.round)
        self._set_counts: dict[str, int] = {}
        for rep_set in timeline.sets:
            count = max(self._set_counts.get(rep_set.exercise, 0), rep_set.set)
            self._set_counts[rep_set.exercise] = count

    def section_index(self, ms: int) -> int:
        return max(0, bisect.bisect_right(self._sections, ms) - 1)

    def status(self, state: State, ms: int, total_ms: int | None) -> Status:
        t = self.timeline
        chapter = (
            t.chapters[max(0, bisect.bisect_right(self._chapters, ms) - 1)] if t.chapters else None
        )
        section = t.sections[self.section_index(ms)] if t.sections else None
        hold = rep_set = None
        hold_left = rep = rounds = sets = None
        i = bisect.bisect_right(self._holds, ms) - 1
        if i >= 0 and ms < t.holds[i].end_ms:
            hold = t.holds[i]
            hold_left = hold.end_ms - ms
            rounds = self._rounds[hold.exercise]
        i = bisect.bisect_right(self._sets, ms) - 1
        if i >= 0 and ms < t.sets[i].end_ms:
            rep_set = t.sets[i]
            length = rep_set.end_ms - rep_set.start_ms
            rep = min(rep_set.reps, (ms - rep_set.start_ms) * rep_set.reps // max(1, length) + 1)
            sets = self._set_counts[rep_set.exercise]
        return Status(
            state,
            t.title,
            ms,
            total_ms,
            chapter,
            len(t.chapters),
            section,
            hold,
            hold_left,
            rounds,
            rep_set,
            rep,
            sets,
        )


class Renderer:
    """The timeline's PCM from one frame on, a chunk at a time (``render_events`` per event)."""

    def __init__(
        self,
        events: Sequence[Event],
        frame: int,
        phrases: PhraseSource,
        cues: CueSource | None,
        fmt: AudioFormat,
    ) -> None:
        self._phrases, self._cues, self._fmt = phrases, cues, fmt
        self._frame = frame  # of the next chunk
        starts = [fmt.frames(e.start_ms) for e in events] or [0]
        self._next = max(0, bisect.bisect_right(starts, frame) - 1)
        self._skip_bytes = (frame - starts[self._next]) * fmt.frame_bytes
        self._chunks: Iterator[bytes] | None = None

    def next_chunk(
        self, events: Sequence[Event], ready_events: int, bed: BedMix | None = None
    ) -> bytes | None:
        """The next chunk (with the music ``bed`` mixed in), or None when the next event is
        not final (or there is none)."""
        while True:
            if self._chunks is None:
                if self._next >= ready_events:
                    return None
                event = events[self._next]
                self._chunks = render_events((event,), self._phrases, self._fmt, self._cues)
                self._next += 1
            chunk = next(self._chunks, None)
            if chunk is None:
                self._chunks = None
                continue
            if self._skip_bytes:
                if len(chunk) <= self._skip_bytes:
                    self._skip_bytes -= len(chunk)
                    continue
                chunk, self._skip_bytes = chunk[self._skip_bytes :], 0
            frame, self._frame = self._frame, self._frame + len(chunk) // self._fmt.frame_bytes
            return chunk if bed is None else bed.mix(chunk, frame)


def bedded(plan: PlanStage | Timeline, bed: BedMix | None) -> tuple[PlanStage, BedMix | None]:
    """The plan, and the music bed under its timeline. The bed's gain looks a few seconds
    ahead (:data:`~voiceguide.sound.bed.SETTLE_MS`), so of a plan that is not final yet only
    the events that far from its unsettled part are ready to play with a bed."""
    stage = plan if isinstance(plan, PlanStage) else PlanStage.complete(plan)
    if bed is None:
        return stage, None
    ready = settled_events(stage.timeline, stage.ready_events)
    return dataclasses.replace(stage, ready_events=ready), bed.for_timeline(stage.timeline)


class Stream:
    """One device stream: a buffer holding [preroll][content from ``start_frame`` on]."""

    def __init__(
        self,
        start_frame: int,
        preroll: bytes,
        content_frames: int,
        renderer: Renderer,
        fmt: AudioFormat,
    ) -> None:
        self.fmt = fmt
        self.start_frame = start_frame
        self.preroll_frames = len(preroll) // fmt.frame_bytes
        self.end_frame = start_frame + max(1, content_frames)  # the buffer's last frame + 1
        size = (self.preroll_frames + self.end_frame - start_frame) * fmt.frame_bytes
        flags = {"flags": mmap.MAP_PRIVATE} if hasattr(mmap, "MAP_PRIVATE") else {}
        self.memory = mmap.mmap(-1, size, **flags)  # zero pages, allocated when written
        self.memory[: len(preroll)] = preroll
        self.view = memoryview(self.memory)
        self.renderer = renderer
        self.rendered = start_frame  # content is in the buffer up to this frame
        self.trimmed_bytes = 0
        self.handle: PlayHandle | None = None
        self.started_s = 0.0
        self.cut_frame: int | None = None

    def offset(self, frame: int) -> int:
        return (self.preroll_frames + frame - self.start_frame) * self.fmt.frame_bytes

    def position(self, now: float) -> float:
        """The frame the device is at, by the clock (before ``start_frame``: the preroll)."""
        return (
            self.start_frame - self.preroll_frames + (now - self.started_s) * self.fmt.sample_rate
        )

    def time_of(self, frame: float) -> float:
        return (
            self.started_s + (frame - self.start_frame + self.preroll_frames) / self.fmt.sample_rate
        )

    def edge(self, frame: int, rising: bool, on: bool = True) -> None:
        """With a music bed (``on``), soften where the content starts (``rising``: the
        ``EDGE_MS`` from ``frame``) or is cut (the ``EDGE_MS`` before ``frame``, not read yet
        by the device): music cut mid-note would click."""
        n = self.fmt.frames(EDGE_MS)
        lo, hi = (frame, frame + n) if rising else (max(self.start_frame, frame - n), frame)
        a, b = self.offset(lo), min(self.offset(hi), len(self.memory))
        if not on or b <= a:
            return
        import numpy as np  # only under a music bed: importing it delays the first sound

        pcm = np.frombuffer(self.memory[a:b], dtype="<i2")
        k = np.arange(len(pcm))
        distance = (k + 0.5) / n if rising else (len(pcm) - k - 0.5) / n  # from the edge
        ramp = 0.5 - 0.5 * np.cos(np.pi * distance)
        self.memory[a:b] = np.rint(pcm * ramp).astype("<i2").tobytes()

    def write(self, frame: int, data: bytes) -> None:
        start = self.offset(frame)
        end = min(start + len(data), len(self.memory))
        if end > start:
            self.memory[start:end] = data[: end - start]

    def trim(self, before_frame: float) -> None:
        """Let the memory of audio played long ago go (it is not read again)."""
        if not hasattr(self.memory, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
            return
        upto = self.offset(int(before_frame))
        upto -= upto % mmap.PAGESIZE
        if upto - self.trimmed_bytes >= 64 * mmap.PAGESIZE:
            self.memory.madvise(mmap.MADV_DONTNEED, self.trimmed_bytes, upto - self.trimmed_bytes)
            self.trimmed_bytes = upto

    def release(self) -> None:
        self.view.release()
        self.memory.close()
