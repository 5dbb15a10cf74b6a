"""Writing files so that nothing half-made is ever seen, and cleaning up after killed runs.

Every stage that keeps files (the phrase and cue caches, the export) uses these two: an
atomic write, and the sweep of working folders whose process is gone (a folder's name
carries the pid of the process that made it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "pid_alive", "sweep_abandoned"]


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
