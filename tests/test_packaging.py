"""A wheel built from the repo finds its bundled narration scripts from any folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
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


def _hidden(programs: list[str]) -> str:
    """Shell commands binding /dev/null over each program found on PATH (in a private mount
    namespace: nothing outside it changes)."""
    found = [shutil.which(p) for p in programs]
    return " && ".join(f"mount --bind /dev/null '{Path(p).resolve()}'" for p in found if p)


@pytest.mark.slow
@pytest.mark.espeak
def test_the_wheel_in_a_fresh_venv_with_no_extras_exports_without_ffmpeg(tmp_path: Path) -> None:
    """The promise of issue #26: the wheel, installed into a fresh venv with no extras, on a
    machine where ffmpeg and ffprobe cannot run: export writes 6 tracks that mp3val finds
    clean; plan and history work there too."""
    from tests.conftest import require

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
    script = " && ".join(
        [
            _hidden(["ffmpeg", "ffprobe", "avconv"]),
            f"'{command}' plan > /dev/null",
            f"'{command}' export --out '{out}'",
            f"'{command}' history > /dev/null",
        ]
    )
    home = tmp_path / "home"
    result = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home),
             "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data"),
             "XDG_CONFIG_HOME": str(home / "config")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ffmpeg" not in result.stderr
    tracks = sorted(out.glob("*.mp3"))
    assert len(tracks) == 6
    for track in tracks:
        report = subprocess.run(["mp3val", str(track)], capture_output=True, text=True).stdout
        assert not [
            line for line in report.splitlines() if line.startswith(("WARNING", "ERROR"))
        ], report
