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
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

__all__ = [
    "SEAL_BYTES",
    "SEMAPHORE_PREFIX",
    "FileVersion",
    "TargetRefused",
    "atomic_write",
    "check_target",
    "make_way",
    "own_semaphores",
    "pid_alive",
    "read_regular",
    "read_regular_as",
    "seal",
    "staging_path",
    "sweep_abandoned",
    "sweep_semaphores",
    "user_folder",
    "version_of",
    "write_output",
]


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file, no file, or the whole new one
    (a temporary file beside it, renamed into place), with permissions ``mode`` when given
    (else the temporary file's: owner only). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


class TargetRefused(ValueError):
    """A file the user asked for cannot be written there; ``str()`` says why in a few words
    (the caller names the option and the path)."""


_KINDS = (
    (stat.S_ISDIR, "it is a folder"),
    (stat.S_ISCHR, "it is a device"),
    (stat.S_ISBLK, "it is a device"),
    (stat.S_ISFIFO, "it is a FIFO (named pipe)"),
    (stat.S_ISSOCK, "it is a socket"),
)


def check_target(path: Path, protected: Sequence[Path] = ()) -> None:
    """Refuse (TargetRefused) to put a user's file at ``path`` unless it is a new name or a
    regular file (a link is judged by what it points to), its name fits the file system, and
    it is none of ``protected`` nor inside one of them (the practice log, the caches: a
    rename over them would destroy them)."""
    text = os.fspath(path)
    if text in ("", "."):
        raise TargetRefused("give a file name")
    if text.endswith(os.sep):
        raise TargetRefused("it names a folder; give a file name")
    limit = _name_max(path.parent)
    if len(os.fsencode(path.name)) > limit:
        raise TargetRefused(f"the file name is longer than the {limit} bytes allowed")
    try:
        info: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise TargetRefused(error.strerror or str(error)) from None
    if info is not None:
        for is_kind, reason in _KINDS:
            if is_kind(info.st_mode):
                raise TargetRefused(reason)
    real = Path(os.path.realpath(path))
    for keep in protected:
        keep_real = Path(os.path.realpath(keep))
        if keep_real in real.parents:
            raise TargetRefused(f"it is inside voiceguide's own folder {keep}")
        if real == keep_real or _same_file(path, keep):
            raise TargetRefused(f"it is voiceguide's own {keep}")


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the folder's file system takes."""
    probe = folder
    while True:
        try:
            return int(os.pathconf(probe if str(probe) else ".", "PC_NAME_MAX"))
        except (OSError, ValueError):
            if probe == probe.parent:
                return 255
            probe = probe.parent


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def staging_path(path: Path) -> Path:
    """A hidden name beside ``path`` to build it under: short (whatever the length of
    ``path``'s name, it fits) and this process's own."""
    digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:12]
    return path.parent / f".vg-{digest}.{os.getpid()}.tmp"


def write_output(path: Path, data: bytes, protected: Sequence[Path] = ()) -> None:
    """Write a user's file (a CSV, ...) all or nothing: checked (:func:`check_target`), built
    under :func:`staging_path` with the permissions a plain new file gets (an existing
    file's are kept), checked again and renamed onto ``path``. Raises TargetRefused, OSError."""
    check_target(path, protected)
    staged = staging_path(path)
    with contextlib.suppress(OSError):
        staged.unlink()  # a killed run's (its pid was this one's)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), mode)
        check_target(path, protected)  # what is there now (it may have changed meanwhile)
        os.replace(staged, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for every thread)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


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


SHM = Path("/dev/shm")
# multiprocessing's named semaphores (a pool's locks) made by voiceguide carry this prefix
# and the pid of the process that made them: mp-voiceguide-PID-RANDOM (sem.* in /dev/shm)
SEMAPHORE_PREFIX = "mp-voiceguide-"


def own_semaphores() -> None:
    """Name the semaphores this process makes from now on ``mp-voiceguide-PID-...``, so that
    :func:`sweep_semaphores` knows whose they are (within macOS's 31 bytes for a name)."""
    import multiprocessing

    config = getattr(multiprocessing.current_process(), "_config", None)
    if isinstance(config, dict):
        config["semprefix"] = f"/{SEMAPHORE_PREFIX}{os.getpid()}"


def sweep_semaphores(shm: Path = SHM, proc: Path = Path("/proc")) -> int:
    """Remove the semaphores voiceguide's killed runs left: a run killed with its whole
    process group (SIGKILL: its resource tracker too) leaves them for good. Only names this
    program made (:func:`own_semaphores`), of this user, whose maker is gone, and that no
    process has mapped (a process in another pid namespace is seen by its mappings: sem_open
    maps a semaphore before its name is handed on). A live pool's are never touched: its
    maker is alive while it is. Returns how many were removed."""
    prefix = f"sem.{SEMAPHORE_PREFIX}"
    try:
        candidates = [
            entry
            for entry in os.scandir(shm)
            if entry.name.startswith(prefix) and _abandoned_candidate(entry, prefix)
        ]
    except OSError:
        return 0
    if not candidates:
        return 0
    in_use = _mapped_names(proc)
    removed = 0
    for entry in candidates:
        if entry.name not in in_use:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _abandoned_candidate(entry: os.DirEntry[str], prefix: str) -> bool:
    pid = entry.name.removeprefix(prefix).split("-", 1)[0]
    if not pid.isdigit() or pid_alive(int(pid)):
        return False
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()


def _mapped_names(proc: Path) -> set[str]:
    """The names of the files in /dev/shm that some process has mapped."""
    names: set[str] = set()
    with contextlib.suppress(OSError):
        for pid in os.listdir(proc):
            if not pid.isdigit():
                continue
            with contextlib.suppress(OSError), open(proc / pid / "maps", "rb") as maps:
                for line in maps:
                    if b"/dev/shm/" in line:
                        path = line.rsplit(b" ", 1)[-1].strip()
                        names.add(os.fsdecode(path).rsplit("/", 1)[-1])
    return names


def user_folder(kind: Literal["config", "data", "cache"], variable: str) -> Path:
    """``$variable`` (``VOICEGUIDE_CONFIG_DIR``...) when it is set, else the platform's user
    ``kind`` folder for voiceguide."""
    override = os.environ.get(variable)
    if override:
        return Path(override)
    import platformdirs

    find = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
    }[kind]
    return Path(find("voiceguide", appauthor=False))
