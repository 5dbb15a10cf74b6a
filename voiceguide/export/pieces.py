"""Which encoder encodes which MP3 frames: the plan of a parallel encode (pure).

LAME turns every 1,152 samples into one frame (its data laid out again across the joins:
:mod:`.reservoir`), so a stream can be encoded in pieces that start on the frame grid of
the whole: piece ``i`` keeps the MP3 frames ``[first, end)`` of the whole stream, and its
encoder is fed the samples of those frames plus a few frames more on either side, so that
its filter banks and psychoacoustic model see the same audio around the joins as a single
encoder would (the extra frames are dropped).

Frames deep inside the timeline's silences are not encoded at all: every frame LAME writes
for digital silence decodes to zeros, and so does the stock silent frame the join puts in
their place (:mod:`.frames`). A frame counts as deep inside when the samples of
``_MARGIN_FRAMES`` frames on either side of it are silent too, far more than LAME's window
(its 576-sample delay, the 1,152-sample MDCT window and the 512-tap filter bank) reaches.
The routine's pauses are about half of it, and silence costs LAME half the time sound
does: the encoders' work falls by about a fifth.

The pieces are shared out between the encoders (one per core) in stream order, each piece
to the encoder with the least work so far; an encoder is fed its pieces one after another.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SAMPLES_PER_FRAME", "Piece", "has_gaps", "plan_encoders", "plan_pieces"]

SAMPLES_PER_FRAME = 1152  # MPEG-1 layer III
# six, not two: an encoder's bit reservoir fills over its lead frames, so its first kept
# frames get as many bits as a single encoder's would
_LEAD_FRAMES = 6  # fed before a piece's first kept frame (and after its last), then dropped
_MIN_PIECE_FRAMES = 40 * 44_100 // SAMPLES_PER_FRAME  # about 40 s: shorter is not worth it
_MARGIN_FRAMES = 2  # a skipped frame has this many silent frames on either side
_MIN_GAP_FRAMES = 2 * _LEAD_FRAMES + 4  # shorter silences are encoded: not worth a restart


@dataclass(frozen=True)
class Piece:
    """One stretch an encoder encodes: MP3 frames ``[first_frame, end_frame)`` of the whole
    stream (``end_frame`` None: to the end), fed the samples ``[start_sample, end_sample)``
    (past the stream's end: zeros, up to the frame grid)."""

    first_frame: int
    end_frame: int | None
    start_sample: int
    end_sample: int

    @property
    def lead_frames(self) -> int:
        """Frames the encoder writes before the first kept one."""
        return self.first_frame - self.start_sample // SAMPLES_PER_FRAME

    @property
    def fed_frames(self) -> int | None:
        """Frames the encoder writes for this piece (None for the last piece, whose encoder
        also writes LAME's final frames)."""
        if self.end_frame is None:
            return None
        return (self.end_sample - self.start_sample) // SAMPLES_PER_FRAME


def plan_encoders(
    total_samples: int, count: int, quiet: Sequence[tuple[int, int]] = ()
) -> list[list[Piece]]:
    """The pieces of a stream of ``total_samples`` for up to ``count`` encoders, each list
    in stream order; no frame in two pieces, and the frames in none are deep inside the
    ``quiet`` sample ranges (digital silence). The last piece runs to the stream's end."""
    frames = -(-total_samples // SAMPLES_PER_FRAME)
    spans = _sounding_spans(frames, _merged(quiet))
    work = sum(end - first + 2 * _LEAD_FRAMES for first, end in spans)
    count = max(1, min(count, work // _MIN_PIECE_FRAMES))
    most = -(-work // count)  # frames per encoder when shared evenly
    ranges = []
    for first, end in spans:  # a span longer than an encoder's share is cut, in quiet if near
        ranges += _cut(first, end, -(-(end - first) // most), quiet)
    loads = [0] * count
    jobs: list[list[Piece]] = [[] for _ in range(count)]
    for index, (first, end) in enumerate(ranges):
        which = min(range(count), key=lambda i: loads[i])
        jobs[which].append(_piece(first, end, index == len(ranges) - 1, total_samples))
        loads[which] += end - first + 2 * _LEAD_FRAMES
    return [job for job in jobs if job]


def has_gaps(jobs: Sequence[Sequence[Piece]]) -> bool:
    """Whether some frames of the stream are in no piece (silence nobody encodes)."""
    pieces = sorted((piece for job in jobs for piece in job), key=lambda p: p.first_frame)
    if not pieces or pieces[0].first_frame > 0:
        return True
    return any(a.end_frame != b.first_frame for a, b in itertools.pairwise(pieces))


def plan_pieces(
    total_samples: int, count: int, quiet: Sequence[tuple[int, int]] = ()
) -> list[Piece]:
    """Up to ``count`` contiguous pieces of about equal length covering the whole stream,
    whatever is silent; each join is moved into a quiet stretch (``quiet``: sample ranges of
    silence) when one is near."""
    frames = -(-total_samples // SAMPLES_PER_FRAME)
    ranges = _cut(0, frames, max(1, min(count, frames // _MIN_PIECE_FRAMES)), quiet)
    return [
        _piece(first, end, index == len(ranges) - 1, total_samples)
        for index, (first, end) in enumerate(ranges)
    ]


def _cut(
    first: int, end: int, parts: int, quiet: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The frames ``[first, end)`` cut into ``parts`` of about equal length, each join
    moved into a quiet stretch when one is near."""
    joins = [
        _quiet_join(first + round(i * (end - first) / parts), (end - first) // parts // 4, quiet)
        for i in range(1, parts)
    ]
    bounds = [first, *sorted(set(joins)), end]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _piece(first: int, end: int, last: bool, total_samples: int) -> Piece:
    """The piece keeping frames ``[first, end)``, fed from ``_LEAD_FRAMES`` before them to
    as many after (the last piece: to the stream's end, where LAME's final frames follow)."""
    return Piece(
        first,
        None if last else end,
        max(0, first - _LEAD_FRAMES) * SAMPLES_PER_FRAME,
        total_samples if last else (end + _LEAD_FRAMES) * SAMPLES_PER_FRAME,
    )


def _merged(quiet: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sample ranges, sorted, with touching and overlapping ones made one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(quiet):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _sounding_spans(frames: int, quiet: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The frame ranges to encode: all but the runs of frames (of ``_MIN_GAP_FRAMES`` or
    more) that lie, margins and all, inside a silence; the stream's last frames always."""
    spans: list[tuple[int, int]] = []
    at = 0
    for start, end in quiet:
        first = -(-start // SAMPLES_PER_FRAME) + _MARGIN_FRAMES
        if start == 0:  # before the stream, the encoder hears silence too
            first = 0
        stop = min(end // SAMPLES_PER_FRAME - _MARGIN_FRAMES, frames - _MARGIN_FRAMES - 1)
        if stop - first < _MIN_GAP_FRAMES or first < at:
            continue
        if first > at:
            spans.append((at, first))
        at = stop
    spans.append((at, frames))
    return spans


def _quiet_join(target: int, reach: int, quiet: Sequence[tuple[int, int]]) -> int:
    """The frame nearest ``target`` (within ``reach``) whose encoders, lead frames and all,
    would see only silence; else ``target``."""
    need = _LEAD_FRAMES + 1
    best = target
    best_distance = reach + 1
    for start, end in quiet:
        first = -(-start // SAMPLES_PER_FRAME) + need  # the window stays inside [start, end)
        last = end // SAMPLES_PER_FRAME - need
        if first > last:
            continue
        frame = min(max(target, first), last)
        if abs(frame - target) < best_distance:
            best, best_distance = frame, abs(frame - target)
    return best
