"""One MP3 encoded in pieces at once, one encoder per core, joined into the stream one
encoder would have written.

LAME (through ffmpeg, with no bit reservoir) turns every 1,152 samples into one frame that
decodes on its own, so a stream can be encoded in pieces that start on the frame grid of
the whole: piece ``i`` keeps the MP3 frames ``[first, end)`` of the whole stream, and its
encoder is fed the samples of those frames plus a few frames more on either side, so that
its filter banks and psychoacoustic model see the same audio around the joins as a single
encoder would (the extra frames are dropped). Measured on the default routine (15 min, 96
kbps): the joined file decodes to exactly as many samples as a single encode, aligned to
the sample, identical around every join (0 difference within 100 ms of each), and 39-41 dB
under the signal elsewhere (LAME's adaptive state drifts a little apart), where the MP3
coding noise itself is 25 dB under it.

The joined stream starts with piece 0's LAME/Info frame, its frame count, length and
padding set for the whole (the padding as the last piece's encoder wrote it); the chapter
split then copies the stream once more through ffmpeg's MP3 writer, which writes the final
header (its table of contents and checksums) from the frames themselves.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from voiceguide.errors import ExportError

__all__ = ["SAMPLES_PER_FRAME", "Piece", "encode_in_pieces", "join_pieces", "plan_pieces"]

SAMPLES_PER_FRAME = 1152  # MPEG-1 layer III
_LEAD_FRAMES = 2  # fed before a piece's first kept frame (and after its last), then dropped
_MIN_PIECE_FRAMES = 40 * 44_100 // SAMPLES_PER_FRAME  # about 40 s: shorter is not worth it
_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_SAMPLE_RATES = (44_100, 48_000, 32_000)
_INFO_OFFSET_MONO = 4 + 17  # after the frame header and a mono frame's side information
_INFO_OFFSET_STEREO = 4 + 32
_COPY_BYTES = 1 << 18  # read from a piece at a time


@dataclass(frozen=True)
class Piece:
    """One encoder's share: MP3 frames ``[first_frame, end_frame)`` of the whole stream
    (``end_frame`` None: to the end), fed the samples ``[start_sample, end_sample)``."""

    first_frame: int
    end_frame: int | None
    start_sample: int
    end_sample: int

    @property
    def lead_frames(self) -> int:
        """Frames the encoder writes before the first kept one."""
        return self.first_frame - self.start_sample // SAMPLES_PER_FRAME


def plan_pieces(
    total_samples: int, count: int, quiet: Sequence[tuple[int, int]] = ()
) -> list[Piece]:
    """Up to ``count`` pieces of about equal length covering ``total_samples``; each join is
    moved into a quiet stretch (``quiet``: sample ranges of silence) when one is near."""
    frames = -(-total_samples // SAMPLES_PER_FRAME)
    count = max(1, min(count, frames // _MIN_PIECE_FRAMES))
    joins: list[int] = []
    for i in range(1, count):
        target = round(i * frames / count)
        joins.append(_quiet_join(target, frames // count // 4, quiet))
    bounds = [0, *sorted(set(joins)), None]
    pieces = []
    for first, end in itertools.pairwise(bounds):
        assert first is not None
        start = max(0, first - _LEAD_FRAMES) * SAMPLES_PER_FRAME
        stop = (
            total_samples
            if end is None
            else min(total_samples, (end + _LEAD_FRAMES) * SAMPLES_PER_FRAME)
        )
        pieces.append(Piece(first, end, start, stop))
    return pieces


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


class Encoder(Protocol):
    """An MP3 encoder process fed PCM (``export.encode._Encoder``)."""

    path: Path

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def kill(self) -> None: ...


def encode_in_pieces(
    pieces: Sequence[Piece],
    open_encoder: Callable[[int], Encoder],
    pcm: Callable[[int, int], Iterable[bytes]],
    frame_bytes: int,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Encode every piece at once (``open_encoder(i)`` for piece ``i``, fed ``pcm(start,
    end)``), and return their files. ``progress`` gets the samples encoded so far. On any
    failure every encoder is killed and the first error raised."""
    encoders: list[Encoder] = []
    try:
        for index in range(len(pieces)):
            encoders.append(open_encoder(index))
    except BaseException:
        for encoder in encoders:
            encoder.kill()
        raise
    done = [0] * len(pieces)
    errors: list[BaseException] = []
    failed = threading.Event()
    changed = threading.Condition()

    def feed(index: int) -> None:
        piece, encoder = pieces[index], encoders[index]
        try:
            for chunk in pcm(piece.start_sample, piece.end_sample):
                if failed.is_set():
                    return
                encoder.write(chunk)
                with changed:
                    done[index] += len(chunk) // frame_bytes
                    changed.notify_all()
            encoder.close()
        except BaseException as error:  # raised again in the calling thread
            with changed:
                errors.append(error)
                failed.set()
                changed.notify_all()
        finally:
            with changed:
                done[index] = -1 - done[index]  # finished (negative): see below
                changed.notify_all()

    threads = [threading.Thread(target=feed, args=(i,), daemon=True) for i in range(len(pieces))]
    try:
        for thread in threads:
            thread.start()
        while True:
            with changed:
                changed.wait(0.1)
                running = not failed.is_set() and any(d >= 0 for d in done)
                so_far = sum(d if d >= 0 else -1 - d for d in done)
            if progress is not None:
                progress(so_far)
            if not running:
                break
        if errors:
            raise errors[0]
    except BaseException:
        failed.set()
        for encoder in encoders:
            encoder.kill()  # a feeding thread then stops at its next write
        raise
    return [encoder.path for encoder in encoders]


def join_pieces(pieces: Sequence[Piece], files: Sequence[Path], out: BinaryIO) -> int:
    """Write the pieces' kept frames to ``out``, after piece 0's LAME/Info frame set for the
    whole stream; the number of audio frames written."""
    header, _ = _info_frame(files[0])
    _, padding = _info_frame(files[-1])
    out.write(bytes(len(header)))  # filled in below
    frames = 0
    written = 0
    for piece, path in zip(pieces, files, strict=True):
        keep = None if piece.end_frame is None else piece.end_frame - piece.first_frame
        count, size = _copy_frames(path, piece.lead_frames, keep, out)
        if keep is not None and count != keep:
            raise ExportError(f"the MP3 encoder wrote {count} frames for a piece, not {keep}")
        frames += count
        written += size
    offset = _info_offset(header)
    info = bytearray(header)
    info[offset + 8 : offset + 12] = frames.to_bytes(4, "big")
    info[offset + 12 : offset + 16] = (len(info) + written).to_bytes(4, "big")
    lame = offset + 120  # the LAME extension after the Xing part
    info[lame + 21 : lame + 24] = padding
    out.seek(0)
    out.write(bytes(info))
    out.seek(0, 2)
    return frames


def _info_offset(frame: bytes) -> int:
    return _INFO_OFFSET_MONO if (frame[3] >> 6) == 3 else _INFO_OFFSET_STEREO


def _info_frame(path: Path) -> tuple[bytes, bytes]:
    """A file's LAME/Info frame and its delay/padding field (3 bytes)."""
    with path.open("rb") as handle:
        head = handle.read(4)
        length = _frame_length(head)
        frame = head + handle.read(length - 4)
    offset = _info_offset(frame)
    if len(frame) != length or frame[offset : offset + 4] not in (b"Info", b"Xing"):
        raise ExportError(f"the MP3 encoder wrote no LAME header in {path.name}")
    lame = offset + 120
    return frame, frame[lame + 21 : lame + 24]


def _frame_length(header: bytes) -> int:
    """The length of an MPEG-1 layer III frame from its 4-byte header."""
    if len(header) < 4 or header[0] != 0xFF or (header[1] & 0xFE) != 0xFA:
        raise ExportError("the MP3 encoder wrote something that is not an MPEG-1 layer III frame")
    bitrate = _BITRATES_KBPS[header[2] >> 4]
    rate = _SAMPLE_RATES[(header[2] >> 2) & 3] if (header[2] >> 2) & 3 < 3 else 0
    if bitrate == 0 or rate == 0:
        raise ExportError("the MP3 encoder wrote a frame with a bad header")
    return 144_000 * bitrate // rate + ((header[2] >> 1) & 1)


def _copy_frames(path: Path, skip: int, keep: int | None, out: BinaryIO) -> tuple[int, int]:
    """Copy the audio frames of ``path`` (after its Info frame and ``skip`` more), at most
    ``keep`` of them, to ``out``; (frames, bytes) copied. Streams: one buffer at a time."""
    frames = 0
    size = 0
    with path.open("rb") as handle:
        buffer = handle.read(_COPY_BYTES)
        position = _frame_length(buffer[:4])  # the Info frame
        index = 0
        start = None  # where the run of frames to copy starts in the buffer
        while keep is None or frames < keep:
            if position + 4 > len(buffer):
                if start is not None:
                    out.write(buffer[start:position])
                    size += position - start
                buffer = buffer[position:] + handle.read(_COPY_BYTES)
                position = 0
                start = 0 if start is not None else None
                if len(buffer) < 4:
                    break
            length = _frame_length(buffer[position : position + 4])
            if position + length > len(buffer):  # the frame crosses the buffer's end
                more = handle.read(_COPY_BYTES)
                if not more:
                    raise ExportError(f"the MP3 encoder's last frame is cut short in {path.name}")
                if start is not None:
                    out.write(buffer[start:position])
                    size += position - start
                    start = 0
                buffer = buffer[position:] + more
                position = 0
                continue
            if index >= skip:
                if start is None:
                    start = position
                frames += 1
            index += 1
            position += length
        if start is not None and position > start:
            out.write(buffer[start:position])
            size += position - start
    return frames, size
