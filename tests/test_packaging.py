"""A wheel built from the repo finds its bundled narration scripts from any folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_ships_the_scripts_and_runs_from_another_folder(tmp_path: Path) -> None:
    # built from a clean copy: a build/ folder left in the checkout could hide a missing file
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "*.egg-info",
            "audio",
            "__pycache__",
            ".*_cache",
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("voiceguide-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "voiceguide/scripts/outer-hip.routine.yaml" in names
    assert "voiceguide/scripts/supine-hip-stretch.yaml" in names
    for page in ("index.html", "app.js", "app.css"):  # voiceguide serve's page
        assert f"voiceguide/serve/static/{page}" in names
    for font_file in ("Roboto-Bold.ttf", "LICENSE.txt"):  # the cover's font and its licence
        assert f"voiceguide/export/fonts/{font_file}" in names
    # every module of the source tree is in the wheel (a package left out of pyproject's
    # list would be missing only once installed)
    sources = {
        str(p.relative_to(REPO))
        for p in (REPO / "voiceguide").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert sources - set(names) == set()
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import voiceguide, voiceguide.routine.library as l; "
        "print(voiceguide.__file__); print(l.bundled_dir()); print(l.bundled_routines()); "
        "from voiceguide.export import cover; print(cover._font_data()[:4].hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        env={"PYTHONPATH": str(target)},
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.splitlines()
    assert out[0].startswith(str(target))
    assert out[1] == str(target / "voiceguide" / "scripts")
    assert out[2] == "['outer-hip']"
    assert out[3] == "00010000"  # the cover's font, read from the package: a TrueType file


def test_live_playback_uses_simpleaudio_patched_on_every_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The simpleaudio module is simpleaudio-patched's build: its C code allocates with
    PyMem_RawMalloc/RawFree (safe without the GIL, from its playback thread), never with
    PyMem_Malloc/Free as 1.0.4 does (a crash on Python 3.12+). And no Python is refused."""
    from importlib import metadata

    from tests.conftest import require

    try:
        patched = metadata.version("simpleaudio-patched")
    except metadata.PackageNotFoundError:
        patched = None
    require("simpleaudio-patched", patched is not None, "./dev.sh setup (the play extra)")
    assert patched is not None and tuple(map(int, patched.split(".")[:3])) >= (1, 0, 5)
    with pytest.raises(metadata.PackageNotFoundError):  # the old one would share the module
        metadata.version("simpleaudio")
    import simpleaudio._simpleaudio as extension

    symbols = Path(extension.__file__ or "").read_bytes()
    assert b"\0PyMem_RawMalloc\0" in symbols and b"\0PyMem_RawFree\0" in symbols
    assert b"\0PyMem_Malloc\0" not in symbols and b"\0PyMem_Free\0" not in symbols
    from voiceguide.play.simpleaudio_player import SimpleaudioPlayer

    monkeypatch.setattr(sys, "version_info", (3, 13, 0, "final", 0))
    SimpleaudioPlayer()  # no longer refused on 3.12 and 3.13


def _hidden(programs: list[str], libraries: Sequence[str] = ()) -> str:
    """Shell commands binding /dev/null over each program found on PATH and each shared
    library the loader knows by that name (in a private mount namespace: nothing outside
    it changes)."""
    found = {str(Path(p).resolve()) for p in map(shutil.which, programs) if p}
    listed = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.split(" ", 1)[0].startswith(tuple(libraries)) and Path(path).exists():
            found.add(str(Path(path).resolve()))
    return " && ".join(f"mount --bind /dev/null '{p}'" for p in sorted(found)) or "true"


_SERVE = """
import re, signal, subprocess, sys, urllib.request
command, out, port = sys.argv[1:]
with subprocess.Popen([command, "serve", "--out", out, "--host", "127.0.0.1", "--port", port],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as server:
    try:
        for line in server.stdout:
            if line.startswith("http://"):
                break
        else:
            sys.exit("serve ended: " + server.stderr.read())
        with urllib.request.urlopen(line.strip(), timeout=30) as page:
            assert page.status == 200 and b"<audio" in page.read()
        print("served the page")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
"""


@pytest.mark.slow
def test_the_wheel_in_a_fresh_venv_with_no_extras_exports_without_system_packages(
    tmp_path: Path,
) -> None:
    """The promise of issue #26: the wheel, installed into a fresh venv with no extras, on a
    machine where ffmpeg and ffprobe cannot run (and espeak-ng, its program and its library,
    when the default voice is not espeak-ng's): export writes 6 tracks that mp3val finds
    clean; plan and history work there too, serve answers a request for its page, and an
    espeak-ng voice says in one line what to install."""
    from tests.conftest import require
    from voiceguide.plan.parsing import DEFAULT_VOICE

    allowed = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    require("unshare -m", allowed.returncode == 0, allowed.stderr.decode().strip())
    require("mp3val", shutil.which("mp3val") is not None, "apt-get install mp3val")
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("voiceguide-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    command = str(venv / "bin" / "voiceguide")
    out = tmp_path / "audio"
    (tmp_path / "serve.py").write_text(_SERVE, encoding="utf-8")
    # the espeak-ng voices load libespeak-ng: hidden once the default voice needs neither
    espeak_hidden = ":" in DEFAULT_VOICE and not DEFAULT_VOICE.startswith("espeak:")
    hidden = ["ffmpeg", "ffprobe", "avconv", *(["espeak-ng", "espeak"] * espeak_hidden)]
    libraries = ["libespeak-ng.so", "libespeak.so"] if espeak_hidden else []
    steps = [
        _hidden(hidden, libraries),
        f"'{command}' plan > /dev/null",
        f"'{command}' export --out '{out}'",
        f"'{command}' history > /dev/null",
        f"'{venv / 'bin' / 'python'}' serve.py '{command}' '{out}' {_free_port()}",
    ]
    if espeak_hidden:
        steps.append(f"! '{command}' plan --voice gmw/en-us 2> espeak.txt > /dev/null")
    home = tmp_path / "home"
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", " && ".join(steps)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home),
             "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data"),
             "XDG_CONFIG_HOME": str(home / "config")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ffmpeg" not in result.stderr
    assert "served the page" in result.stdout, result.stderr
    tracks = sorted(out.glob("*.mp3"))
    assert len(tracks) == 6
    for track in tracks:
        report = subprocess.run(["mp3val", str(track)], capture_output=True, text=True).stdout
        assert not [
            line for line in report.splitlines() if line.startswith(("WARNING", "ERROR"))
        ], report
    if espeak_hidden:
        said = (tmp_path / "espeak.txt").read_text(encoding="utf-8")
        assert said.count("\n") == 1 and "espeak-ng" in said and "install" in said, said


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
