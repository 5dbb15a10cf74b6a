"""The full track and the chapter tracks, written from the joined frames in one pass.

A chapter track is its frames, cut between frames (no re-encoding: the encoder keeps no bit
reservoir, so every frame decodes on its own). The full track starts with a LAME/Info frame
set from its frames as ffmpeg's MP3 writer sets it: the frame count, the length, the table
of contents for seeking, the encoder's delay and padding, the music length and the two
CRC-16 checksums (of the audio, and of the tag).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from voiceguide.errors import ExportError
from voiceguide.export.frames import info_offset

if TYPE_CHECKING:  # numpy is imported when a track is written (live play needs none of it)
    import numpy as np

__all__ = ["TrackWriter", "crc16"]

_TOC_ENTRIES = 100
_TAG_CRC_BYTES = 190  # the tag's CRC covers the frame's first 190 bytes (itself as zeros)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()
_ROW = 256  # bytes a row: the rows' CRCs are computed side by side, then chained


@functools.cache
def _crc_table_16() -> np.ndarray[tuple[int], np.dtype[np.uint16]]:
    """The state after two bytes, for each state (the bytes XORed into it first): a row is
    taken two bytes a step."""
    import numpy as np

    table = np.array(_TABLE, dtype=np.uint16)
    state = np.arange(1 << 16, dtype=np.uint16)
    for _ in range(2):
        state = (state >> 8) ^ table[state & 0xFF]
    return state


_NUMPY_ROWS = 64  # fewer rows than this: byte by byte is as quick
_CRC_BATCH = 1 << 20  # the CRC is taken this many bytes at a time


def _after_zeros(count: int) -> tuple[list[int], list[int]]:
    """CRC-16 is linear: the state after ``count`` zero bytes, for each low and high byte
    (from the states of the 16 single bits)."""
    bits = []
    for bit in range(16):
        crc = 1 << bit
        for _ in range(count):
            crc = (crc >> 8) ^ _TABLE[crc & 0xFF]
        bits.append(crc)

    def of(byte: int, shift: int) -> int:
        crc = 0
        for bit in range(8):
            if byte >> bit & 1:
                crc ^= bits[bit + shift]
        return crc

    return [of(b, 0) for b in range(256)], [of(b, 8) for b in range(256)]


_SHIFT_LOW, _SHIFT_HIGH = _after_zeros(_ROW)


def crc16(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16/ARC (polynomial 0x8005, reflected; ffmpeg's ``AV_CRC_16_ANSI_LE``), going on
    from ``crc``. Long data is cut into rows whose CRCs numpy computes side by side; each
    row's is then chained onto the state so far (the state run through a row of zeros)."""
    whole = len(data) // _ROW * _ROW if len(data) >= _NUMPY_ROWS * _ROW else 0
    if whole:
        import numpy as np

        table = _crc_table_16()
        rows = np.frombuffer(data, dtype="<u2", count=whole // 2).reshape(-1, _ROW // 2)
        row_crc = np.zeros(rows.shape[0], dtype=np.uint16)
        for column in range(_ROW // 2):
            row_crc = table[row_crc ^ rows[:, column]]
        for value in row_crc.tolist():
            crc = _SHIFT_LOW[crc & 0xFF] ^ _SHIFT_HIGH[crc >> 8] ^ value
    for byte in data[whole:]:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


class TrackWriter:
    """Takes the stream's audio frames in order (:meth:`add`) and writes the full track at
    ``full`` and the chapter tracks at ``chapters`` (chapter ``i + 1`` starts at frame
    ``cuts[i]``; no chapters: the full track alone); :meth:`finish` then writes the full
    track's header from ``info`` (the encoder's LAME/Info frame)."""

    def __init__(
        self, full: Path, info: bytes, chapters: Sequence[Path] = (), cuts: Sequence[int] = ()
    ) -> None:
        if len(cuts) != max(0, len(chapters) - 1) or list(cuts) != sorted(cuts):
            raise ExportError("the chapter cuts do not match the chapter tracks")
        self._info = info
        self._cuts = list(cuts)
        self._chapters = list(chapters)
        self._lengths = array("H")  # every frame's, for the table of contents
        self._crc = 0
        self._pending = bytearray()  # not yet in the CRC
        self._chapter: BinaryIO | None = None
        self._chapter_index = -1
        self._full: BinaryIO = full.open("wb")
        try:
            self._full.write(bytes(len(info)))  # filled in by finish()
            if self._chapters:
                self._next_chapter()
        except BaseException:
            self.abandon()
            raise

    def add(self, data: bytes, lengths: Sequence[int]) -> None:
        """The next frames: their bytes, and each one's length."""
        self._full.write(data)
        self._pending += data
        if len(self._pending) >= _CRC_BATCH:
            whole = len(self._pending) // _ROW * _ROW
            self._crc = crc16(memoryview(self._pending)[:whole], self._crc)
            del self._pending[:whole]
        done = 0  # of the frames given
        while (cut := self._next_cut()) >= 0 and cut - len(self._lengths) < len(lengths) - done:
            before = cut - len(self._lengths)  # frames of this chapter still to come
            at = sum(lengths[done : done + before])
            self._lengths.extend(lengths[done : done + before])
            self._write_chapter(data[:at])
            data, done = data[at:], done + before
            self._next_chapter()
        self._lengths.extend(lengths[done:])
        self._write_chapter(data)

    def finish(self, padding: bytes) -> None:
        """Close the chapter tracks and write the full track's header, its encoder delay
        and padding field (3 bytes) set to ``padding``."""
        if self._chapter_index != len(self._chapters) - 1:
            raise ExportError("the stream ended before its last chapter")
        self.close()
        crc = crc16(self._pending, self._crc)
        info = bytearray(self._info)
        offset = info_offset(self._info)
        size = len(info) + sum(self._lengths)
        frames = len(self._lengths)
        info[offset + 8 : offset + 12] = frames.to_bytes(4, "big")
        info[offset + 12 : offset + 16] = size.to_bytes(4, "big")
        info[offset + 16 : offset + 16 + _TOC_ENTRIES] = self._toc(len(info), size)
        lame = offset + 120  # the LAME extension after the Xing part
        info[lame + 21 : lame + 24] = padding
        info[lame + 28 : lame + 32] = size.to_bytes(4, "big")  # the music length
        info[lame + 32 : lame + 34] = crc.to_bytes(2, "big")  # the music's CRC
        info[lame + 34 : lame + 36] = b"\x00\x00"
        tag_crc = crc16(bytes(info[:_TAG_CRC_BYTES]))
        info[lame + 34 : lame + 36] = tag_crc.to_bytes(2, "big")
        self._full.seek(0)
        self._full.write(bytes(info))
        self._full.close()

    def close(self) -> None:
        """Close the chapter track being written (the full track stays open for its
        header); on failure, :meth:`abandon`."""
        chapter, self._chapter = self._chapter, None
        if chapter is not None:
            chapter.close()

    def abandon(self) -> None:
        """Close every file, written or not, whatever fails (the caller removes them)."""
        with contextlib.suppress(OSError):
            self.close()
        with contextlib.suppress(OSError):
            self._full.close()

    @property
    def chapter_frames(self) -> list[int]:
        """How many frames each chapter track has (so far)."""
        bounds = [0, *self._cuts, len(self._lengths)][: self._chapter_index + 2]
        bounds[-1] = len(self._lengths)
        return [b - a for a, b in itertools.pairwise(bounds)]

    def _toc(self, header: int, size: int) -> bytes:
        """Entry ``i``: where the frame ``i`` percent of the way in starts, in 256ths of the
        file."""
        import numpy as np

        starts = np.concatenate(([0], np.cumsum(np.frombuffer(self._lengths, np.uint16))))
        frames = len(self._lengths)
        at = starts[(np.arange(_TOC_ENTRIES) * frames) // _TOC_ENTRIES] + header
        return bytes(np.minimum(at * 256 // size, 255).astype(np.uint8))

    def _next_cut(self) -> int:
        index = self._chapter_index
        return self._cuts[index] if 0 <= index < len(self._cuts) else -1

    def _next_chapter(self) -> None:
        self.close()
        self._chapter_index += 1
        self._chapter = self._chapters[self._chapter_index].open("wb")

    def _write_chapter(self, data: bytes) -> None:
        if data and self._chapter is not None:
            self._chapter.write(data)
