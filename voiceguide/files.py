"""Writing files so that nothing half-made is ever seen, reading them without being fooled,
and cleaning up after killed runs.

Every stage that keeps files (the phrase and cue caches, the export) uses these: an atomic
write, a read of regular files only and of a bounded size, the checksum that seals a cache
entry to its key, and the sweep of working folders whose process is gone (a folder's name
carries the pid of the process that made it).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = [
    "SEAL_BYTES",
    "FileVersion",
    "atomic_write",
    "make_way",
    "pid_alive",
    "read_regular",
    "read_regular_as",
    "seal",
    "sweep_abandoned",
    "version_of",
]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file, no file, or the whole new one
    (a temporary file beside it, renamed into place). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path`` (a link to one is followed). Raises
    FileNotFoundError when there is nothing, and OSError when it is not a regular file (a
    folder, a FIFO, a device: never waited on) or larger than ``max_bytes``."""
    return read_regular_as(path, max_bytes)[0]


def read_regular_as(path: Path, max_bytes: int) -> tuple[bytes, FileVersion]:
    """:func:`read_regular`, and which version of the file it read."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # never opened: opening a device can act
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    with open(fd, "rb") as handle:  # (checked again: it may have been swapped meanwhile)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {max_bytes} bytes", str(path))
    return data, version_of(info)


FileVersion = tuple[int, int, int, int]
"""A file as it is now: device, inode, size and time of change (ns). A file replaced (a
rename onto it) or written to since has another."""


def version_of(info: os.stat_result) -> FileVersion:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


SEAL_BYTES = 32


def seal(key: bytes, content: bytes) -> bytes:
    """The SHA-256 of a cache entry's key and content (the key's length first), so an entry
    that is damaged, or another entry's copied over it, does not pass."""
    digest = hashlib.sha256(len(key).to_bytes(8, "little"))
    digest.update(key)
    digest.update(content)
    return digest.digest()


def make_way(root: Path, path: Path) -> None:
    """Before writing ``path`` inside the folder ``root``: every folder from ``root`` down to
    its own is a folder (a file in the way is removed; a link to a folder is kept), and
    ``path`` is not a folder (one in the way is removed with what it holds). Raises OSError."""
    folder = root
    for part in ("", *path.parent.relative_to(root).parts):
        folder = folder / part if part else folder
        if os.path.lexists(folder) and not folder.is_dir():
            folder.unlink()
        folder.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's
    return True


def sweep_abandoned(parent: Path, prefix: str) -> None:
    """Remove the folders ``parent/PREFIX<pid>-...`` whose process is gone (killed runs could
    not remove them); a name without a pid is removed too, a live process's folder is kept."""
    with contextlib.suppress(OSError):
        for entry in parent.glob(prefix + "*"):
            pid = entry.name.removeprefix(prefix).split("-", 1)[0]
            if pid.isdigit() and pid_alive(int(pid)):
                continue
            shutil.rmtree(entry, ignore_errors=True)
