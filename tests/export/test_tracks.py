"""The full track and the chapter tracks written from the frames in one pass (issues #17,
#26): a chapter track is the full track's frames from its cut on, its first frame decoding
on its own (the bit reservoir laid out again), and the full track's LAME/Info header is
set from its frames, its checksums right."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.conftest import require
from tests.export.test_parallel_encode import decode, mp3val_problems, speech_like
from voiceguide.export.encoder import encode_pieces
from voiceguide.export.frames import frame_length
from voiceguide.export.pieces import SAMPLES_PER_FRAME, plan_pieces
from voiceguide.export.reservoir import (
    Frame,
    Repacker,
    main_data_begin,
    main_data_bytes,
    side_length,
)
from voiceguide.export.tracks import crc16
from voiceguide.sound.audio import FORMAT

LAME = 21 + 120  # the LAME tag in a mono Info frame


def crc16_bitwise(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC one bit at a time: the reference."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xA001 if crc & 1 else 0)
    return crc


def test_crc16_is_crc16_arc_for_any_length_and_chains() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the catalogue's check value
    rng = random.Random(5)
    for length in (0, 1, 255, 256, 64 * 256 - 1, 64 * 256, 64 * 256 + 17, 300_001):
        data = rng.randbytes(length)
        assert crc16(data) == crc16_bitwise(data), length
        cut = length // 3
        assert crc16(data[cut:], crc16(data[:cut])) == crc16_bitwise(data), length
    assert crc16(b"\x00" * 40_000 + b"\x01") == crc16_bitwise(b"\x00" * 40_000 + b"\x01")


def frames_of(data: bytes) -> list[bytes]:
    at, frames = 0, []
    while at + 4 <= len(data):
        length = frame_length(data[at : at + 4])
        frames.append(data[at : at + length])
        at += length
    return frames


def borrowed(frames: list[bytes]) -> list[int]:
    """For each frame, how many bytes before its own payload its data begins, less the
    payload of the frames before it in the list (> 0: it reaches before the list)."""
    payload, out = 0, []
    for frame in frames:
        side = frame[4 : 4 + side_length(frame)]
        out.append(main_data_begin(side) - payload)
        payload += len(frame) - 4 - len(side)
    return out


@pytest.mark.ffmpeg
def test_chapter_tracks_are_the_full_tracks_frames_and_start_on_their_own(tmp_path: Path) -> None:
    require("mp3val", shutil.which("mp3val") is not None, "apt-get install mp3val")
    source = speech_like(60, seed=11)
    data = source.tobytes()
    cuts = [38, 390, 1283, 1810]
    chapters = [tmp_path / f"ours-{i}.mp3" for i in range(len(cuts) + 1)]
    full = tmp_path / "full.mp3"
    counts = encode_pieces(
        lambda a, b: [data[2 * a : 2 * b]], [[p] for p in plan_pieces(len(source), 2)],
        full, "96k", FORMAT, None, chapters, cuts,
    )  # fmt: skip
    ours = full.read_bytes()
    info = frame_length(ours[:4])
    frames = frames_of(ours[info:])
    assert counts == [b - a for a, b in zip([0, *cuts], [*cuts, len(frames)], strict=True)]
    assert int.from_bytes(ours[21 + 8 : 21 + 12], "big") == len(frames)
    delay_padding = int.from_bytes(ours[LAME + 21 : LAME + 24], "big")
    assert delay_padding >> 12 == 576
    assert (delay_padding & 0xFFF) == len(frames) * SAMPLES_PER_FRAME - 576 - len(source)
    for i, (start, chapter) in enumerate(zip([0, *cuts], chapters, strict=True)):
        mine = frames[start : start + counts[i]]
        assert chapter.read_bytes() == b"".join(mine), i  # the full track's frames
        reach = borrowed(mine)
        assert reach[0] == 0 and main_data_begin(mine[0][4:21]) == 0  # the cut frame: alone
        assert max(reach) <= 0, i  # nothing borrowed from before the chapter
        assert not mp3val_problems(chapter), i
    header = bytearray(ours[:info])
    header[LAME + 34 : LAME + 36] = b"\x00\x00"
    assert ours[LAME + 34 : LAME + 36] == crc16(bytes(header[:190])).to_bytes(2, "big")
    assert ours[LAME + 32 : LAME + 34] == crc16(ours[info:]).to_bytes(2, "big")
    assert not mp3val_problems(full)
    assert len(decode(full)) == len(source)


def fake_frame(main: bytes, begin: int = 0) -> Frame:
    """A mono 96 kbps frame whose one granule's data is ``main``."""
    bits = (begin << 127) | ((8 * len(main)) << (136 - 18 - 12))
    return Frame(bytes((0xFF, 0xFB, 0x70, 0xC4)), bits.to_bytes(17, "big"), main)


def test_the_repacker_lays_data_as_early_as_the_reservoir_allows_and_cuts_stand_alone() -> None:
    given: list[bytes] = []
    packer = Repacker(lambda data, lengths: given.extend(frames_of(data)), [4, 6], bytes(17))
    sizes = [10, 10, 10, 10, 200, 500, 280, 100]
    packer.add([fake_frame(bytes([k + 1]) * n) for k, n in enumerate(sizes)])
    packer.finish()
    assert len(given) == len(sizes)
    begins = [main_data_begin(f[4:21]) for f in given]
    assert begins[:4] == [0, 292 - 10, 511, 511]  # back to where data ends, 511 at most
    assert begins[4] == 0 and begins[6] == 0  # the cuts: data in the frame itself
    assert given[5][2] >> 4 > 7  # 500 bytes after a cut: 384 of room, the next rates up
    stream = bytearray()
    for k, frame in enumerate(given):
        payload_start = len(stream)
        stream += frame[21:]
        side = frame[4:21]
        start = payload_start - main_data_begin(side)
        assert bytes(stream[start : start + main_data_bytes(side)]) == bytes([k + 1]) * sizes[
            k
        ] or (k == 6 and main_data_bytes(side) == 0), k
    assert sum(len(f) for f in given) in (313 * len(sizes), 313 * len(sizes) + 1) or packer.raised


def test_a_cut_frame_that_does_not_fit_alone_is_silent_and_a_frame_without_room_a_bit_rate_up() -> (
    None
):
    given: list[bytes] = []
    packer = Repacker(lambda data, lengths: given.extend(frames_of(data)), [1], bytes(17))
    packer.add([fake_frame(b"a" * 100), fake_frame(b"b" * 400)])
    packer.add([fake_frame(b"c" * 500), fake_frame(b"d" * 500)])
    packer.finish()
    assert packer.silenced == 1 and main_data_bytes(given[1][4:21]) == 0
    assert given[1][2] >> 4 == 7  # the cut frame keeps its bit rate
    # 500 bytes after 500: 376 bytes of room at 96 kbps, 480 at 128, 584 at 160
    assert [f[2] >> 4 for f in given[2:]] == [7, 10]
    assert packer.raised == 1 and main_data_bytes(given[3][4:21]) == 500
