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
