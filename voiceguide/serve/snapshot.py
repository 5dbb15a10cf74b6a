"""One export, opened for serving: its files held open as they were when it was published.

Every file the export's manifest lists is opened once, refusing symlinks and anything that
is not a regular file inside the folder; requests are answered from these open files, so a
later export into the same folder (which renames new files over the old names) never mixes
into a response, and the previous export stays playable until the page switches over.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import ExportError
from voiceguide.export import MANIFEST, safe_filename
from voiceguide.files import read_regular

__all__ = ["Lyric", "ServedFile", "Snapshot", "TrackChapter", "open_snapshot"]

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".m3u8": "audio/x-mpegurl; charset=utf-8",
    ".lrc": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".png": "image/png",
}


@dataclass(frozen=True)
class ServedFile:
    """A file of the export, open for reading (``fd``), with its size when opened."""

    name: str
    fd: int
    size: int
    mtime_ns: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(Path(self.name).suffix.lower(), "application/octet-stream")


@dataclass(frozen=True)
class TrackChapter:
    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Lyric:
    start_ms: int
    text: str


class Snapshot:
    """The files of one export, its chapters, timed lyrics and cover (read from the tags of
    its full-routine track, exactly as exported) and, made when first asked for, a zip of
    them in memory."""

    def __init__(
        self,
        generation: int,
        folder: Path,
        files: dict[str, ServedFile],
        full: str,
        album: str,
        chapters: tuple[TrackChapter, ...],
        lyrics: tuple[Lyric, ...],
        cover_png: bytes,
        duration_s: float,
        fingerprint: str = "",
        audio_offset: int = 0,
    ) -> None:
        self.generation = generation
        self.fingerprint = fingerprint  # what the export was made from (its manifest's)
        self.audio_offset = audio_offset  # where the full track's audio starts: after its tag
        self.folder = folder
        self.files = files
        self.full = full
        self.album = album
        self.chapters = chapters
        self.lyrics = lyrics
        self.cover_png = cover_png
        self.duration_s = duration_s
        self._zip: bytes | None = None
        self._made_lock = threading.Lock()  # the zip and the thumbnail: each made once
        self._thumbnail: bytes | None = None
        self._use_lock = threading.Lock()
        self._users = 0
        self._closing = False

    @contextlib.contextmanager
    def use(self) -> Iterator[bool]:
        """While in use (True: open), its files stay open, even when it is closed meanwhile:
        they are closed when the last user is done, so a file number is never read after
        it was closed (and perhaps reused by another file)."""
        with self._use_lock:
            usable = not self._closing
            if usable:
                self._users += 1
        try:
            yield usable
        finally:
            if usable:
                with self._use_lock:
                    self._users -= 1
                    last = self._closing and self._users == 0
                if last:
                    self._close_files()

    @property
    def zip_name(self) -> str:
        return f"{safe_filename(self.album)}.zip"

    def read(self, name: str, offset: int, count: int) -> bytes:
        return os.pread(self.files[name].fd, count, offset)

    def zip_bytes(self) -> bytes:
        """Every file of the export in one zip (MP3s stored, text deflated), in one folder
        named after the album; made once, in memory (nothing is written to disk)."""
        with self._made_lock:
            if self._zip is None:
                buffer = io.BytesIO()
                folder = Path(self.zip_name).stem
                with zipfile.ZipFile(buffer, "w") as archive:
                    for name, served in self.files.items():
                        kind = zipfile.ZIP_STORED if name.endswith(".mp3") else zipfile.ZIP_DEFLATED
                        info = zipfile.ZipInfo(f"{folder}/{name}", _zip_time(served.mtime_ns))
                        info.compress_type = kind
                        info.external_attr = 0o644 << 16
                        archive.writestr(info, self.read(name, 0, served.size))
                self._zip = buffer.getvalue()
            return self._zip

    def thumbnail(self) -> bytes:
        """The cover as a small JPEG for the page and the lock screen (the tag's PNG is
        several times larger: on a weak network it would come before the sound); made once."""
        with self._made_lock:
            if self._thumbnail is None:
                self._thumbnail = _thumbnail(self.cover_png) if self.cover_png else b""
            return self._thumbnail

    @property
    def audio_size(self) -> int:
        """The size of the full track's audio as the page plays it (without its tag)."""
        return self.files[self.full].size - self.audio_offset

    def close(self) -> None:
        with self._use_lock:
            if self._closing:
                return
            self._closing = True
            idle = self._users == 0
        if idle:
            self._close_files()

    def _close_files(self) -> None:
        for served in self.files.values():
            with contextlib.suppress(OSError):
                os.close(served.fd)


THUMBNAIL_PX = 256


def _thumbnail(png: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB")
        small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=85)
    return out.getvalue()


def _zip_time(mtime_ns: int) -> tuple[int, int, int, int, int, int]:
    import time

    t = time.localtime(max(mtime_ns // 1_000_000_000, 315_532_800))  # zip starts in 1980
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def open_snapshot(
    folder: Path, generation: int, refused: Callable[[str], None] | None = None
) -> Snapshot:
    """Open the export in ``folder`` (the files its manifest lists). A listed file that is a
    symlink, not a regular file, or missing is left out (and reported to ``refused``); the
    full-routine track must be there."""
    try:
        manifest = json.loads(read_regular(folder / MANIFEST, 4 * 1024 * 1024))  # no FIFO
        names = [n for n in manifest["files"] if isinstance(n, str)]
        fingerprint = str(manifest.get("fingerprint") or manifest.get("id") or "")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportError(f"{folder} holds no complete export ({MANIFEST}: {error})") from None
    directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    files: dict[str, ServedFile] = {}
    try:
        for name in names:
            if name != Path(name).name or name in (".", "..") or "\\" in name:
                _report(refused, f"{name!r} in the manifest is not a plain file name")
                continue
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
            except OSError as error:
                _report(refused, f"{name!r}: not served ({error.strerror})")
                continue
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                os.close(fd)
                _report(refused, f"{name!r}: not served (not a regular file)")
                continue
            files[name] = ServedFile(name, fd, info.st_size, info.st_mtime_ns)
    finally:
        os.close(directory)
    tracks = sorted(n for n in files if n.endswith(".mp3"))
    if not tracks:
        for served in files.values():
            os.close(served.fd)
        raise ExportError(f"{folder} holds no MP3 track to serve")
    full = tracks[-1]  # numbered in order; the whole routine is the last track
    try:
        album, chapters, lyrics, cover, duration_s, offset = _read_tags(files[full])
        if offset >= files[full].size:
            offset = 0
    except Exception:
        for served in files.values():
            os.close(served.fd)
        raise
    return Snapshot(
        generation,
        folder,
        files,
        full,
        album,
        chapters,
        lyrics,
        cover,
        duration_s,
        fingerprint,
        offset,
    )


def _report(refused: Callable[[str], None] | None, message: str) -> None:
    if refused is not None:
        refused(message)


def _read_tags(
    served: ServedFile,
) -> tuple[str, tuple[TrackChapter, ...], tuple[Lyric, ...], bytes, float, int]:
    """The full track's album, chapters, lyrics, cover and length, and where its audio
    starts: after its ID3 tag (header, frames and padding)."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3

    try:
        with os.fdopen(os.dup(served.fd), "rb") as file:
            audio = MP3(file)  # type: ignore[no-untyped-call]
    except MutagenError as error:
        raise ExportError(f"{served.name}: not a readable MP3 ({error})") from None
    tags = audio.tags
    duration_s = float(audio.info.length) if audio.info is not None else 0.0
    if tags is None:
        return served.name, (), (), b"", duration_s, 0
    album = str(tags["TALB"].text[0]) if "TALB" in tags else served.name
    chapters = sorted(
        (
            TrackChapter(
                str(c.sub_frames["TIT2"].text[0]) if "TIT2" in c.sub_frames else "",
                int(c.start_time),
                int(c.end_time),
            )
            for c in tags.getall("CHAP")
        ),
        key=lambda c: c.start_ms,
    )
    synced = tags.getall("SYLT")
    lyrics = tuple(Lyric(int(ms), str(text)) for text, ms in synced[0].text) if synced else ()
    pictures = tags.getall("APIC")
    cover = bytes(pictures[0].data) if pictures else b""
    return album, tuple(chapters), lyrics, cover, duration_s, int(tags.size)
