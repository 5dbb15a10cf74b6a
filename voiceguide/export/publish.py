"""Publishing an export: the staged files replace the previous export as one transaction.

After any failure, Ctrl-C or kill at any instant, the output folder holds exactly the
previous export or exactly the new one (once the next export has run, if it was killed).

What is on disk, inside the output folder::

    .voiceguide-export.json         the manifest of the export in place: {"id", "files"} (and
                                    "fingerprint": what it was made from)
    .voiceguide-staging-PID-XXXX/   a new export being written, with its own manifest
        .previous/                  while publishing: the files it replaces, moved aside
    .voiceguide-journal.json        only while a publish is under way (or was killed)

Publishing, with the folder locked (``flock``) against other exports:

1. the journal is written (a temporary file renamed into place): the staging
   folder, the export's id, the files to move aside (``old``) and the new files (``new``);
2. every old file, and every file a new one would replace, is renamed into ``.previous``;
3. every new file is renamed into place;
4. the new manifest is renamed into place: the commit. Its id is the journal's;
5. the journal is removed, then the staging folder with the previous files.

A failure or Ctrl-C in steps 1-4 rolls back at once (new files back into staging, old files
back in place, journal removed); the interruption is held back while rolling back, and a
Ctrl-C after the commit is too late to stop it (the export completes). A process killed in
steps 1-5 leaves the journal: the next export into the folder reads it first and rolls
forward (the manifest in place has the journal's id: only clean-up is left) or back.

Only renames within one folder move files, so no step copies or half-writes anything.
Readers that are not voiceguide (a file manager, a phone sync) are not locked out: while
steps 2-4 run (a few renames) such a reader can see some old and some new files; every
file it sees is complete. Nothing is flushed to the disk (``fsync``): that would guard
against a power cut too, at a cost to every export, and what this guards against is a
failure, Ctrl-C or kill of voiceguide.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide.errors import ExportError
from voiceguide.files import read_regular, sweep_abandoned

__all__ = [
    "JOURNAL",
    "MANIFEST",
    "STAGING_PREFIX",
    "discard_staging",
    "locked",
    "make_staging",
    "publish",
    "recover",
    "write_zip",
]

MANIFEST = ".voiceguide-export.json"
JOURNAL = ".voiceguide-journal.json"
STAGING_PREFIX = ".voiceguide-staging-"
_PREVIOUS = ".previous"
_OURS = ".voiceguide-"  # no export file is ever named like this
_MAX_LIST_BYTES = 4 * 1024 * 1024  # a manifest or journal (thousands of names)


@dataclass(frozen=True)
class _Journal:
    export_id: str
    staging: str  # the staging folder's name, inside the output folder
    old: tuple[str, ...]  # moved aside into staging/.previous
    new: tuple[str, ...]  # moved from staging into place (the manifest last, not listed)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.export_id,
            "staging": self.staging,
            "old": list(self.old),
            "new": list(self.new),
        }


# ---------------------------------------------------------------- the steps (one syscall each)
# Every change publishing makes to the folder goes through these four, one step each.


def _rename(source: Path, target: Path) -> None:
    os.rename(source, target)


def _write_journal(out_dir: Path, journal: _Journal) -> None:
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=JOURNAL + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(journal.to_json(), handle)
        os.rename(tmp, out_dir / JOURNAL)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_journal(out_dir: Path) -> None:
    (out_dir / JOURNAL).unlink(missing_ok=True)


def _remove_folder(folder: Path) -> None:
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)


# ---------------------------------------------------------------- publishing


def publish(staging: Path, out_dir: Path, names: list[str], fingerprint: str = "") -> None:
    """Replace the previous export in ``out_dir`` by the files ``names`` of ``staging`` (a
    folder inside ``out_dir``), all or nothing; see the module's docstring. ``fingerprint``
    (what the export is made from) is kept in the manifest."""
    export_id = secrets.token_hex(8)
    manifest = staging / MANIFEST
    content: dict[str, Any] = {"id": export_id, "files": names}
    if fingerprint:
        content["fingerprint"] = fingerprint
    manifest.write_text(json.dumps(content, indent=1), encoding="utf-8")
    with locked(out_dir):
        recover(out_dir)
        for name in names:
            kind = _kind(out_dir / name)
            if kind not in (None, "file"):
                raise ExportError(
                    f"{out_dir / name} is a {kind}, where the export puts a file; move it "
                    "away; the previous export there is unchanged"
                )
        previous = _read_manifest(out_dir)
        old = tuple(
            name
            for name in sorted(previous | set(names) | {MANIFEST})
            if _kind(out_dir / name) == "file"
        )
        journal = _Journal(export_id, staging.name, old, tuple(names))
        (staging / _PREVIOUS).mkdir()
        with _interrupts_held() as held:
            try:
                _write_journal(out_dir, journal)
                held.check()
                for name in old:
                    _rename(out_dir / name, staging / _PREVIOUS / name)
                    held.check()
                for name in names:
                    _rename(staging / name, out_dir / name)
                    held.check()
                _rename(manifest, out_dir / MANIFEST)  # the commit
            except BaseException as error:
                _roll_back_after(error, out_dir, journal)
                raise
            held.forget()  # a Ctrl-C from here on is too late: the new export is in place
            with contextlib.suppress(OSError):  # what is left, the next export finishes
                _remove_journal(out_dir)
                _remove_folder(staging / _PREVIOUS)


def _roll_back_after(error: BaseException, out_dir: Path, journal: _Journal) -> None:
    try:
        _roll_back(out_dir, journal)
    except OSError as failure:
        raise ExportError(
            f"writing the export to {out_dir} failed ({_reason(error)}), and putting the "
            f"previous export back failed too ({_reason(failure)}); the next export into "
            "that folder puts it back first"
        ) from None


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        name = Path(error.filename).name if error.filename else ""
        return f"{name}: {error.strerror}" if name and error.strerror else str(error)
    return type(error).__name__ if not str(error) else str(error)


def _roll_back(out_dir: Path, journal: _Journal) -> None:
    """Every new file back into staging, every old file back in place, then the journal
    removed. Each step checks where its file is, so a roll-back cut short by a kill is
    simply done again by the next export."""
    staging = out_dir / journal.staging
    previous = staging / _PREVIOUS
    for name in reversed(journal.new):
        # the old file of that name, if any, was moved aside before: what is here is new
        moved_in = not os.path.lexists(staging / name) and os.path.lexists(out_dir / name)
        if moved_in and (name not in journal.old or os.path.lexists(previous / name)):
            _rename(out_dir / name, staging / name)
    for name in journal.old:
        if os.path.lexists(previous / name):
            _rename(previous / name, out_dir / name)
    _remove_journal(out_dir)


def recover(out_dir: Path) -> None:
    """Finish or undo a publish that a killed export left (call with the folder locked)."""
    for tmp in out_dir.glob(JOURNAL + ".*.tmp"):  # a journal killed while being written
        with contextlib.suppress(OSError):
            tmp.unlink()
    journal = _read_journal(out_dir)
    if journal is None:
        return
    try:
        if _manifest_id(out_dir) == journal.export_id:  # committed: roll forward
            _remove_journal(out_dir)
        elif not (out_dir / journal.staging).is_dir():
            raise ExportError(
                f"{out_dir / JOURNAL}: an export was killed while publishing, and its staging "
                f"folder {journal.staging} (with the previous export's files) is gone; remove "
                "the journal file to go on"
            )
        else:
            _roll_back(out_dir, journal)
        _remove_folder(out_dir / journal.staging)
    except OSError as error:
        raise ExportError(
            f"cannot finish the interrupted export in {out_dir}: {_reason(error)}; "
            "the previous export there stays as the interrupted one left it"
        ) from None


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Exports into one folder publish one at a time (the lock ends with the process)."""
    folder = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)


def discard_staging(out_dir: Path, staging: Path) -> None:
    """Remove a staging folder, unless a journal still needs it (a roll-back that failed:
    the previous export's files are in it)."""
    try:
        journal = _read_journal(out_dir)
    except ExportError:
        return  # kept: the next export says what is wrong
    if journal is None or journal.staging != staging.name:
        shutil.rmtree(staging, ignore_errors=True)


def make_staging(out_dir: Path) -> Path:
    """A new staging folder in ``out_dir``, after finishing or undoing a publish that a
    killed export left, and removing the staging folders of killed exports."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir):
        recover(out_dir)
        sweep_abandoned(out_dir, STAGING_PREFIX)
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=out_dir))


def write_zip(staging: Path, names: list[str], target: Path, folder: str) -> None:
    """MP3s are stored (they do not compress); text files are deflated."""
    with zipfile.ZipFile(target, "w") as archive:
        for name in names:
            kind = zipfile.ZIP_STORED if name.endswith(".mp3") else zipfile.ZIP_DEFLATED
            archive.write(staging / name, f"{folder}/{name}", compress_type=kind)


# ---------------------------------------------------------------- reading the folder


def _plain(name: object) -> bool:
    """A plain file name inside the folder (a tampered file must not reach elsewhere)."""
    return (
        isinstance(name, str)
        and name == Path(name).name
        and name not in ("", ".", "..")
        and "\0" not in name
    )


def _load(path: Path) -> Any:
    return json.loads(read_regular(path, _MAX_LIST_BYTES).decode("utf-8"))


def _read_manifest(out_dir: Path) -> set[str]:
    try:
        files = _load(out_dir / MANIFEST)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    if not isinstance(files, list):
        return set()
    return {f for f in files if _plain(f) and not f.startswith(_OURS)}


def _manifest_id(out_dir: Path) -> str | None:
    try:
        export_id = _load(out_dir / MANIFEST)["id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return export_id if isinstance(export_id, str) else None


def _read_journal(out_dir: Path) -> _Journal | None:
    path = out_dir / JOURNAL
    try:
        data = _load(path)
        if not (isinstance(data["old"], list) and isinstance(data["new"], list)):
            raise TypeError("lists expected")
        journal = _Journal(data["id"], data["staging"], tuple(data["old"]), tuple(data["new"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportError(
            f"{path} is unreadable ({error}); an export was killed while publishing: look in "
            "its staging folder, then remove the file"
        ) from None
    staging = out_dir / journal.staging
    valid = (
        isinstance(journal.export_id, str)
        and _plain(journal.staging)
        and journal.staging.startswith(STAGING_PREFIX)
        and all(_plain(n) for n in (*journal.old, *journal.new))
        and all(not n.startswith(_OURS) for n in journal.new)
        and not staging.is_symlink()
        and not (staging / _PREVIOUS).is_symlink()
    )
    if not valid:
        raise ExportError(
            f"{path} does not describe an export of this folder; an export was "
            "killed while publishing: look in its staging folder, then remove "
            "the file"
        )
    return journal


def _kind(path: Path) -> str | None:
    """None (nothing there), "file" (a file or a symlink: moved as it is), or what it is."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return "file"
    return "folder" if stat.S_ISDIR(mode) else "special file"


# ---------------------------------------------------------------- Ctrl-C held back


class _Held:
    def __init__(self) -> None:
        self.pending = False
        self.forgotten = False

    def check(self) -> None:
        if self.pending:
            raise _Interrupted()

    def forget(self) -> None:
        self.forgotten = True


class _Interrupted(Exception):
    """A Ctrl-C held back while publishing: rolls back, then is delivered."""


@contextlib.contextmanager
def _interrupts_held() -> Iterator[_Held]:
    """Ctrl-C (SIGINT) is held back: ``check()`` turns it into a roll-back between steps; on
    the way out it is delivered to the handler there was before (unless ``forget()``)."""
    held = _Held()
    if threading.current_thread() is not threading.main_thread():
        yield held  # only the main thread gets signals in Python
        return

    def hold(signum: int, frame: object) -> None:
        held.pending = True

    before = signal.signal(signal.SIGINT, hold)
    try:
        yield held
    except _Interrupted:
        pass  # delivered below
    finally:
        signal.signal(signal.SIGINT, before)
    if held.pending and not held.forgotten:
        signal.raise_signal(signal.SIGINT)
