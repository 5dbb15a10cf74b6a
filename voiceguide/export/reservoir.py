"""The MP3 bit reservoir: frames taken apart into their own data, and laid out again.

LAME (as ``lameenc`` runs it) keeps a bit reservoir: a frame's audio data (its "main
data") may begin in the frames before it, ``main_data_begin`` bytes before the end of its
side information, and end anywhere up to its own end. So a frame does not decode alone, and
the frames of two encoders cannot simply be put one after the other. Here a frame is read
as a :class:`Frame`, its header, its side information and its own main data (wherever it
was), and :class:`Repacker` lays a stream of them out again: each frame's data as early as
the reservoir allows (at most 511 bytes back), so every frame finds room as it did in its
encoder's stream, or more.

A chapter track starts with a frame of the full track, so that frame must not borrow from
the frame before: at each cut the repacker lays the frame's data inside itself
(``main_data_begin`` 0), the frames after it unchanged. A cut frame whose data does not fit
in itself is written silent (the cut lies in the quiet before its chapter). A frame that
finds no room (the reservoir spent at a join or a cut) is written at the next bit rate up:
the stream's bit rate is then a little above its nominal one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from voiceguide.errors import ExportError

__all__ = [
    "BITRATES_KBPS",
    "MAX_BEGIN",
    "SAMPLE_RATES",
    "Frame",
    "Repacker",
    "main_data_begin",
    "main_data_bytes",
    "side_length",
    "with_begin",
]

MAX_BEGIN = 511  # main_data_begin has 9 bits in MPEG-1
# MPEG-1 layer III: a header's bit rate and sample rate fields index these
BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
SAMPLE_RATES = (44_100, 48_000, 32_000)

Sink = Callable[[bytes, list[int]], None]


class Frame(NamedTuple):
    """One MPEG-1 layer III frame taken apart: its 4-byte header, its side information and
    its main data (the granules' Huffman data, whichever frames held it)."""

    header: bytes
    side: bytes
    main: bytes


def side_length(header: bytes) -> int:
    """The side information's length: 17 bytes for mono, 32 for two channels."""
    return 17 if (header[3] >> 6) == 3 else 32


def main_data_begin(side: bytes) -> int:
    """How many bytes before this frame's side information ends its main data begins."""
    return (side[0] << 1) | (side[1] >> 7)


def with_begin(side: bytes, begin: int) -> bytes:
    """The side information with ``main_data_begin`` set to ``begin``."""
    return bytes((begin >> 1, ((begin & 1) << 7) | (side[1] & 0x7F))) + side[2:]


def main_data_bytes(side: bytes) -> int:
    """The length of a frame's main data in whole bytes: its granules' ``part2_3_length``
    (12 bits each, 59 bits apart after ``main_data_begin``, the private bits and scfsi)."""
    mono = len(side) == 17
    bits = int.from_bytes(side, "big")
    shift = 8 * len(side) - (18 if mono else 20) - 12
    total = 0
    for _ in range(2 if mono else 4):
        total += (bits >> shift) & 0xFFF
        shift -= 59
    return (total + 7) // 8


class Repacker:
    """Lays a stream of frames out again, a run at a time (:meth:`add`), and gives ``out``
    the finished frames: their bytes and each one's length. Frames ``cuts`` (indexes in the
    stream) decode alone; ``silence`` is the side information of a silent frame. Each frame
    is padded by one byte when the stream is behind the nominal bit rate (as LAME pads)."""

    def __init__(self, out: Sink, cuts: Sequence[int], silence: bytes) -> None:
        self._out = out
        self._cuts = set(cuts)
        self._silence = silence
        self._index = 0  # of the next frame
        self._nominal = 0  # bytes written at the nominal bit rate (bit rates raised aside)
        self._per_frame = 0.0
        # payload positions, counted over the stream's frames after their side information
        self._base = 0  # the position of self._payload[0]
        self._payload = bytearray()
        self._data_end = 0  # where the main data laid out so far ends
        self._room_end = 0  # where the payload of the frames laid out so far ends
        self._waiting: list[tuple[bytes, int, int]] = []  # (header + side, start, length)
        self.raised = 0  # frames written at a higher bit rate than their encoder's
        self.silenced = 0  # cut frames written silent

    def add(self, frames: Sequence[Frame]) -> None:
        """Lay out the next frames."""
        for frame in frames:
            self._place(frame)
        self._give(max(self._data_end, self._room_end - MAX_BEGIN))

    def finish(self) -> None:
        """Give every frame still waiting (the stream ends)."""
        self._give(self._room_end)

    def _place(self, frame: Frame) -> None:
        header, side, main = frame
        third = header[2]
        index = third >> 4
        rate = SAMPLE_RATES[(third >> 2) & 3]
        if not self._per_frame:
            self._per_frame = 144_000 * BITRATES_KBPS[index] / rate
        base = 144_000 * BITRATES_KBPS[index] // rate
        padded = self._nominal + base < self._per_frame * (self._index + 1) - 0.5
        self._nominal += base + padded
        length = base + padded
        room = length - 4 - len(side)
        start = self._room_end
        cut = self._index in self._cuts
        if not cut:
            start = max(self._data_end, start - MAX_BEGIN)
        if cut and len(main) > room:  # it would borrow: silent instead
            side, main = self._silence, b""
            self.silenced += 1
        if start + len(main) > self._room_end + room:
            self.raised += 1
        while start + len(main) > self._room_end + room:  # no room: the next bit rate up
            index += 1
            if index >= len(BITRATES_KBPS):
                raise ExportError("an MP3 frame does not fit at any bit rate")
            length = 144_000 * BITRATES_KBPS[index] // rate + padded
            room = length - 4 - len(side)
        head = bytes(
            (header[0], header[1], (index << 4) | (third & 0x0D) | (padded << 1), header[3])
        )
        self._waiting.append(
            (head + with_begin(side, self._room_end - start), self._room_end, room)
        )
        at = start - self._base
        payload = self._payload
        if len(payload) < at:
            payload += bytes(at - len(payload))
        payload[at : at + len(main)] = main
        self._data_end = start + len(main)
        self._room_end += room
        self._index += 1

    def _give(self, safe: int) -> None:
        """Give the waiting frames whose payload ends by ``safe`` (no later frame's data
        can reach into them)."""
        run = bytearray()
        lengths = []
        payload = self._payload
        if len(payload) < self._room_end - self._base:
            payload += bytes(self._room_end - self._base - len(payload))
        done = 0
        for head, start, room in self._waiting:
            if start + room > safe:
                break
            at = start - self._base
            run += head
            run += payload[at : at + room]
            lengths.append(len(head) + room)
            done += 1
        if not done:
            return
        del self._waiting[:done]
        used = (self._waiting[0][1] if self._waiting else self._room_end) - self._base
        del payload[:used]
        self._base += used
        self._out(bytes(run), lengths)
