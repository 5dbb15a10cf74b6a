"""MP3 frames: the pieces' frames joined into the stream one encoder would have written,
with LAME's frame for digital silence where nothing was encoded.

The joined stream's header is the first encoder's LAME/Info frame, set for the whole (see
:mod:`.tracks`); its padding is as the encoder of the last piece wrote it: an encoder fed
whole frames before its last piece pads as a single encoder does.

A skipped frame is LAME's own frame for silence, taken from a short encode of zeros with the
same settings and checked to carry no sound (every granule's Huffman data is empty). Its
padding byte (at 44.1 kHz a frame is 313 or 314 bytes at 96 kbps) is set so that the
stream keeps the exact bit rate, as the encoder's own frames do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from voiceguide.errors import ExportError
from voiceguide.export.pieces import Piece

__all__ = [
    "FrameReader",
    "Sink",
    "frame_length",
    "info_frame",
    "info_offset",
    "join_pieces",
    "silent_frame",
]

_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_SAMPLE_RATES = (44_100, 48_000, 32_000)
_INFO_OFFSET_MONO = 4 + 17  # after the frame header and a mono frame's side information
_INFO_OFFSET_STEREO = 4 + 32
_COPY_BYTES = 1 << 18  # read from a file at a time

Sink = Callable[[bytes, list[int]], None]
"""Takes the next frames of the stream: their bytes, and each one's length."""


def frame_length(header: bytes) -> int:
    """The length of an MPEG-1 layer III frame from its 4-byte header."""
    if len(header) < 4 or header[0] != 0xFF or (header[1] & 0xFE) != 0xFA:
        raise ExportError("the MP3 encoder wrote something that is not an MPEG-1 layer III frame")
    bitrate = _BITRATES_KBPS[header[2] >> 4]
    rate = _SAMPLE_RATES[(header[2] >> 2) & 3] if (header[2] >> 2) & 3 < 3 else 0
    if bitrate == 0 or rate == 0:
        raise ExportError("the MP3 encoder wrote a frame with a bad header")
    return 144_000 * bitrate // rate + ((header[2] >> 1) & 1)


def _bytes_per_frame(header: bytes) -> float:
    """A frame's length on average at its bit rate (padding makes up the fraction)."""
    return 144_000 * _BITRATES_KBPS[header[2] >> 4] / _SAMPLE_RATES[(header[2] >> 2) & 3]


class FrameReader:
    """The audio frames of an MP3 file written by LAME (after its Info frame), taken in
    order a run at a time; streams, one buffer at a time."""

    def __init__(self, handle: BinaryIO, name: str) -> None:
        self._handle = handle
        self._name = name
        self._buffer = handle.read(_COPY_BYTES)
        self._position = frame_length(self._buffer[:4])  # the Info frame
        # an unpadded frame's length by its header's second and third bytes (padding bit
        # clear): every frame of one encode has one of a few headers
        self._known: dict[tuple[int, int], int] = {}

    def copy(self, count: int | None, out: Sink | None) -> tuple[int, int]:
        """Give the next ``count`` frames (None: all that are left) to ``out`` (None: skip
        them), a run at a time with each frame's length; (frames, bytes) given."""
        frames = size = 0
        start = self._position  # where the run to give starts in the buffer
        lengths: list[int] = []
        known = self._known
        buffer, position = self._buffer, self._position
        while count is None or frames < count:
            if position + 4 > len(buffer):
                self._position = position
                more = self._refill(out, start, lengths)  # the run so far given: from 0 on
                buffer, position, start = self._buffer, 0, 0
                if not more:
                    break
            third = buffer[position + 2]
            base = (
                known.get((buffer[position + 1], third & 0xFD))
                if buffer[position] == 0xFF
                else None
            )
            if base is None:  # a header not seen yet: checked in full
                header = buffer[position : position + 4]
                base = frame_length(header) - ((third >> 1) & 1)
                known[(header[1], third & 0xFD)] = base
            length = base + ((third >> 1) & 1)
            if position + length > len(buffer):  # it crosses the buffer's end
                self._position = position
                more = self._refill(out, start, lengths)
                buffer, position, start = self._buffer, 0, 0
                if not more:
                    raise ExportError(f"the MP3 encoder's last frame is cut short in {self._name}")
                continue
            position += length
            lengths.append(length)
            frames += 1
            size += length
        self._position = position
        if out is not None and position > start:
            out(buffer[start:position], lengths)
        return frames, size

    def _refill(self, out: Sink | None, start: int, lengths: list[int]) -> bool:
        """Give the run so far, keep the unread rest and read more; False at the end."""
        if out is not None and self._position > start:
            out(self._buffer[start : self._position], list(lengths))
        lengths.clear()
        more = self._handle.read(_COPY_BYTES)
        self._buffer = self._buffer[self._position :] + more
        self._position = 0
        return bool(more)


def silent_frame(path: Path) -> bytes:
    """An unpadded frame of digital silence from the middle of ``path`` (LAME's encode of
    zeros), checked to carry no sound."""
    data = path.read_bytes()
    frames = []
    position = frame_length(data[:4])
    while position + 4 <= len(data):
        length = frame_length(data[position : position + 4])
        frames.append(data[position : position + length])
        position += length
    if len(frames) < 3:
        raise ExportError(f"the MP3 encoder wrote too few frames of silence in {path.name}")
    frame = frames[len(frames) // 2]
    if not _carries_no_sound(frame):
        raise ExportError("the MP3 encoder wrote sound for digital silence")
    if frame[2] & 0b10:  # padded: the last byte is ancillary (there is no main data)
        frame = bytes([*frame[:2], frame[2] & ~0b10 & 0xFF]) + frame[3:-1]
    return frame


def _carries_no_sound(frame: bytes) -> bool:
    """Whether every granule's Huffman data (``part2_3_length``) is empty."""
    channels = 1 if (frame[3] >> 6) == 3 else 2
    side = frame[4 + (0 if frame[1] & 1 else 2) :]  # after the CRC, if there is one
    bits = int.from_bytes(side[: 17 if channels == 1 else 32], "big")
    width = 8 * (17 if channels == 1 else 32)
    at = 9 + (5 if channels == 1 else 3) + 4 * channels  # main_data_begin, private, scfsi
    for _ in range(2 * channels):  # granules x channels, 59 bits each
        if (bits >> (width - at - 12)) & 0xFFF:
            return False
        at += 59
    return True


def join_pieces(
    jobs: Sequence[Sequence[Piece]], files: Sequence[Path], silence: bytes | None, out: Sink
) -> bytes:
    """Give ``out`` the stream's frames in order: the pieces' kept frames (the pieces of
    ``jobs[i]`` encoded one after another into ``files[i]``), and ``silence`` (an unpadded
    silent frame) in between. Returns the encoder delay and padding field (3 bytes) of the
    whole stream: the one in the LAME header of the last piece's encoder."""
    pieces = sorted(
        ((piece, i) for i, job in enumerate(jobs) for piece in job), key=lambda p: p[0].first_frame
    )
    last = next(i for i, job in enumerate(jobs) if job[-1].end_frame is None)
    _, padding = info_frame(files[last])
    handles = [path.open("rb") for path in files]
    try:
        readers = [FrameReader(h, p.name) for h, p in zip(handles, files, strict=True)]
        frames = written = 0
        for piece, index in pieces:
            if frames < piece.first_frame:  # a silence nobody encoded
                if silence is None:
                    raise ExportError("the MP3 stream has a gap and no frame of silence")
                run, lengths = _silences(silence, frames, written, piece.first_frame)
                out(run, lengths)
                frames, written = piece.first_frame, written + len(run)
            reader = readers[index]
            reader.copy(piece.lead_frames, None)
            keep = None if piece.end_frame is None else piece.end_frame - piece.first_frame
            count, size = reader.copy(keep, out)
            if keep is not None and count != keep:
                raise ExportError(f"the MP3 encoder wrote {count} frames for a piece, not {keep}")
            frames += count
            written += size
            fed = piece.fed_frames
            if fed is not None:
                reader.copy(fed - piece.lead_frames - count, None)
    finally:
        for handle in handles:
            handle.close()
    return padding


def _silences(silence: bytes, frames: int, written: int, end: int) -> tuple[bytes, list[int]]:
    """Silent frames from frame ``frames`` (``written`` bytes so far) up to ``end``, each
    padded when the stream is behind its bit rate."""
    per_frame = _bytes_per_frame(silence)
    padded = _padded(silence)
    run = bytearray()
    lengths = []
    for index in range(frames, end):
        frame = padded if written + len(silence) < per_frame * (index + 1) - 0.5 else silence
        run += frame
        lengths.append(len(frame))
        written += len(frame)
    return bytes(run), lengths


def _padded(frame: bytes) -> bytes:
    return bytes([*frame[:2], frame[2] | 0b10]) + frame[3:] + b"\x00"


def info_offset(frame: bytes) -> int:
    """Where the Xing/Info tag starts in a LAME/Info frame."""
    return _INFO_OFFSET_MONO if (frame[3] >> 6) == 3 else _INFO_OFFSET_STEREO


def info_frame(path: Path) -> tuple[bytes, bytes]:
    """A file's LAME/Info frame and its delay/padding field (3 bytes)."""
    with path.open("rb") as handle:
        head = handle.read(4)
        length = frame_length(head)
        frame = head + handle.read(length - 4)
    offset = info_offset(frame)
    if len(frame) != length or frame[offset : offset + 4] not in (b"Info", b"Xing"):
        raise ExportError(f"the MP3 encoder wrote no LAME header in {path.name}")
    lame = offset + 120
    return frame, frame[lame + 21 : lame + 24]
