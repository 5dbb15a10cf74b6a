"""Real MP3 export read back: durations, tags, names, and the replace-cleanly guarantee."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FakeSynthesizer
from voiceguide import pipeline
from voiceguide.export import safe_filename
from voiceguide.plan.settings import Settings
from voiceguide.routine.model import Routine
from voiceguide.speech.cache import PhraseCache

pytestmark = pytest.mark.ffmpeg


def _probe_duration_s(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def _decode_errors(path: Path) -> str:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    return result.stderr.strip()


def test_export_writes_tagged_tracks_whose_lengths_match_the_plan(
    routine: Routine, fake_cache: PhraseCache, tmp_path: Path
) -> None:
    from mutagen.id3 import ID3

    out = tmp_path / "audio"
    timeline, result = pipeline.export(routine, Settings(), fake_cache, out, "96k")
    assert [t.title for t in result.tracks] == [c.title for c in timeline.chapters]
    files = sorted(p.name for p in out.glob("*.mp3"))
    assert files == [
        "01 Introduction.mp3",
        "02 Supine hip stretch.mp3",
        "03 Seated twist hip release.mp3",
        "04 Adductor ball squeeze.mp3",
        "05 Closing.mp3",
        "06 Outer hip release for low back pain - full routine.mp3",
    ]
    total_s = timeline.total_ms / 1000
    # the full track is the plan's length, within 0.1 s plus the encoder's padding
    assert abs(result.full.duration_s - total_s) < 0.15
    assert abs(_probe_duration_s(result.full.path) - total_s) < 0.15
    for track, chapter in zip(result.tracks, timeline.chapters, strict=True):
        assert abs(track.duration_s - (chapter.end_ms - chapter.start_ms) / 1000) < 0.15
    for number, track in enumerate((*result.tracks, result.full), start=1):
        tags = ID3(track.path)
        assert tags.version[:2] == (2, 3)
        assert str(tags["TIT2"]) == track.title
        assert str(tags["TALB"]) == routine.title
        assert str(tags["TPE1"]) == "voiceguide"
        assert str(tags["TRCK"]) == f"{number}/6"
        assert _decode_errors(track.path) == ""


def test_re_export_with_other_settings_replaces_the_previous_export_cleanly(
    routine: Routine, fake_cache: PhraseCache, tmp_path: Path
) -> None:
    from mutagen.id3 import ID3

    out = tmp_path / "audio"
    out.mkdir()
    (out / "my notes.txt").write_text("not ours", encoding="utf-8")
    _, first = pipeline.export(routine, Settings(), fake_cache, out, "96k")
    shorter = type(routine)(**{**routine.__dict__, "exercises": routine.exercises[:1]})
    settings = pipeline.parse_settings([("hold", "45")])
    _, second = pipeline.export(shorter, settings, fake_cache, out, "96k")
    names = sorted(p.name for p in out.iterdir())
    mp3s = [t.path.name for t in (*second.tracks, second.full)]
    lrcs = [name.removesuffix(".mp3") + ".lrc" for name in mp3s]
    expected = [".voiceguide-export.json", "my notes.txt", *mp3s, *lrcs, second.playlist.name]
    assert names == sorted(expected)
    assert str(ID3(second.full.path)["TALB"]) == f"{routine.title} (45 s holds)"
    assert len(first.tracks) == 5 and len(second.tracks) == 3


def test_the_same_cache_serves_plan_and_export_without_new_synthesis(
    routine: Routine, tmp_path: Path
) -> None:
    synth = FakeSynthesizer()
    cache = PhraseCache(synth, tmp_path / "cache")
    pipeline.plan(routine, Settings(), cache)
    calls = len(synth.calls)
    rerun = PhraseCache(synth, tmp_path / "cache")
    pipeline.export(
        routine, pipeline.parse_settings([("hold", "45")]), rerun, tmp_path / "a", "64k"
    )
    # changing only hold lengths synthesizes only the phrases that say a hold's length
    assert synth.calls[calls:] and all("45 seconds" in t for t in synth.calls[calls:])


@pytest.mark.espeak
def test_real_speech_export_of_the_default_routine(routine: Routine, tmp_path: Path) -> None:
    cache = pipeline.make_cache(Settings(), cache_dir=tmp_path / "cache")
    timeline, result = pipeline.export(routine, Settings(), cache, tmp_path / "audio", "96k")
    assert abs(result.full.duration_s - timeline.total_ms / 1000) < 0.15
    assert 600 < timeline.total_ms / 1000 < 1500
    assert _decode_errors(result.full.path) == ""


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Supine hip stretch", "Supine hip stretch"),
        ('a/b\\c:d*e?f"g<h>i|j', "a b c d e f g h i j"),
        ("../../etc/passwd", "etc passwd"),
        ("trailing dots...  ", "trailing dots"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("\x00\x1f", "track"),
        ("x" * 300, "x" * 80),
        ("Hüfte 🧘", "Hüfte 🧘"),
        ("-rf", "rf"),  # never read as an option
        (" - -- .-x", "x"),
        ("Stretch #3", "Stretch 3"),  # a player reading a playlist as URIs ends it at "#"
    ],
)
def test_file_names_are_safe_on_a_phone(title: str, expected: str) -> None:
    assert safe_filename(title) == expected


LONG_TITLES = {
    "latin": "Étirements du matin pour le dos et les hanches, doux et lents, " * 3,
    "cyrillic": "Утренняя растяжка спины и бёдер для тех, кто весь день сидит " * 3,
    "emoji": "🧘" * 100,
    "one long word": "x" * 300,
}


@pytest.mark.ffmpeg
@pytest.mark.parametrize("kind", LONG_TITLES)
def test_every_file_name_is_at_most_80_characters_and_keeps_full_routine(
    kind: str, tmp_path: Path
) -> None:
    from tests.speech.test_security import _routine_with_titles

    title = LONG_TITLES[kind]
    routine = pipeline.load(str(_routine_with_titles(tmp_path / "src", title, title)))
    cache = PhraseCache(FakeSynthesizer(), tmp_path / "cache")
    settings = pipeline.parse_settings([("hold", "6")])  # an album label: a longer album
    _, result = pipeline.export(routine, settings, cache, tmp_path / "out")
    _, zipped = pipeline.export(routine, settings, cache, tmp_path / "zip", as_zip=True)
    assert zipped.zip_path is not None
    import zipfile

    inside = [Path(n).name for n in zipfile.ZipFile(zipped.zip_path).namelist()]
    names = [p.name for p in (tmp_path / "out").iterdir()] + [zipped.zip_path.name, *inside]
    for name in names:
        assert len(name) <= 80 and len(name.encode("utf-8")) <= 255, (len(name), name)
    assert result.full.path.name.endswith(" - full routine.mp3"), result.full.path.name
    assert result.full.title == routine.title + " - full routine"  # the tag is not cut
    assert [t.path.name[:3] for t in result.tracks] == ["01 ", "02 ", "03 "]
    assert result.playlist.name.endswith(".m3u8") and result.playlist.exists()


def test_a_cut_title_keeps_the_number_the_suffix_and_the_extension() -> None:
    from voiceguide.export.names import file_name

    name = file_name("word " * 40, ".mp3", prefix="100 ", suffix=" - full routine")
    assert len(name) <= 80 and name.startswith("100 word word")
    assert name.endswith("word - full routine.mp3")  # cut at a space, not in a word
