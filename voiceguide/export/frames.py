"""MP3 frames: the pieces' frames joined into the stream one encoder would have written,
with LAME's frame for digital silence where nothing was encoded, and the stream's header.

An encoder's frames are read taken apart (:mod:`.reservoir`: each with its own data, from
wherever the bit reservoir put it), so the frames of several encoders can be laid out
again as one stream. A skipped frame is LAME's own frame for silence: its side information
from a short encode of zeros with the same settings, checked to carry no sound (every
granule's Huffman data is empty).

The stream's header is a LAME/Info frame (:func:`info_frame`), set for the whole by
:mod:`.tracks`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from voiceguide.errors import ExportError
from voiceguide.export.lame import new_encoder
from voiceguide.export.pieces import SAMPLES_PER_FRAME, Piece
from voiceguide.export.reservoir import (
    BITRATES_KBPS,
    MAX_BEGIN,
    SAMPLE_RATES,
    Frame,
    main_data_begin,
    main_data_bytes,
    side_length,
    with_begin,
)
from voiceguide.sound.audio import AudioFormat

__all__ = [
    "DELAY_SAMPLES",
    "FrameReader",
    "frame_length",
    "info_frame",
    "info_offset",
    "join_pieces",
    "silent_side",
]

_INFO_OFFSET_MONO = 4 + 17  # after the frame header and a mono frame's side information
_INFO_OFFSET_STEREO = 4 + 32
_COPY_BYTES = 1 << 18  # read from a file at a time

_RUN_FRAMES = 4096  # frames read and given on at a time
_SILENCE_SAMPLE_FRAMES = 16  # encoded to get LAME's frame for digital silence
DELAY_SAMPLES = 576  # LAME's encoder delay: where the first sample is in the frames


def frame_length(header: bytes) -> int:
    """The length of an MPEG-1 layer III frame from its 4-byte header."""
    if len(header) < 4 or header[0] != 0xFF or (header[1] & 0xFE) != 0xFA:
        raise ExportError("the MP3 encoder wrote something that is not an MPEG-1 layer III frame")
    bitrate = BITRATES_KBPS[header[2] >> 4]
    rate = SAMPLE_RATES[(header[2] >> 2) & 3] if (header[2] >> 2) & 3 < 3 else 0
    if bitrate == 0 or rate == 0:
        raise ExportError("the MP3 encoder wrote a frame with a bad header")
    return 144_000 * bitrate // rate + ((header[2] >> 1) & 1)


class FrameReader:
    """The frames of an MP3 stream written by LAME with no header frame, taken apart
    (:class:`.reservoir.Frame`) in order a run at a time; streams, one buffer at a time."""

    def __init__(self, handle: BinaryIO, name: str) -> None:
        self._handle = handle
        self._name = name
        self._buffer = handle.read(_COPY_BYTES)
        self._position = 0
        self._tail = b""  # the payload of the frames read so far: its last bytes
        # an unpadded frame's length by its header's second and third bytes (padding bit
        # clear): every frame of one encode has one of a few headers
        self._known: dict[tuple[int, int], int] = {}

    def take(self, count: int | None) -> list[Frame]:
        """The next ``count`` frames (None: all that are left)."""
        frames: list[Frame] = []
        known = self._known
        buffer, position, tail = self._buffer, self._position, self._tail
        while count is None or len(frames) < count:
            if position + 4 > len(buffer):
                buffer, position = self._refill(position)
                if position + 4 > len(buffer):
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
                if not header[1] & 1:
                    raise ExportError("the MP3 encoder wrote frames with a CRC")
                known[(header[1], third & 0xFD)] = base
            length = base + ((third >> 1) & 1)
            if position + length > len(buffer):  # it crosses the buffer's end
                buffer, position = self._refill(position)
                if position + length > len(buffer):
                    raise ExportError(f"the MP3 encoder's last frame is cut short in {self._name}")
                continue
            header = buffer[position : position + 4]
            sides = side_length(header)
            side = buffer[position + 4 : position + 4 + sides]
            data = tail + buffer[position + 4 + sides : position + length]
            begin = len(tail) - main_data_begin(side)
            if begin < 0:
                raise ExportError(f"an MP3 frame borrows from before the stream in {self._name}")
            frames.append(Frame(header, side, data[begin : begin + main_data_bytes(side)]))
            tail = data[-MAX_BEGIN:]
            position += length
        self._buffer, self._position, self._tail = buffer, position, tail
        return frames

    def _refill(self, position: int) -> tuple[bytes, int]:
        """Keep the unread rest of the buffer and read more."""
        self._buffer = self._buffer[position:] + self._handle.read(_COPY_BYTES)
        return self._buffer, 0


def silent_side(fmt: AudioFormat, kbps: int) -> bytes:
    """The side information of LAME's frame for digital silence at this bit rate (an encode
    of zeros), checked to carry no sound."""
    encoder = new_encoder(fmt, kbps)
    zeros = bytes(_SILENCE_SAMPLE_FRAMES * SAMPLES_PER_FRAME * fmt.frame_bytes)
    data = bytes(encoder.encode(zeros)) + bytes(encoder.flush())
    frames = FrameReader(io.BytesIO(data), "silence").take(None)
    if len(frames) < 3:
        raise ExportError("the MP3 encoder wrote too few frames of silence")
    side = frames[len(frames) // 2].side
    if not _carries_no_sound(side):
        raise ExportError("the MP3 encoder wrote sound for digital silence")
    return with_begin(side, 0)


def _carries_no_sound(side: bytes) -> bool:
    """Whether every granule's Huffman data (``part2_3_length``) is empty."""
    return main_data_bytes(side) == 0


def join_pieces(
    jobs: Sequence[Sequence[Piece]],
    files: Sequence[Path],
    silence: bytes | None,
    out: Callable[[list[Frame]], None],
) -> int:
    """Give ``out`` the stream's frames in order: the pieces' kept frames (the pieces of
    ``jobs[i]`` encoded one after another into ``files[i]``), and silent frames (side
    information ``silence``) in between; the number of frames."""
    pieces = sorted(
        ((piece, i) for i, job in enumerate(jobs) for piece in job), key=lambda p: p[0].first_frame
    )
    handles = [path.open("rb") for path in files]
    try:
        readers = [FrameReader(h, p.name) for h, p in zip(handles, files, strict=True)]
        frames = 0
        header = b""
        for piece, index in pieces:
            reader = readers[index]
            lead = reader.take(piece.lead_frames)
            keep = None if piece.end_frame is None else piece.end_frame - piece.first_frame
            while True:  # a run at a time: the frames of a long piece are not all held
                run = reader.take(_RUN_FRAMES if keep is None else min(_RUN_FRAMES, keep))
                if not header and (run or lead):
                    header = (lead or run)[0].header
                if frames < piece.first_frame:  # a silence nobody encoded
                    if silence is None:
                        raise ExportError("the MP3 stream has a gap and no frame of silence")
                    quiet = Frame(header, silence, b"")
                    for at in range(frames, piece.first_frame, _RUN_FRAMES):
                        out([quiet] * min(_RUN_FRAMES, piece.first_frame - at))
                    frames = piece.first_frame
                out(run)
                frames += len(run)
                if keep is not None:
                    keep -= len(run)
                if not run or keep == 0:
                    break
            if keep:
                raise ExportError(f"the MP3 encoder wrote too few frames in {files[index].name}")
            fed = piece.fed_frames
            if fed is not None:
                reader.take(fed - len(lead) - (piece.end_frame or 0) + piece.first_frame)
    finally:
        for handle in handles:
            handle.close()
    return frames


def info_offset(frame: bytes) -> int:
    """Where the Xing/Info tag starts in a LAME/Info frame."""
    return _INFO_OFFSET_MONO if (frame[3] >> 6) == 3 else _INFO_OFFSET_STEREO


def info_frame(kbps: int, fmt: AudioFormat) -> bytes:
    """A LAME/Info frame for a stream at a constant ``kbps`` in ``fmt`` (mono, or joint
    stereo as LAME writes two channels): the fields that depend on the frames (their count
    and bytes, the table of contents, the encoder delay and padding, the checksums) are
    zeros, for :class:`.tracks.TrackWriter` to set."""
    if kbps not in BITRATES_KBPS[1:] or fmt.sample_rate not in SAMPLE_RATES:
        raise ExportError(f"MP3 has no {kbps} kbps at {fmt.sample_rate} Hz")
    index, rate = BITRATES_KBPS.index(kbps), SAMPLE_RATES.index(fmt.sample_rate)
    head = bytes((0xFF, 0xFB, index << 4 | rate << 2, 0xC4 if fmt.channels == 1 else 0x44))
    frame = bytearray(frame_length(head))
    frame[:4] = head
    offset = info_offset(head)
    frame[offset : offset + 8] = b"Info" + (0x0F).to_bytes(4, "big")  # frames, bytes, TOC, quality
    lame = offset + 120
    frame[lame : lame + 9] = b"LAME3.100"
    frame[lame + 9] = 1  # tag revision 0, constant bit rate
    frame[lame + 20] = min(kbps, 255)
    return bytes(frame)
