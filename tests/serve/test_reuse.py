"""When ``voiceguide serve`` reuses the export in its folder: only a whole export, made
from the same routine and settings (its manifest's fingerprint), of loose regular files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from voiceguide import pipeline
from voiceguide.export import JOURNAL, MANIFEST
from voiceguide.plan.settings import Settings

FILES = ["01 Introduction.mp3", "02 Full routine.mp3", "01 Introduction.lrc", "Album.m3u8"]


@pytest.fixture
def made_from() -> str:
    return pipeline.fingerprint(pipeline.load(None), Settings(), "96k")


def _export(folder: Path, fingerprint: str, files: list[str] = FILES) -> Path:
    folder.mkdir()
    for name in files:
        (folder / name).write_bytes(b"x")
    (folder / MANIFEST).write_text(
        json.dumps({"id": "1", "files": files, "fingerprint": fingerprint})
    )
    return folder


def test_the_fingerprint_follows_the_routine_the_settings_and_the_bitrate(made_from: str) -> None:
    routine = pipeline.load(None)
    assert pipeline.fingerprint(routine, Settings(), "96") == made_from  # as the CLI takes it
    assert pipeline.fingerprint(routine, Settings(rate_wpm=150), "96k") != made_from
    assert pipeline.fingerprint(routine, Settings(), "128k") != made_from
    assert pipeline.fingerprint(routine, Settings(), "96k", as_zip=True) != made_from
    renamed = routine.__class__(**{**routine.__dict__, "closing": "Bye."})
    assert pipeline.fingerprint(renamed, Settings(), "96k") != made_from


def test_a_whole_export_with_the_same_fingerprint_is_current(
    tmp_path: Path, made_from: str
) -> None:
    assert pipeline.current_export(_export(tmp_path / "a", made_from), made_from)


def test_anything_else_is_not(tmp_path: Path, made_from: str) -> None:
    assert not pipeline.current_export(tmp_path / "missing", made_from)
    assert not pipeline.current_export(_export(tmp_path / "other", "0" * 64), made_from)
    assert not pipeline.current_export(_export(tmp_path / "zip", made_from, ["A.zip"]), made_from)
    gone = _export(tmp_path / "gone", made_from)
    (gone / FILES[0]).unlink()
    assert not pipeline.current_export(gone, made_from)
    linked = _export(tmp_path / "linked", made_from)
    (linked / FILES[1]).unlink()
    (linked / FILES[1]).symlink_to(tmp_path / "other" / FILES[1])
    assert not pipeline.current_export(linked, made_from)
    journal = _export(tmp_path / "journal", made_from)
    (journal / JOURNAL).write_text("{}")
    assert not pipeline.current_export(journal, made_from)
    outside = _export(tmp_path / "outside", made_from, [*FILES, "../other/Album.m3u8"])
    assert not pipeline.current_export(outside, made_from)
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / MANIFEST)  # never waited on
    assert not pipeline.current_export(fifo, made_from)
