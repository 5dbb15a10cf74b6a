"""Publishing an export: the finished files, made in a staging folder inside the output
folder, put in place of the previous export's."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import zipfile
from pathlib import Path

from voiceguide.files import sweep_abandoned

__all__ = ["MANIFEST", "make_staging", "publish", "write_zip"]

MANIFEST = ".voiceguide-export.json"
_STAGING_PREFIX = ".voiceguide-staging-"


def make_staging(out_dir: Path) -> Path:
    """A new staging folder in ``out_dir`` (after removing those of killed exports)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(out_dir, _STAGING_PREFIX)
    return Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{os.getpid()}-", dir=out_dir))


def write_zip(staging: Path, names: list[str], target: Path, folder: str) -> None:
    """MP3s are stored (they do not compress); text files are deflated."""
    with zipfile.ZipFile(target, "w") as archive:
        for name in names:
            kind = zipfile.ZIP_STORED if name.endswith(".mp3") else zipfile.ZIP_DEFLATED
            archive.write(staging / name, f"{folder}/{name}", compress_type=kind)


def publish(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Rename the finished files into place, then drop the previous export's leftovers.

    The manifest is written before anything is renamed (a full disk fails the export there,
    with the previous export untouched), and exports into the same folder publish one at a
    time, so the folder always holds one whole export, the last to finish.
    """
    manifest = staging / MANIFEST
    manifest.write_text(json.dumps({"files": names}, indent=1), encoding="utf-8")
    folder = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)  # released when closed, or when the process dies
        previous = _read_manifest(out_dir)
        for name in names:
            os.replace(staging / name, out_dir / name)
        os.replace(manifest, out_dir / MANIFEST)
        for stale in previous - set(names):
            with contextlib.suppress(OSError):
                (out_dir / stale).unlink()
    finally:
        os.close(folder)


def _read_manifest(out_dir: Path) -> set[str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    # Only plain names inside the folder: a tampered manifest must not delete elsewhere.
    return {f for f in files if isinstance(f, str) and f == Path(f).name and f not in (".", "..")}
