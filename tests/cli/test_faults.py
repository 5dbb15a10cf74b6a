"""Faults caused for real: a missing speech library, a broken or killed encoder, a read-only
folder, a full disk, SIGKILL and Ctrl-C in the middle of an export, a hung or crashing speech
engine, damaged cache entries, and two exports at once.

Every fault must end in one clear line and the right exit code, leave the previous export
exactly as it was, leave no half-written file under a final name, no staging folder and no
stray process behind. Mounts need root (CI runs as root): without it these tests skip
locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pty
import re
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, FakeSynthesizer, require
from tests.helpers.cli import run as run_voiceguide
from tests.helpers.routines import write_one_hold_routine
from voiceguide import pipeline
from voiceguide.errors import ExportError, Interrupted, SynthesisError
from voiceguide.export.encoder import WORKER
from voiceguide.speech import espeak as tts
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.espeak import Pyttsx3Synthesizer

STAGING = ".voiceguide-staging-"


# ---------------------------------------------------------------- helpers


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A routine of a few seconds (a long one with --hold 600), quick to synthesize."""
    return write_one_hold_routine(tmp_path / "tiny", title="Tiny fault routine")


@pytest.fixture
def fake_export(tiny: Path, tmp_path: Path) -> Callable[..., object]:
    """Export the tiny routine in this process, with the fast fake synthesizer."""
    cache = PhraseCache(FakeSynthesizer(), tmp_path / "fake-cache")

    def export(out: Path, *overrides: tuple[str, str]) -> object:
        routine = pipeline.load(str(tiny))
        return pipeline.export(routine, pipeline.parse_settings(overrides), cache, out)

    return export


def cli(*args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", *args],
        cwd=REPO,
        text=True,
        env={**os.environ, **(env or {})},
        **popen,  # type: ignore[call-overload]
    )


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_voiceguide(*args, env=env)


def one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    line = stderr.strip()
    assert line.startswith("voiceguide: error: "), line
    return line


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in the folder (not staging) with the SHA-256 of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def staging(folder: Path) -> list[Path]:
    return sorted(folder.glob(STAGING + "*"))


def assert_complete_export(folder: Path) -> None:
    """The folder holds exactly the files its manifest lists, and every MP3 decodes."""
    manifest = json.loads((folder / ".voiceguide-export.json").read_text(encoding="utf-8"))
    assert sorted(manifest["files"]) == sorted(
        p.name for p in folder.iterdir() if p.name != ".voiceguide-export.json"
    )
    for mp3 in folder.glob("*.mp3"):
        assert decode(mp3), mp3


def decode(path: Path) -> bytes:
    """The MP3 decoded to PCM by ffmpeg; decoding errors fail the test."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


def descendants(pid: int) -> dict[int, str]:
    """Living (not zombie) descendants of a process: pid -> command line."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(stat.parent.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found[child] = cmdline(child)
                frontier.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def workers(pid: int) -> list[int]:
    return [p for p, cmd in descendants(pid).items() if "spawn_main" in cmd]


class Mounts:
    """Real mounts, undone in teardown."""

    def __init__(self) -> None:
        self.points: list[Path] = []

    def mount(self, *args: str, point: Path) -> None:
        result = subprocess.run(["mount", *args], capture_output=True, text=True)
        require(
            "mount (root allowed to mount)",
            result.returncode == 0,
            f"mount {' '.join(args)}: {result.stderr.strip()}",
        )
        self.points.append(point)

    def tmpfs(self, point: Path, size: str) -> Path:
        point.mkdir(parents=True, exist_ok=True)
        self.mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point), point=point)
        return point

    def read_only(self, folder: Path) -> None:
        self.mount("--bind", str(folder), str(folder), point=folder)
        self.mount("-o", "remount,ro,bind", str(folder), point=folder)

    def undo(self) -> None:
        for point in reversed(self.points):
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    done = Mounts()
    try:
        yield done
    finally:
        done.undo()


# ---------------------------------------------------------------- missing and broken programs


def test_missing_espeak_ng_exits_1_saying_what_to_install(tiny: Path, tmp_path: Path) -> None:
    """The speech library is really gone: in a private mount namespace, /dev/null is mounted
    over libespeak-ng, so pyttsx3's ctypes load fails exactly as on a machine without it."""
    import ctypes.util

    library = ctypes.util.find_library("espeak-ng")
    require("libespeak-ng (to hide it)", library is not None, "apt-get install espeak-ng")
    assert library is not None
    real = next(
        (
            p
            for d in (
                "/usr/lib/x86_64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu",
                "/usr/lib",
                "/usr/local/lib",
            )
            if (p := Path(d) / library).exists()
        ),
        None,
    )
    require("the libespeak-ng file", real is not None, f"{library} not found")
    assert real is not None
    allowed = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    require(
        "unshare -m (a private mount namespace)",
        allowed.returncode == 0,
        allowed.stderr.decode().strip(),
    )
    script = (
        f"mount --bind /dev/null '{real.resolve()}' && exec '{sys.executable}' -m voiceguide "
        f"plan '{tiny}' --voice gmw/en-us"  # an espeak-ng voice: the default is hibari
    )
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "empty-cache")},
    )
    assert result.returncode == 1, result.stderr
    line = one_line(result.stderr)
    assert "espeak-ng is not available" in line and "apt-get install espeak-ng" in line


def _espeak_data_folder() -> Path:
    real = next(
        (
            p
            for p in (
                Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data"),
                Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data"),
                Path("/usr/share/espeak-ng-data"),
            )
            if (p / "phontab").exists()
        ),
        None,
    )
    require("espeak-ng's data folder", real is not None, "apt-get install espeak-ng")
    assert real is not None
    return real


@pytest.mark.espeak
@pytest.mark.parametrize("command", ["plan", "voices", "export"])
def test_missing_espeak_ng_data_is_found_up_front_in_one_line(
    tiny: Path, tmp_path: Path, command: str
) -> None:
    """The library is there, its data folder is not: an empty folder is mounted over it in a
    private mount namespace. The library would print an error per file and exit(1) inside
    the process that started it (``plan`` waited 30 s for a worker, then said "hung")."""
    real = _espeak_data_folder()
    allowed = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    require(
        "unshare -m (a private mount namespace)",
        allowed.returncode == 0,
        allowed.stderr.decode().strip(),
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    args = {
        "plan": f"plan '{tiny}' --voice gmw/en-us",  # espeak-ng's (the default is hibari)
        "voices": "voices",
        "export": f"export '{tiny}' --voice gmw/en-us --out '{tmp_path / 'out'}'",
    }[command]
    script = (
        f"mount --bind '{empty}' '{real.resolve()}' && exec '{sys.executable}' -m voiceguide "
        + args
    )
    started = time.monotonic()
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "empty-cache")},
    )
    assert time.monotonic() - started < 15  # not the 30 s synthesis timeout
    assert result.returncode == 1, result.stderr
    assert one_line(result.stderr) == (
        f"voiceguide: error: espeak-ng's data folder {real.resolve()} is incomplete (no phontab, "
        "phonindex, phondata, intonations); install it: sudo apt-get install --reinstall "
        "espeak-ng-data"
    )
    assert result.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.espeak
def test_an_espeak_data_path_without_data_is_one_line(tiny: Path, tmp_path: Path) -> None:
    """$ESPEAK_DATA_PATH (which espeak-ng reads first) naming a folder without its data."""
    from tests.helpers.cli import run

    env = {"ESPEAK_DATA_PATH": str(tmp_path), "VOICEGUIDE_CACHE_DIR": str(tmp_path / "c")}
    for args in (["plan", str(tiny), "--voice", "gmw/en-us"], ["voices"]):
        result = run(*args, env=env)
        assert result.returncode == 1 and result.stdout == ""
        assert one_line(result.stderr) == (
            f"voiceguide: error: espeak-ng's data folder {tmp_path} is incomplete (no phontab, "
            "phonindex, phondata, intonations); install it: sudo apt-get install --reinstall "
            "espeak-ng-data"
        )


def _stand_in(folder: Path, body: str) -> tuple[str, ...]:
    """An encoder worker command that runs ``body`` (sh) with the worker's arguments."""
    folder.mkdir()
    script = folder / "worker"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return (str(script),)


@pytest.mark.ffmpeg
def test_a_broken_encoder_fails_cleanly_and_keeps_the_previous_export(
    fake_export: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    fake_export(out)
    before = snapshot(out)
    broken = _stand_in(
        tmp_path / "broken", 'echo "RuntimeError: Unable to initialize LAME" >&2\nexit 1'
    )
    monkeypatch.setattr("voiceguide.export.encoder.WORKER", broken)
    with pytest.raises(ExportError, match=r"MP3 encoder failed writing .*Unable to init") as caught:
        fake_export(out, ("hold", "6"))
    assert caught.value.exit_code == 1 and "writing ." not in str(caught.value), caught.value
    assert snapshot(out) == before and not staging(out)


@pytest.mark.ffmpeg
def test_an_encoder_killed_mid_export_fails_cleanly(
    fake_export: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first piece's encoder is SIGKILLed after taking 200 kB of its audio (a stand-in
    that runs the real worker for the others): one clean error, nothing left."""
    out = tmp_path / "out"
    fake_export(out)
    before = snapshot(out)
    real = " ".join(f"'{part}'" for part in WORKER)
    killed = _stand_in(
        tmp_path / "killed",
        f'case "$1" in *.mp3.0) ;; *) exec {real} "$@" ;; esac\nhead -c 200000 > /dev/null\nkill -9 $$',
    )
    monkeypatch.setattr("voiceguide.export.encoder.WORKER", killed)
    with pytest.raises(ExportError) as caught:
        fake_export(out, ("hold", "6"), ("rounds", "3"))
    # the track the user will see, never a staging piece (".NAME.mp3.0")
    assert re.search(r"MP3 encoder failed writing \d+ [^:/]*\.mp3: ", str(caught.value)), (
        caught.value
    )
    assert "writing ." not in str(caught.value) and ".mp3." not in str(caught.value)
    assert snapshot(out) == before and not staging(out)
    assert not [p for p, c in descendants(os.getpid()).items() if "export.lame" in c]


# ---------------------------------------------------------------- read-only folder, full disk


@pytest.mark.ffmpeg
def test_a_read_only_folder_is_a_clear_error_and_the_export_there_is_untouched(
    fake_export: Callable[..., object], tmp_path: Path, mounts: Mounts
) -> None:
    out = tmp_path / "out"
    fake_export(out)
    before = snapshot(out)
    mounts.read_only(out)
    with pytest.raises(ExportError, match=r"cannot write to .*out: Read-only file system"):
        fake_export(out, ("hold", "6"))
    with pytest.raises(ExportError, match=r"Read-only file system"):  # a folder to create in it
        fake_export(out / "new")
    assert snapshot(out) == before and not staging(out)


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_the_command_line_on_a_read_only_folder_exits_1_with_one_line(
    tiny: Path, tmp_path: Path, mounts: Mounts
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mounts.read_only(out)
    result = run_cli("export", str(tiny), "--out", str(out))
    assert result.returncode == 1
    assert "Read-only file system" in one_line(result.stderr)


def _pages(size: int) -> int:
    return -(-size // 4096) * 4096


@pytest.mark.ffmpeg
def test_a_full_disk_at_every_stage_leaves_the_previous_export_intact(
    fake_export: Callable[..., object], tmp_path: Path, mounts: Mounts
) -> None:
    """The disk fills up while encoding, tagging, writing the lyrics, the playlist or the
    manifest: each time a clear error, the previous export byte for byte, no staging."""
    # how much the second export needs, measured on a roomy disk
    roomy = tmp_path / "roomy"
    fake_export(roomy)
    fake_export(roomy, ("hold", "6"))
    needed = sum(_pages(p.stat().st_size) for p in roomy.iterdir())
    disk = mounts.tmpfs(tmp_path / "disk", "4m")
    out = disk / "audio"
    fake_export(out)
    before = snapshot(out)
    free_bytes = [0, needed // 3, needed * 2 // 3, *(needed - k * 4096 for k in range(6, 0, -1))]
    outcomes = []
    for free in free_bytes:
        filler = disk / "filler"
        filler.unlink(missing_ok=True)
        stat = os.statvfs(disk)
        filler.write_bytes(bytes(max(0, stat.f_bavail * stat.f_frsize - free)))
        try:
            fake_export(out, ("hold", "6"))
        except ExportError as error:
            assert "No space left on device" in str(error), error
            assert "\n" not in str(error)
            assert snapshot(out) == before, f"{free} bytes free: the previous export changed"
            assert not staging(out)
            outcomes.append("refused")
        else:  # it fitted after all: then it is the complete new export
            assert_complete_export(out)
            outcomes.append("fitted")
            break
    assert outcomes.count("refused") >= 8, outcomes
    filler.unlink()
    fake_export(out, ("hold", "6"))  # with room again, the export succeeds
    assert_complete_export(out)
    assert not staging(out)


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_the_command_line_on_a_full_disk_exits_1_with_one_line(
    tiny: Path, tmp_path: Path, mounts: Mounts
) -> None:
    disk = mounts.tmpfs(tmp_path / "disk", "300k")
    result = run_cli("export", str(tiny), "--hold", "60", "--out", str(disk / "audio"))
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "No space left on device" in line and "previous export there is unchanged" in line
    assert not staging(disk / "audio")


# ---------------------------------------------------------------- killed, interrupted


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_sigkill_mid_export_keeps_the_previous_export_and_the_next_one_succeeds(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_cli("export", str(tiny), "--out", str(out)).returncode == 0
    before = snapshot(out)
    process = cli(
        "export",
        str(tiny),
        "--hold",
        "600",
        "--out",
        str(out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # killed while its encoders run (the finished MP3s appear in staging only at the end)
        wait_for(
            lambda: staging(out) and "export.lame" in " ".join(descendants(process.pid).values()),
            120,
            "the export to start encoding",
        )
        children = descendants(process.pid)
    finally:
        process.kill()
        process.wait(30)
    assert process.returncode == -signal.SIGKILL
    assert snapshot(out) == before  # byte for byte, nothing under a final name changed
    assert staging(out)  # the dead export's staging folder, not yet cleaned
    # its encoders see the end of their input and stop; its workers stop with their parent
    wait_for(lambda: not any(alive(p) for p in children), 30, "the killed export's children")
    result = run_cli("export", str(tiny), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not staging(out)
    assert_complete_export(out)


@pytest.mark.espeak
def test_sigkill_during_synthesis_leaves_no_worker_behind(tiny: Path, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(temp)}
    process = cli("plan", str(tiny), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: workers(process.pid) or process.poll() is not None, 60, "workers")
        children = descendants(process.pid)
    finally:
        process.kill()
        process.wait(30)
    assert [p for p, cmd in children.items() if "spawn_main" in cmd], children
    wait_for(lambda: not any(alive(p) for p in children), 30, "orphaned workers to exit")
    # the killed run's temporary folder is left; the next run removes it
    left = [p.name for p in temp.glob("voiceguide-*")]
    assert len(left) == 1 and left[0].startswith(f"voiceguide-tts-{process.pid}-"), left
    assert run_cli("plan", str(tiny), env=env).returncode == 0
    assert list(temp.glob("voiceguide-*")) == []


def _ctrl_c(args: list[str], ready: Callable[[], object], tmp_path: Path) -> tuple[int, str]:
    """Run the CLI on a real terminal (a pty it controls), press Ctrl-C once ``ready``.

    Returns the exit code and everything the terminal showed. The temp folder must be empty
    afterwards and the terminal's settings unchanged.
    """
    temp = tmp_path / "tmp"
    temp.mkdir()
    master, slave = pty.openpty()
    settings_before = termios.tcgetattr(slave)
    shown = bytearray()
    process = subprocess.Popen(
        ["setsid", "-c", sys.executable, "-m", "voiceguide", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=REPO,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "TMPDIR": str(temp)},
    )

    def read() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(master, 65536):
                shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: ready() or process.poll() is not None, 120, "the moment to press Ctrl-C")
        children = descendants(process.pid)
        os.write(master, b"\x03")  # the terminal turns it into SIGINT for the foreground
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    wait_for(lambda: not any(alive(p) for p in children), 30, "the interrupted run's children")
    time.sleep(0.2)
    assert termios.tcgetattr(slave) == settings_before
    os.close(slave)
    reader.join(5)
    os.close(master)
    assert list(temp.iterdir()) == [], list(temp.iterdir())
    return code, shown.decode("utf-8", "replace")


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_ctrl_c_mid_export_exits_130_removes_temp_files_and_restores_the_terminal(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_cli("export", str(tiny), "--out", str(out)).returncode == 0
    before = snapshot(out)
    code, shown = _ctrl_c(
        ["export", str(tiny), "--hold", "600", "--out", str(out)],
        lambda: staging(out) and list(staging(out)[0].glob("*.mp3")),
        tmp_path,
    )
    assert code == 130, shown
    lines = [line for line in re.split(r"[\r\n]+", shown) if line.strip()]
    assert lines[-1].endswith("voiceguide: error: interrupted"), lines[-3:]
    assert "Traceback" not in shown
    assert "\x1b[?25l" in shown  # the progress bar hid the cursor ...
    assert shown.rindex("\x1b[?25h") > shown.rindex("\x1b[?25l")  # ... and showed it again
    assert snapshot(out) == before and not staging(out)


@pytest.mark.espeak
def test_ctrl_c_during_synthesis_exits_130_without_a_worker_traceback(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))  # empty: synthesize
    # the default routine: its 88 phrases keep the workers busy for seconds (the tiny one's
    # could all be spoken before the key was pressed)
    code, shown = _ctrl_c(["plan"], lambda: workers(os.getpid()), tmp_path)
    assert code == 130, shown
    assert "Traceback" not in shown and "KeyboardInterrupt" not in shown, shown
    # the terminal echoes the key as ^C; the progress bar is wiped; then one line
    last = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", shown.strip().splitlines()[-1]).strip()
    assert last in (
        "voiceguide: error: interrupted",
        "^Cvoiceguide: error: interrupted",
    )


@pytest.mark.espeak
def test_ctrl_c_with_verbose_still_exits_130_after_the_traceback(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))  # empty: synthesize
    code, shown = _ctrl_c(["-v", "plan"], lambda: workers(os.getpid()), tmp_path)
    assert code == 130, shown
    assert "Traceback (most recent call last)" in shown and "Interrupted" in shown, shown
    last = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", shown.strip().splitlines()[-1]).strip()
    assert last in (
        "voiceguide: error: interrupted",
        "^Cvoiceguide: error: interrupted",
    )


# ---------------------------------------------------------------- the speech engine


def _hidden_dictionary(tmp_path: Path) -> Path:
    """An espeak-ng data folder whose English dictionary is a FIFO nobody writes to: the
    real engine blocks for ever in open() when it loads the voice."""
    real = next(
        (
            p
            for p in (
                Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data"),
                Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data"),
                Path("/usr/share/espeak-ng-data"),
            )
            if (p / "en_dict").exists()
        ),
        None,
    )
    require("espeak-ng's data folder", real is not None, "apt-get install espeak-ng")
    assert real is not None
    data = tmp_path / "espeak" / "espeak-ng-data"
    data.mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name != "en_dict":
            (data / entry.name).symlink_to(entry)
    os.mkfifo(data / "en_dict")
    return data.parent


@pytest.mark.espeak
def test_a_hung_speech_engine_is_stopped_by_the_timeout_naming_the_phrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESPEAK_DATA_PATH", str(_hidden_dictionary(tmp_path)))
    cache = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160, timeout_s=2), tmp_path / "c")
    started = time.monotonic()
    with pytest.raises(SynthesisError) as caught:
        cache.ensure(["Lie on your back.", "Breathe out."])
    assert time.monotonic() - started < 2 + 10
    assert str(caught.value) == (
        "espeak-ng hung on the phrase 'Lie on your back.' (no audio after 2 s)"
    )
    assert caught.value.exit_code == 1
    assert workers(os.getpid()) == []  # the hung workers were stopped
    assert not list((tmp_path / "c").rglob("*.wav"))


HANGS = "This phrase hangs the engine."
CRASHES = "This phrase crashes the engine."


def poisoned_job(text: str, wav_path: str) -> None:
    """Runs in a synthesis worker: the real engine, except on two poisoned phrases."""
    if text == HANGS:
        time.sleep(3600)
    if text == CRASHES:
        os.kill(os.getpid(), signal.SIGSEGV)
    tts._worker_synthesize(text, wav_path)


@pytest.mark.espeak
@pytest.mark.parametrize("poison", [HANGS, CRASHES])
def test_one_bad_phrase_among_good_ones_is_named_and_nothing_is_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poison: str
) -> None:
    monkeypatch.setattr(tts, "_worker_synthesize", poisoned_job)
    cache = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160, timeout_s=2), tmp_path / "c")
    good = ["Sit down.", "Stand up.", "Breathe in.", "Breathe out."]
    started = time.monotonic()
    with pytest.raises(SynthesisError, match=re.escape(f"the phrase {poison!r}")):
        cache.ensure([poison, *good])  # its result is the first waited for
    assert time.monotonic() - started < 2 + 10
    assert workers(os.getpid()) == []


@pytest.mark.espeak
def test_cancel_from_another_thread_stops_synthesis_at_once_and_its_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what `play` does when the listener stops while the rest is still being synthesized
    synthesizer = Pyttsx3Synthesizer("gmw/en-us", 160)
    cache = PhraseCache(synthesizer, tmp_path / "c")
    phrases = [f"Phrase number {n} of a long routine, spoken slowly." for n in range(200)]
    outcome: list[BaseException] = []
    # a temporary folder of its own: other voiceguide runs on the machine use the shared one
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def synthesize() -> None:
        try:
            cache.ensure(phrases)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=synthesize)
    thread.start()
    deadline = time.monotonic() + 60
    while not list((tmp_path / "c").rglob("*.wav")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first phrases are done
    cancelled = time.monotonic()
    synthesizer.cancel()
    thread.join(timeout=10)
    took_s = time.monotonic() - cancelled
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted)
    assert took_s < 2.0, took_s
    assert workers(os.getpid()) == []
    assert 0 < len(list((tmp_path / "c").rglob("*.wav"))) < len(phrases)  # what was done is kept
    assert list(temp.iterdir()) == []  # the work folder was removed


# ---------------------------------------------------------------- the phrase cache


def similar_speech(pcm: bytes, reference: bytes) -> bool:
    """The same phrase spoken again: within 3 % of the length and 1 dB of the loudness
    (espeak-ng's output varies slightly from run to run), and not silence."""
    import numpy as np

    a = np.frombuffer(pcm, "<i2").astype(np.float64)
    b = np.frombuffer(reference, "<i2").astype(np.float64)
    rms_a, rms_b = np.sqrt(np.mean(a**2)), np.sqrt(np.mean(b**2))
    return bool(
        abs(len(a) - len(b)) <= 0.03 * len(b)
        and rms_b > 300
        and abs(20 * np.log10(rms_a / rms_b)) < 1.0
    )


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "cut in half": lambda data: data[: len(data) // 2],
    "garbage": lambda data: os.urandom(len(data)),
    "empty": lambda data: b"",
    "one flipped byte in the audio": lambda data: (
        data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0x40]) + data[len(data) // 2 + 1 :]
    ),
    "a header claiming 22 kHz": lambda data: data[:24] + (22_050).to_bytes(4, "little") + data[28:],
    "the checksum cut off": lambda data: data[:-40],
    "zeros": lambda data: bytes(len(data)),
}


@pytest.mark.espeak
def test_damaged_cache_entries_are_detected_and_synthesized_again(tmp_path: Path) -> None:
    phrases = [f"Damaged phrase number {n}." for n in range(len(DAMAGE))]
    first = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "cache")
    first.ensure(phrases)
    good = {text: first.pcm(text) for text in phrases}
    for text, damage in zip(phrases, DAMAGE.values(), strict=True):
        entry = first.path_for(text)
        entry.write_bytes(damage(entry.read_bytes()))
    again = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "cache")
    again.ensure(phrases)
    assert again.synthesized == len(DAMAGE)  # every damaged entry was noticed
    for text in phrases:  # spoken again: the same phrase (espeak varies by a few ms)
        assert similar_speech(again.pcm(text), good[text]), text
    third = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "cache")
    third.ensure(phrases)
    assert third.synthesized == 0  # the entries written again are whole


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_an_export_from_a_damaged_cache_is_the_same_as_from_a_good_one(
    tiny: Path, tmp_path: Path
) -> None:
    env = {"VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    assert run_cli("export", str(tiny), "--out", str(tmp_path / "a"), env=env).returncode == 0
    entries = sorted((tmp_path / "cache").rglob("*.wav"))
    assert entries
    for index, entry in enumerate(entries):  # truncate some, garble the others
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2] if index % 2 else os.urandom(len(data)))
    result = run_cli("export", str(tiny), "--out", str(tmp_path / "b"), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        p.name for p in (tmp_path / "b").iterdir()
    )
    assert_complete_export(tmp_path / "b")
    # the phrases were spoken again: the export matches the plan made from the mended cache
    full_s = json.loads(result.stdout)["full"]["duration_s"]
    assert full_s == pytest.approx(_plan_total_s(tiny, env=env), abs=0.15)
    for track in sorted((tmp_path / "a").glob("*.mp3")):
        assert similar_speech(decode(tmp_path / "b" / track.name), decode(track)), track.name


# ---------------------------------------------------------------- two exports at once


def _plan_total_s(tiny: Path, *args: str, env: dict[str, str] | None = None) -> float:
    result = run_cli("plan", str(tiny), *args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return float(json.loads(result.stdout)["total_s"])


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_two_exports_at_once_with_one_shared_cache_both_succeed(tiny: Path, tmp_path: Path) -> None:
    from mutagen.mp3 import MP3

    env = {"VOICEGUIDE_CACHE_DIR": str(tmp_path / "shared-cache")}  # empty: both synthesize
    runs = [
        cli(
            "export",
            str(tiny),
            "--out",
            str(tmp_path / name),
            "--json",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("a", "b")
    ]
    results = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        results.append(json.loads(stdout))
    total_s = _plan_total_s(tiny, env=env)  # the plan from the cache both wrote into
    for name, result in zip(("a", "b"), results, strict=True):
        assert_complete_export(tmp_path / name)
        (full,) = (tmp_path / name).glob("*full routine.mp3")
        assert MP3(full).info.length == pytest.approx(result["full"]["duration_s"], abs=0.01)
        # each synthesized the phrases itself: espeak's few ms of variation, no more
        assert result["full"]["duration_s"] == pytest.approx(total_s, rel=0.02)
        chapters = sum(t["duration_s"] for t in result["tracks"])
        assert chapters == pytest.approx(
            result["full"]["duration_s"], abs=0.1 * len(result["tracks"])
        )
    for track in sorted((tmp_path / "a").glob("*.mp3")):
        assert similar_speech(decode(tmp_path / "b" / track.name), decode(track)), track.name
    # and the cache both wrote is whole: nothing needs synthesizing again
    settings = pipeline.parse_settings([])  # the defaults, as the two exports had them
    cache = pipeline.make_cache(settings, cache_dir=tmp_path / "shared-cache")
    pipeline.plan(pipeline.load(str(tiny)), settings, cache)
    assert cache.synthesized == 0


@pytest.mark.espeak
@pytest.mark.ffmpeg
def test_two_exports_at_once_into_one_folder_leave_one_whole_export(
    tiny: Path, tmp_path: Path
) -> None:
    """Both succeed; they publish one after the other, so the folder holds the complete
    export that finished last, never a mix of the two."""
    from mutagen.id3 import ID3

    out = tmp_path / "out"
    runs = [
        cli(
            "export",
            str(tiny),
            "--hold",
            hold,
            "--out",
            str(out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for hold in ("6", "7")
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    assert_complete_export(out)
    assert not staging(out)
    albums = {str(ID3(mp3)["TALB"]) for mp3 in out.glob("*.mp3")}
    assert len(albums) == 1, albums  # every track from the same export
    (playlist,) = out.glob("*.m3u8")
    assert playlist.stem == albums.pop()
