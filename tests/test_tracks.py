"""The full track and the chapter tracks written from the frames in one pass (issue #17):
the chapter tracks are the frames ffmpeg's segmenter cuts, byte for byte, and the full
track's LAME/Info header is the one ffmpeg's MP3 writer sets, its checksums right."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require
from tests.test_parallel_encode import decode, encode_single, mp3val_problems, speech_like
from voiceguide.export.frames import FrameReader, info_frame
from voiceguide.export.pieces import SAMPLES_PER_FRAME
from voiceguide.export.tracks import TrackWriter, crc16
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


@pytest.mark.ffmpeg
def test_tracks_are_what_ffmpeg_writes_from_the_same_frames(tmp_path: Path) -> None:
    require("mp3val", shutil.which("mp3val") is not None, "apt-get install mp3val")
    source = speech_like(60, seed=11)
    single = tmp_path / "single.mp3"
    encode_single(source, single)  # its header was written by ffmpeg's MP3 writer
    times_s = [1.0, 10.013, 33.5, 47.25]
    # ffmpeg's segmenter cuts the same stream (as the export did before #17)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(single), "-c", "copy", "-f", "segment",
         "-segment_format_options", "write_xing=0:id3v2_version=0",
         "-segment_times", ",".join(map(str, times_s)), str(tmp_path / "seg-%d.mp3")],
        check=True,
    )  # fmt: skip
    cuts = [-(-round(t * 1000) * FORMAT.sample_rate // (1000 * SAMPLES_PER_FRAME)) for t in times_s]
    info, padding = info_frame(single)
    chapters = [tmp_path / f"ours-{i}.mp3" for i in range(len(cuts) + 1)]
    writer = TrackWriter(tmp_path / "full.mp3", info, chapters, cuts)
    with single.open("rb") as handle:
        FrameReader(handle, single.name).copy(None, writer.add)
    writer.finish(padding)
    for i, chapter in enumerate(chapters):
        assert chapter.read_bytes() == (tmp_path / f"seg-{i}.mp3").read_bytes(), i
    assert sum(writer.chapter_frames) == len(writer._lengths)
    ours, theirs = (tmp_path / "full.mp3").read_bytes(), single.read_bytes()
    assert len(ours) == len(theirs) and ours[313:] == theirs[313:]  # the same frames
    toc = slice(21 + 16, 21 + 116)
    # every header field as ffmpeg's writer sets it but the table of contents (ffmpeg
    # samples the frames' positions coarsely; ours is exact) and hence the tag's CRC
    assert ours[: toc.start] == theirs[: toc.start]
    assert ours[toc.stop : LAME + 34] == theirs[toc.stop : LAME + 34]
    assert all(abs(a - b) <= 3 for a, b in zip(ours[toc], theirs[toc], strict=True))
    assert list(ours[toc]) == sorted(ours[toc])
    starts = [313]  # where each frame starts: after the Info frame, the frames before it
    for length in writer._lengths:
        starts.append(starts[-1] + length)
    frames = len(writer._lengths)
    assert list(ours[toc]) == [
        min(255, starts[i * frames // 100] * 256 // len(ours)) for i in range(100)
    ]  # exact: entry i is where the frame i percent of the way in starts, in 256ths
    header = bytearray(ours[:313])
    header[LAME + 34 : LAME + 36] = b"\x00\x00"
    assert ours[LAME + 34 : LAME + 36] == crc16(bytes(header[:190])).to_bytes(2, "big")
    # ffmpeg's own tag CRC is computed the same way: check ours on its header
    header = bytearray(theirs[:313])
    header[LAME + 34 : LAME + 36] = b"\x00\x00"
    assert theirs[LAME + 34 : LAME + 36] == crc16(bytes(header[:190])).to_bytes(2, "big")
    assert np.array_equal(decode(tmp_path / "full.mp3"), decode(single))
    assert not mp3val_problems(tmp_path / "full.mp3")
