"""The command line, run as a user runs it: a real process, real exit codes, one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers.cli import run


def test_help_and_list() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("plan", "export", "list"):
        assert command in result.stdout
    listed = run("list")
    assert listed.returncode == 0 and listed.stdout.startswith("outer-hip\t")


@pytest.mark.espeak
def test_plan_json_has_the_documented_shape_and_hold_45_adds_exactly_the_difference() -> None:
    base = run("plan", "--json")
    assert base.returncode == 0, base.stderr
    plan = json.loads(base.stdout)
    assert isinstance(plan["total_s"], float)
    assert {"title", "start_s", "end_s"} <= set(plan["chapters"][0])
    assert {"exercise", "side", "start_s", "end_s"} <= set(plan["holds"][0])
    assert {h["side"] for h in plan["holds"]} == {"left", "right"}
    longer = json.loads(run("plan", "--hold", "45", "--json").stdout)
    assert longer["total_s"] - plan["total_s"] == pytest.approx(15 * len(plan["holds"]), abs=0.01)


@pytest.mark.espeak
def test_plan_table_shows_holds_and_the_total() -> None:
    result = run("plan", "--hold", "supine-hip-stretch=40")
    assert result.returncode == 0, result.stderr
    assert "Supine hip stretch" in result.stdout and "40 s" in result.stdout
    assert "Total" in result.stdout and "--hold supine-hip-stretch=40" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--hold", "abc"], "--hold 'abc': 'abc' is not a number"),
        (["plan", "--hold", "0"], "must be between 5 s and 600 s"),
        (["plan", "--rest", "-1"], "--rest '-1': must be between 0 s and 600 s"),
        (["plan", "--hold", "x=5"], "no exercise 'x' in routine 'outer-hip'"),
        (["plan", "no-such-routine"], "no bundled routine named 'no-such-routine'"),
        (["export", "--sets", "supine-hip-stretch=2"], "is a 'hold' exercise, which has no sets"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_bad_script_names_file_exercise_and_field(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(REPO / "scripts", tmp_path / "r")
    script = tmp_path / "r" / "seated-twist-hip-release.yaml"
    script.write_text(script.read_text().replace("hold_s: 30", "hold_s: -5"))
    result = run("plan", str(tmp_path / "r" / "outer-hip.routine.yaml"))
    assert result.returncode == 2
    assert "seated-twist-hip-release.yaml:" in result.stderr
    assert "exercise 'seated-twist-hip-release', field 'hold_s': must be between" in result.stderr
    verbose = run("--verbose", "plan", str(tmp_path / "r" / "outer-hip.routine.yaml"))
    assert "Traceback" in verbose.stderr and "RoutineError" in verbose.stderr


@pytest.mark.espeak
def test_export_needs_no_ffmpeg_and_says_nothing_of_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with no program at all: MP3s are encoded in-process
    bin_dir.mkdir()
    result = run("export", "--out", str(tmp_path / "out"), env={"PATH": str(bin_dir)})
    assert result.returncode == 0, result.stderr
    assert "ffmpeg" not in result.stderr
    assert len(list((tmp_path / "out").glob("*.mp3"))) == 6


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_export_json_reports_tracks_and_the_full_length_matches_the_plan(tmp_path: Path) -> None:
    plan = json.loads(run("plan", "--hold", "45", "--json").stdout)
    result = run("export", "--hold", "45", "--out", str(tmp_path / "audio"), "--json")
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert len(exported["tracks"]) == len(plan["chapters"])
    assert exported["full"]["duration_s"] == pytest.approx(plan["total_s"], abs=0.15)
    for track in exported["tracks"]:
        assert Path(track["path"]).is_file()


def _missing_ffmpeg(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"  # a PATH without ffmpeg
    bin_dir.mkdir(exist_ok=True)
    return {"PATH": str(bin_dir)}


def _bed(tmp_path: Path) -> str:
    """A music bed file in a format voiceguide does not decode itself: ffmpeg's to read."""
    path = tmp_path / "bed.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A isom" + bytes(4096))
    return str(path)


VERBOSE_CASES = {
    "bad value (2)": (["plan", "--hold", "0"], None, 2),
    "unknown option (2)": (["plan", "--no-such-option"], None, 2),
    "unknown routine (2)": (["plan", "no-such-routine"], None, 2),
    "ffmpeg missing (1)": (["export", "--bed", "BED", "--out", "OUT"], _missing_ffmpeg, 1),
}


@pytest.mark.parametrize("case", VERBOSE_CASES, ids=list(VERBOSE_CASES))
def test_verbose_adds_the_traceback_and_changes_nothing_else(case: str, tmp_path: Path) -> None:
    args, env_of, code = VERBOSE_CASES[case]
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    args = [_bed(tmp_path) if a == "BED" else a for a in args]
    env = env_of(tmp_path) if env_of else None
    plain = run(*args, env=env)
    verbose = run("-v", *args, env=env)
    assert plain.returncode == verbose.returncode == code, (plain.stderr, verbose.stderr)
    assert plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    assert verbose.stderr.startswith("Traceback (most recent call last):"), verbose.stderr
    assert verbose.stderr.endswith(plain.stderr)  # the same one line, last
    assert verbose.stdout == plain.stdout


def test_verbose_on_an_internal_error_exits_1_after_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voiceguide import cli, pipeline
    from voiceguide.cli import commands

    def broken(*_args: object, **_kwargs: object) -> object:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "plan", broken)
    ctrl_c = signal.getsignal(signal.SIGINT)
    for verbose in ([], ["-v"]):
        monkeypatch.setattr(sys, "argv", ["voiceguide", *verbose, "plan"])
        monkeypatch.setitem(commands._state, "verbose", False)
        try:
            with pytest.raises(SystemExit) as caught:
                cli.main()
        finally:
            signal.signal(signal.SIGINT, ctrl_c)  # main() installs its own
        assert caught.value.code == 1
        stderr = capsys.readouterr().err
        assert stderr.splitlines()[-1].startswith("voiceguide: internal error: ZeroDivisionError")
        assert ("Traceback" in stderr) == bool(verbose)


def test_an_export_refused_at_once_says_one_line_while_its_early_worker_starts(
    tmp_path: Path,
) -> None:
    """The export starts a speech worker before the routine loads; a bad setting ends the
    command moments later, while that worker still starts. It must be stopped quietly (a
    worker whose parent left while it started printed a traceback)."""
    folder = tmp_path / "music"  # not a file: said after the routine has loaded
    folder.mkdir()
    for _ in range(8):
        command = [sys.executable, "-m", "voiceguide", "export", "--bed", str(folder)]
        done = subprocess.run(
            [*command, "--out", str(tmp_path / "audio")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
