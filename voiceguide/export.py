"""Export: the timeline rendered to MP3 tracks (one per chapter, plus the whole routine).

Every track is encoded by ffmpeg from one streamed render (the full track and the chapter
tracks are fed from the same chunks), tagged with mutagen, and written into a staging
folder inside the output folder. Only when every file is complete are they renamed into
place, so a failure (disk full, read-only folder, a killed process) never leaves a
half-written file under a final name, and the previous export stays intact until then.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from voiceguide.audio import FORMAT, AudioFormat
from voiceguide.errors import DependencyMissing, ExportError
from voiceguide.render import PhraseSource, render_events
from voiceguide.timeline import Timeline

__all__ = [
    "DEFAULT_BITRATE",
    "ExportOptions",
    "ExportResult",
    "Track",
    "export_timeline",
    "find_program",
    "safe_filename",
]

DEFAULT_BITRATE = "96k"
MANIFEST = ".voiceguide-export.json"
_STAGING_PREFIX = ".voiceguide-staging-"
_FAT_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}  # fmt: skip
_MAX_NAME = 80

Progress = Callable[[int, int], None]
"""Called with (ms rendered so far, total ms)."""


@dataclass(frozen=True)
class ExportOptions:
    out_dir: Path
    bitrate: str = DEFAULT_BITRATE
    album_label: str = ""  # e.g. "45 s holds": appended to the album so variants sit apart
    artist: str = "voiceguide"
    comment: str = ""


@dataclass(frozen=True)
class Track:
    path: Path
    title: str
    number: int
    duration_s: float


@dataclass(frozen=True)
class ExportResult:
    tracks: tuple[Track, ...]
    full: Track

    def to_json(self) -> dict[str, Any]:
        return {
            "tracks": [
                {"path": str(t.path), "title": t.title, "duration_s": round(t.duration_s, 3)}
                for t in self.tracks
            ],
            "full": {"path": str(self.full.path), "title": self.full.title,
                     "duration_s": round(self.full.duration_s, 3)},
        }  # fmt: skip


def find_program(name: str) -> str:
    """The path of an external program on PATH, or a clear error saying what to install."""
    found = shutil.which(name)
    if found is None:
        raise DependencyMissing(
            f"{name} is not installed or not on PATH; install it: sudo apt-get install ffmpeg"
        )
    return found


def safe_filename(title: str, max_length: int = _MAX_NAME) -> str:
    """A file name (without extension) safe on FAT/exFAT phones and any desktop."""
    name = _FAT_FORBIDDEN.sub(" ", title)
    name = " ".join(name.split()).strip(" .")
    name = name[:max_length].rstrip(" .")
    if not name or set(name) <= {"."}:
        name = "track"
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    return name


def export_timeline(
    timeline: Timeline, phrases: PhraseSource, options: ExportOptions,
    progress: Progress | None = None, fmt: AudioFormat = FORMAT,
) -> ExportResult:  # fmt: skip
    """Render and encode every track, then move them into ``options.out_dir`` together."""
    ffmpeg = find_program("ffmpeg")
    out_dir = options.out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_staging(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{os.getpid()}-", dir=out_dir))
    except OSError as error:
        raise ExportError(f"cannot write to {out_dir}: {error.strerror or error}") from None
    try:
        planned = _plan_tracks(timeline)
        _encode_all(timeline, phrases, planned, staging, ffmpeg, options, progress, fmt)
        tracks = tuple(
            Track(out_dir / name, title, number, _mp3_length_s(staging / name))
            for number, title, name, _ in planned
        )
        total = len(planned)
        for track in tracks:
            _tag(staging / track.path.name, track.title, track.number, total, timeline, options)
        _publish(staging, out_dir, [t.path.name for t in tracks])
    except OSError as error:
        raise ExportError(
            f"writing the export to {out_dir} failed: {error.strerror or error}; "
            "the previous export there is unchanged"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(tracks=tracks[:-1], full=tracks[-1])


# ---------------------------------------------------------------- planning and encoding


def _plan_tracks(timeline: Timeline) -> list[tuple[int, str, str, tuple[int, int] | None]]:
    """(track number, title, file name, event range or None for the whole) per track."""
    planned: list[tuple[int, str, str, tuple[int, int] | None]] = []
    count = len(timeline.chapters) + 1
    width = max(2, len(str(count)))
    for chapter in timeline.chapters:
        name = f"{chapter.index:0{width}d} {safe_filename(chapter.title)}.mp3"
        planned.append(
            (chapter.index, chapter.title, name, (chapter.first_event, chapter.end_event))
        )
    full_title = f"{timeline.title} - full routine"
    planned.append((count, full_title, f"{count:0{width}d} {safe_filename(full_title)}.mp3", None))
    return planned


class _Encoder:
    """One ffmpeg process turning streamed PCM into an MP3 file."""

    def __init__(self, ffmpeg: str, path: Path, bitrate: str, fmt: AudioFormat) -> None:
        self.path = path
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        args = [
            ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
            *fmt.ffmpeg_input, "-i", "pipe:0",
            "-c:a", "libmp3lame", "-b:a", bitrate, "-ar", str(fmt.sample_rate),
            "-write_xing", "1", "-id3v2_version", "3", "-f", "mp3", str(path),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        assert self._process.stdin is not None
        self._stdin = self._process.stdin

    def write(self, data: bytes) -> None:
        try:
            self._stdin.write(data)
        except BrokenPipeError:
            self._fail()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        if self._process.wait() != 0:
            self._fail()
        self._stderr.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self._process.kill()
        self._process.wait()
        with contextlib.suppress(BrokenPipeError, OSError):
            self._stdin.close()
        self._stderr.close()

    def _fail(self) -> None:
        self._process.kill()
        self._process.wait()
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit code {self._process.returncode}"
        if "No space left" in detail:
            raise OSError(28, "No space left on device")
        raise ExportError(f"ffmpeg failed writing {self.path.name}: {detail}")


def _encode_all(
    timeline: Timeline, phrases: PhraseSource,
    planned: list[tuple[int, str, str, tuple[int, int] | None]],
    staging: Path, ffmpeg: str, options: ExportOptions, progress: Progress | None,
    fmt: AudioFormat,
) -> None:  # fmt: skip
    full = _Encoder(ffmpeg, staging / planned[-1][2], options.bitrate, fmt)
    encoders = [full]
    try:
        for _number, _title, name, span in planned[:-1]:
            assert span is not None
            chapter = _Encoder(ffmpeg, staging / name, options.bitrate, fmt)
            encoders.append(chapter)
            for chunk in _chunks_with_progress(timeline, span, phrases, progress, fmt):
                full.write(chunk)
                chapter.write(chunk)
            chapter.close()
        full.close()
    except BaseException:
        for encoder in encoders:
            encoder.kill()
        raise


def _chunks_with_progress(
    timeline: Timeline, span: tuple[int, int], phrases: PhraseSource,
    progress: Progress | None, fmt: AudioFormat,
) -> Iterator[bytes]:  # fmt: skip
    events = timeline.events[span[0] : span[1]]
    for event in events:
        yield from render_events((event,), phrases, fmt)
        if progress is not None:
            progress(event.end_ms, timeline.total_ms)


def _mp3_length_s(path: Path) -> float:
    from mutagen.mp3 import MP3

    info = MP3(str(path)).info
    if info is None:
        raise ExportError(f"ffmpeg wrote an unreadable MP3: {path.name}")
    return float(info.length)


def _tag(
    path: Path, title: str, number: int, total: int, timeline: Timeline, options: ExportOptions
) -> None:
    from mutagen.id3 import COMM, ID3, TALB, TCON, TIT2, TPE1, TPE2, TRCK, TYER

    album = timeline.title + (f" ({options.album_label})" if options.album_label else "")
    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TALB(encoding=3, text=album))
    tags.add(TPE1(encoding=3, text=options.artist))
    tags.add(TPE2(encoding=3, text=options.artist))
    tags.add(TRCK(encoding=3, text=f"{number}/{total}"))
    tags.add(TCON(encoding=3, text="Fitness"))
    tags.add(TYER(encoding=3, text=str(dt.date.today().year)))
    if options.comment:
        tags.add(COMM(encoding=3, lang="eng", desc="", text=options.comment))
    tags.save(str(path), v2_version=3)


# ---------------------------------------------------------------- publishing


def _publish(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Rename the finished files into place, then drop the previous export's leftovers."""
    previous = _read_manifest(out_dir)
    for name in names:
        os.replace(staging / name, out_dir / name)
    manifest = staging / MANIFEST
    manifest.write_text(json.dumps({"files": names}, indent=1), encoding="utf-8")
    os.replace(manifest, out_dir / MANIFEST)
    for stale in previous - set(names):
        with contextlib.suppress(OSError):
            (out_dir / stale).unlink()


def _read_manifest(out_dir: Path) -> set[str]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    # Only plain names inside the folder: a tampered manifest must not delete elsewhere.
    return {f for f in files if isinstance(f, str) and f == Path(f).name and f not in (".", "..")}


def _remove_abandoned_staging(out_dir: Path) -> None:
    """Staging folders left by a killed export (their process is gone)."""
    for entry in out_dir.glob(_STAGING_PREFIX + "*"):
        pid_text = entry.name.removeprefix(_STAGING_PREFIX).split("-", 1)[0]
        if pid_text.isdigit() and _alive(int(pid_text)) and int(pid_text) != os.getpid():
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
