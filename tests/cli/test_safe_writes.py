"""A file the user names (``history --export``, ``cues --out``) is written whole or not at
all, and never over what it must not replace: the practice log, a device, a FIFO, a folder,
voiceguide's caches; ``-`` is the output where that makes sense, ``''`` is bad input, and no
temporary name is longer than the file system allows."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.practice.test_cli import digest, seed
from voiceguide import pipeline
from voiceguide.errors import SettingsError
from voiceguide.files import TargetRefused, check_target, staging_path, write_output
from voiceguide.practice import log_path


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in lines[0]
    return lines[0]


def test_the_export_never_replaces_the_practice_log() -> None:
    seed([0, 1])
    before = digest(log_path())
    for target in (log_path(), log_path().with_name(log_path().name + "-wal")):
        with pytest.raises(SettingsError, match="voiceguide's own"):
            pipeline.export_csv(str(target))
    assert digest(log_path()) == before
    assert len(pipeline.history().sessions) == 2


def test_a_hard_link_to_the_log_is_the_log(tmp_path: Path) -> None:
    seed([0])
    link = tmp_path / "elsewhere.csv"
    os.link(log_path(), link)
    with pytest.raises(TargetRefused, match="voiceguide's own"):
        check_target(link, [log_path()])


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_device_is_never_replaced(device: str) -> None:
    seed([0])
    before = os.stat(device)
    with pytest.raises(SettingsError, match="it is a device"):
        pipeline.export_csv(device)
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_fifo_a_socket_and_a_folder_are_never_replaced(tmp_path: Path) -> None:
    import socket

    seed([0])
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    sock = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    try:
        for target, words in ((fifo, "FIFO"), (sock, "socket"), (folder, "folder")):
            with pytest.raises(SettingsError, match=words):
                pipeline.export_csv(str(target))
    finally:
        server.close()
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and stat.S_ISSOCK(sock.lstat().st_mode)
    assert folder.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == [
        "data",
        "fifo.csv",
        "folder.csv",
        "s.csv",
    ]


def test_nothing_is_written_into_the_caches_or_over_an_exports_manifest(tmp_path: Path) -> None:
    cache = Path(os.environ["VOICEGUIDE_CACHE_DIR"])
    for target in (cache / "log.csv", tmp_path / "audio" / ".voiceguide-export.json"):
        with pytest.raises(SettingsError, match="voiceguide's own"):
            pipeline.export_csv(str(target))


def test_an_empty_name_is_bad_input() -> None:
    with pytest.raises(SettingsError, match="give a file name"):
        pipeline.export_csv("")


def test_the_temporary_name_is_short_whatever_the_name(tmp_path: Path) -> None:
    longest = tmp_path / ("a" * 251 + ".csv")  # 255 bytes: the most a name may have
    assert len(staging_path(longest).name) < 40
    write_output(longest, b"x\n")
    assert longest.read_bytes() == b"x\n"
    assert [p.name for p in tmp_path.iterdir()] == [longest.name]  # no temporary file left
    with pytest.raises(TargetRefused, match="longer than the 255 bytes"):
        write_output(tmp_path / ("a" * 252 + ".csv"), b"x\n")


def test_a_new_file_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    new = tmp_path / "new.csv"
    old_mask = os.umask(0o022)
    try:
        write_output(new, b"1")
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    new.chmod(0o600)
    write_output(new, b"2")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600 and new.read_bytes() == b"2"


def test_history_export_as_a_user_runs_it(tmp_path: Path) -> None:
    seed([0, 1])
    before = digest(log_path())
    at_log = _one_error(run("history", "--export", str(log_path()), cwd=tmp_path))
    assert "voiceguide's own" in at_log and "nothing was written" in at_log
    assert "it is a device" in _one_error(run("history", "--export", "/dev/null", cwd=tmp_path))
    assert "give a file name" in _one_error(run("history", "--export", "", cwd=tmp_path))
    too_long = _one_error(run("history", "--export", "a" * 252 + ".csv", cwd=tmp_path))
    assert "longer than the 255 bytes" in too_long
    to_output = run("history", "--export", "-", cwd=tmp_path)
    assert to_output.returncode == 0, to_output.stderr
    assert to_output.stdout.startswith("id,day,started,") and to_output.stdout.count("\n") == 3
    assert not (tmp_path / "-").exists()
    assert digest(log_path()) == before


def test_cues_out_refuses_before_speaking(tmp_path: Path) -> None:
    for target, words in (
        ("/dev/null", "it is a device"),
        ("", "give a file name"),
        ("-", "give a file name"),
        ("a" * 252 + ".mp3", "longer than the 255 bytes"),
        (str(tmp_path), "it is a folder"),
    ):
        assert words in _one_error(run("cues", "--out", target, cwd=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_cues_out_writes_a_name_of_255_bytes(tmp_path: Path) -> None:
    name = "a" * 251 + ".mp3"
    result = run("cues", "--out", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).stat().st_size > 10_000
