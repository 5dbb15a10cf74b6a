"""What a phone shows and plays: tags, cover, chapters, lyrics, playlist, loudness, zip.

Every check reads the exported files back with mutagen, ffprobe/ffmpeg or Pillow.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from voiceguide import pipeline
from voiceguide.errors import SettingsError
from voiceguide.export import ExportResult
from voiceguide.plan.parsing import DEFAULT_VOICE
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.model import Routine
from voiceguide.speech.cache import PhraseCache

pytestmark = pytest.mark.ffmpeg

FAT_FORBIDDEN = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


@pytest.fixture(scope="module")
def real_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Timeline, ExportResult]:
    """The default routine with real speech, exported once for the whole module."""
    from tests.conftest import _espeak_available, require

    require("espeak-ng (through pyttsx3)", _espeak_available(), "apt-get install espeak-ng")
    base = tmp_path_factory.mktemp("phone")
    routine = pipeline.load(None)
    cache = pipeline.make_cache(Settings(), cache_dir=base / "cache")
    return pipeline.export(routine, Settings(), cache, base / "audio")


def _id3_frame_ids(path: Path) -> list[tuple[str, bytes]]:
    """The (frame id, body) of every frame in the ID3v2.3 tag, in stored order."""
    data = path.read_bytes()
    assert data[:3] == b"ID3" and data[3] == 3
    size = 0
    for byte in data[6:10]:
        size = size << 7 | byte
    frames, pos, end = [], 10, 10 + size
    while pos + 10 <= end and data[pos : pos + 4] != b"\0\0\0\0":
        frame_id = data[pos : pos + 4].decode("ascii")
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        frames.append((frame_id, data[pos + 10 : pos + 10 + length]))
        pos += 10 + length
    return frames


def _loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) measured by ffmpeg's ebur128 filter."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak


def test_every_track_is_at_minus_19_lufs_with_true_peaks_under_minus_1(
    real_export: tuple[Timeline, ExportResult],
) -> None:
    _, result = real_export
    for track in (*result.tracks, result.full):
        integrated, peak = _loudness(track.path)
        assert abs(integrated - -19.0) <= 1.0, (track.path.name, integrated)
        assert peak <= -1.0, (track.path.name, peak)


def test_tags_cover_and_lyrics_are_embedded(real_export: tuple[Timeline, ExportResult]) -> None:
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3
    from PIL import Image

    _, result = real_export
    for track in (*result.tracks, result.full):
        tags = ID3(track.path)
        assert tags.version[:2] == (2, 3)
        assert str(tags["TCON"]) == "Fitness" and str(tags["TDRC"]).isdigit()  # TYER, read as v2.4
        assert f"voice {DEFAULT_VOICE}" in str(tags.getall("COMM")[0])
        (cover,) = tags.getall("APIC")
        image = Image.open(io.BytesIO(cover.data))
        assert image.size == (600, 600) and cover.mime == "image/png" and cover.type == 3
        (sylt,) = tags.getall("SYLT")
        times = [ms for _text, ms in sylt.text]
        assert times == sorted(times) and len(times) >= 2
        assert str(tags.getall("USLT")[0]).startswith(sylt.text[0][0])
        info = MP3(track.path).info
        assert info.sample_rate == 44_100 and info.channels == 1
        # a hair above 96k for the full track: its length leaves out LAME's delay and padding
        assert 96_000 <= info.bitrate < 96_100
    spoken = {text for text, _ms in ID3(result.full.path).getall("SYLT")[0].text}
    assert "Take your left ankle off your right thigh." in spoken
    assert "[switch sides]" in spoken


def test_full_track_chapters_match_the_plan_and_are_stored_in_time_order(
    real_export: tuple[Timeline, ExportResult],
) -> None:
    from mutagen.id3 import ID3

    timeline, result = real_export
    plan = timeline.to_json()
    tags = ID3(result.full.path)
    (toc,) = tags.getall("CTOC")
    chapters = [tags[f"CHAP:{element_id}"] for element_id in toc.child_element_ids]
    assert len(chapters) == len(plan["sections"])
    for chapter, section in zip(chapters, plan["sections"], strict=True):
        assert str(chapter.sub_frames["TIT2"]) == section["title"]
        assert abs(chapter.start_time / 1000 - section["start_s"]) <= 0.05
        assert abs(chapter.end_time / 1000 - section["end_s"]) <= 0.05
    titles = [str(c.sub_frames["TIT2"]) for c in chapters]
    assert "Supine hip stretch - left side" in titles
    assert "Seated twist hip release - right side" in titles
    stored = [body for frame_id, body in _id3_frame_ids(result.full.path) if frame_id == "CHAP"]
    starts = []
    for body in stored:
        offset = body.index(b"\0") + 1
        starts.append(struct.unpack(">I", body[offset : offset + 4])[0])
    assert starts == sorted(starts) and len(starts) == len(chapters)


def test_the_playlist_lists_the_tracks_by_relative_path_and_each_decodes(
    real_export: tuple[Timeline, ExportResult],
) -> None:
    _, result = real_export
    lines = result.playlist.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = lines[2::2]
    assert entries == [t.path.name for t in result.tracks]
    for info, entry, track in zip(lines[1::2], entries, result.tracks, strict=True):
        assert info == f"#EXTINF:{round(track.duration_s)},voiceguide - {track.title}"
        path = result.playlist.parent / entry
        decoded = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert decoded.stderr == ""
        probe = json.loads(
            subprocess.run(
                ["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert probe["format"]["format_name"] == "mp3"


def test_lrc_files_time_every_phrase(real_export: tuple[Timeline, ExportResult]) -> None:
    timeline, result = real_export
    lrc = result.full.path.with_suffix(".lrc").read_text(encoding="utf-8").splitlines()
    timed = [line for line in lrc if re.match(r"^\[\d\d:\d\d\.\d\d\]", line)]
    speech_count = sum(1 for e in timeline.events if type(e).__name__ == "Speech")
    assert len(timed) >= speech_count
    ms = timeline.holds[0].start_ms
    assert f"[{ms // 60_000:02d}:{ms % 60_000 // 1000:02d}.{ms % 1000 // 10:02d}][hold]" in lrc


def test_names_are_safe_for_phone_file_systems(real_export: tuple[Timeline, ExportResult]) -> None:
    _, result = real_export
    for path in result.playlist.parent.iterdir():
        assert not FAT_FORBIDDEN.search(path.name), path.name
        assert not path.name.endswith((" ", ".")) and len(path.name) <= 100


def test_zip_holds_the_same_export(
    routine: Routine, fake_cache: PhraseCache, tmp_path: Path
) -> None:
    _, _loose = pipeline.export(routine, Settings(), fake_cache, tmp_path / "loose")
    _, zipped = pipeline.export(routine, Settings(), fake_cache, tmp_path / "zip", as_zip=True)
    assert zipped.zip_path is not None
    assert sorted(p.name for p in (tmp_path / "zip").iterdir()) == [
        ".voiceguide-export.json",
        zipped.zip_path.name,
    ]
    with zipfile.ZipFile(zipped.zip_path) as archive:
        names = sorted(Path(n).name for n in archive.namelist())
        folders = {Path(n).parent.name for n in archive.namelist()}
        assert archive.testzip() is None
    loose_names = sorted(
        p.name for p in (tmp_path / "loose").iterdir() if not p.name.startswith(".")
    )
    assert names == loose_names and folders == {"Outer hip release for low back pain"}


def test_bitrate_option_and_its_validation(
    routine: Routine, fake_cache: PhraseCache, tmp_path: Path
) -> None:
    from mutagen.mp3 import MP3

    _, result = pipeline.export(routine, Settings(), fake_cache, tmp_path / "a", bitrate="64k")
    assert 64_000 <= MP3(result.full.path).info.bitrate < 64_100
    for bad in ("fast", "100k", "0"):
        with pytest.raises(SettingsError, match="MP3 bitrates are"):
            pipeline.export(routine, Settings(), fake_cache, tmp_path / "b", bitrate=bad)
    assert not (tmp_path / "b").exists()
