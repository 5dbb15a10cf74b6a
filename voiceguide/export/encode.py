"""Export: the timeline rendered to MP3 tracks (one per chapter, plus the whole routine).

Every track is encoded by ffmpeg from one streamed render (the full track and the chapter
tracks are fed from the same chunks), tagged with mutagen, and written into a staging
folder inside the output folder. Only when every file is complete are they renamed into
place, so a failure (disk full, read-only folder, a killed process) never leaves a
half-written file under a final name, and the previous export stays intact until then.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mutagen import MutagenError

from voiceguide.errors import DependencyMissing, ExportError
from voiceguide.export.cover import cover_png
from voiceguide.export.tags import Mark, TrackTags, write_tags
from voiceguide.plan.cues import Cue
from voiceguide.plan.settings import DEFAULT_BITRATE
from voiceguide.plan.timeline import Speech, Timeline, Tone
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.render import CueSource, PhraseSource, render_events

__all__ = [
    "ExportOptions",
    "ExportResult",
    "Track",
    "export_timeline",
    "export_track",
    "find_program",
    "safe_filename",
]

MANIFEST = ".voiceguide-export.json"
_STAGING_PREFIX = ".voiceguide-staging-"
_FAT_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}  # fmt: skip
_MAX_NAME = 80
# LAME's own command-line default (q5, "good quality") rather than ffmpeg's q3: encoding the
# default routine took 2.43 s instead of 2.74 s here.
_LAME_QUALITY = "5"
_CUT_LEAD_MS = 40  # chapter tracks are cut this much before their chapter, in its quiet lead-in
_FULL_DISK_BYTES = 256 * 1024  # an ffmpeg failure with less free than this: the disk is full
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes: room for the number and the extension

Progress = Callable[[int, int], None]
"""Called with (ms rendered so far, total ms)."""


@dataclass(frozen=True)
class ExportOptions:
    out_dir: Path
    bitrate: str = DEFAULT_BITRATE
    album_label: str = ""  # e.g. "45 s holds": appended to the album so variants sit apart
    artist: str = "voiceguide"
    comment: str = ""
    as_zip: bool = False  # one zip file holding the whole export, for transfer


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
    playlist: Path
    zip_path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "playlist": str(self.playlist),
            "zip": str(self.zip_path) if self.zip_path else None,
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
    """A file name (without extension) safe on FAT/exFAT phones and any desktop: no path
    separators or reserved names, nothing invisible (control, format, unassigned or
    surrogate characters; an emoji's zero-width joiner stays), and short enough in bytes."""
    name = _FAT_FORBIDDEN.sub(" ", title)
    name = "".join(" " if _invisible(ch) else ch for ch in name)
    name = " ".join(name.split()).strip(" .")
    name = name[:max_length].rstrip(" .")
    while len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        name = name[:-1].rstrip(" .")
    if not name or set(name) <= {"."}:
        name = "track"
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    return name


def _invisible(ch: str) -> bool:
    return ch != "\u200d" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def export_timeline(
    timeline: Timeline, phrases: PhraseSource, options: ExportOptions,
    progress: Progress | None = None, fmt: AudioFormat = FORMAT, cues: CueSource | None = None,
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
        starts = _encode_all(
            timeline, phrases, cues, planned, staging, ffmpeg, options, progress, fmt
        )
        starts.append(0)  # the full track
        tracks = tuple(
            Track(out_dir / name, title, number, _mp3_length_s(staging / name))
            for number, title, name, _ in planned
        )
        album = timeline.title + (f" ({options.album_label})" if options.album_label else "")
        cover = cover_png(timeline.title, options.album_label)
        names = [t.path.name for t in tracks]
        for track, (_n, _t, _name, span), start_ms in zip(tracks, planned, starts, strict=True):
            chapters, lyrics = _marks(timeline, span, start_ms)
            tags = TrackTags(
                title=track.title, album=album, artist=options.artist, number=track.number,
                total=len(tracks), comment=options.comment, cover_png=cover,
                chapters=chapters if len(chapters) > 1 else (), lyrics=lyrics,
            )  # fmt: skip
            write_tags(staging / track.path.name, tags)
            lrc_name = track.path.with_suffix(".lrc").name
            _write_text(staging / lrc_name, _lrc(tags, track.duration_s))
            names.append(lrc_name)
        playlist = f"{safe_filename(album)}.m3u8"
        _write_text(staging / playlist, _m3u8(tracks[:-1], options.artist))
        names.append(playlist)
        zip_path = None
        if options.as_zip:
            zip_name = f"{safe_filename(album)}.zip"
            _zip(staging, names, staging / zip_name, folder=safe_filename(album))
            names = [zip_name]
            zip_path = out_dir / zip_name
        _publish(staging, out_dir, names)
    except (OSError, MutagenError) as error:  # mutagen wraps a full disk's OSError
        cause = error.args[0] if isinstance(error, MutagenError) and error.args else error
        raise ExportError(
            f"writing the export to {out_dir} failed: {getattr(cause, 'strerror', None) or cause}; "
            "the previous export there is unchanged"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(
        tracks=tracks[:-1], full=tracks[-1], playlist=out_dir / playlist, zip_path=zip_path
    )


def export_track(
    timeline: Timeline, phrases: PhraseSource, path: Path, bitrate: str = DEFAULT_BITRATE,
    artist: str = "voiceguide", fmt: AudioFormat = FORMAT, cues: CueSource | None = None,
) -> Track:  # fmt: skip
    """The whole timeline as one tagged MP3 (its sections as chapters, its words as lyrics),
    encoded beside ``path`` and renamed onto it only when complete."""
    ffmpeg = find_program("ffmpeg")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot write to {folder}: {error.strerror or error}") from None
    staged = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        _encode(_Encoder(ffmpeg, staged, bitrate, fmt),
                _chunks_with_progress(timeline, phrases, cues, None, fmt))  # fmt: skip
        chapters, lyrics = _marks(timeline, None, 0)
        write_tags(staged, TrackTags(
            title=timeline.title, album=timeline.title, artist=artist, number=1, total=1,
            cover_png=cover_png(timeline.title, ""), lyrics=lyrics,
            chapters=chapters if len(chapters) > 1 else (),
        ))  # fmt: skip
        track = Track(path, timeline.title, 1, _mp3_length_s(staged))
        os.replace(staged, path)
    except (OSError, MutagenError) as error:
        cause = error.args[0] if isinstance(error, MutagenError) and error.args else error
        raise ExportError(
            f"writing {path} failed: {getattr(cause, 'strerror', None) or cause}"
        ) from None
    finally:
        staged.unlink(missing_ok=True)
    return track


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


def _encode(encoder: _Encoder, chunks: Iterable[bytes]) -> None:
    """Feed the chunks to the encoder and finish the file; on any failure the encoder is
    killed (its half-written file is the caller's to remove)."""
    try:
        for chunk in chunks:
            encoder.write(chunk)
        encoder.close()
    except BaseException:
        encoder.kill()
        raise


class _Encoder:
    """One ffmpeg process turning streamed PCM into an MP3 file."""

    def __init__(self, ffmpeg: str, path: Path, bitrate: str, fmt: AudioFormat) -> None:
        self.path = path
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        args = [
            ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
            *fmt.ffmpeg_input, "-i", "pipe:0",
            "-c:a", "libmp3lame", "-b:a", bitrate, "-ar", str(fmt.sample_rate),
            "-reservoir", "0", "-compression_level", _LAME_QUALITY,
            "-write_xing", "1", "-id3v2_version", "3", "-f", "mp3", str(path),
        ]  # fmt: skip
        # Its own process group: Ctrl-C reaches voiceguide alone, which stops the encoders
        # (an encoder stopping first would turn the interruption into an ffmpeg error).
        self._process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
            process_group=0,
        )  # fmt: skip
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
        raise _ffmpeg_failure(f"writing {self.path.name}", detail, self.path.parent)


def _ffmpeg_failure(what: str, detail: str, folder: Path) -> Exception:
    """ffmpeg's failure as an error; a full disk as an OSError saying so, whatever ffmpeg
    said about it (the segment muxer says "Invalid argument" when its write fails)."""
    try:
        stat = os.statvfs(folder)
        full = stat.f_bavail * stat.f_frsize < _FULL_DISK_BYTES
    except OSError:
        full = False
    if full or "No space left" in detail:
        return OSError(28, "No space left on device")
    return ExportError(f"ffmpeg failed {what}: {detail}")


def _encode_all(
    timeline: Timeline, phrases: PhraseSource, cues: CueSource | None,
    planned: list[tuple[int, str, str, tuple[int, int] | None]],
    staging: Path, ffmpeg: str, options: ExportOptions, progress: Progress | None,
    fmt: AudioFormat,
) -> list[int]:  # fmt: skip
    """Encode the whole routine once, then cut the chapter tracks out of it.

    Returns where each chapter track starts in the full track (ms). The encoder keeps no
    bit reservoir, so every MP3 frame decodes on its own and a cut between frames is clean;
    each cut is made a little before its chapter, in the quiet that ends the chapter before,
    and lands on the next frame boundary (frames are 26 ms).
    """
    full_path = staging / planned[-1][2]
    _encode(_Encoder(ffmpeg, full_path, options.bitrate, fmt),
            _chunks_with_progress(timeline, phrases, cues, progress, fmt))  # fmt: skip
    return _split(ffmpeg, full_path, [name for _n, _t, name, _s in planned[:-1]], timeline)


def _split(ffmpeg: str, full_path: Path, names: list[str], timeline: Timeline) -> list[int]:
    """Cut the full track into the chapter tracks (no re-encoding); their starts in ms."""
    staging = full_path.parent
    cuts = [max(0, c.start_ms - _CUT_LEAD_MS) / 1000 for c in timeline.chapters[1:]]
    listing = staging / ".segments.csv"
    args = [
        ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y", "-i", str(full_path),
        "-map", "0:a", "-c", "copy", "-f", "segment", "-reset_timestamps", "1",
        "-segment_format_options", "write_xing=0",
        "-segment_times", ",".join(f"{t:.3f}" for t in cuts),
        "-segment_list", str(listing), "-segment_list_type", "csv",
        str(staging / ".segment-%03d.mp3"),
    ]  # fmt: skip
    result = subprocess.run(  # in its own process group, as the encoder
        args, capture_output=True, text=True, stdin=subprocess.DEVNULL, process_group=0
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        raise _ffmpeg_failure("cutting the chapter tracks", detail, staging)
    rows = [line.split(",") for line in listing.read_text(encoding="utf-8").splitlines() if line]
    if len(rows) != len(names):
        raise ExportError(f"ffmpeg cut {len(rows)} chapter tracks, not {len(names)}")
    starts = []
    for (segment, start_s, _end_s), name in zip(rows, names, strict=True):
        os.replace(staging / segment, staging / name)
        starts.append(round(float(start_s) * 1000))
    listing.unlink()
    return starts


def _chunks_with_progress(
    timeline: Timeline, phrases: PhraseSource, cues: CueSource | None,
    progress: Progress | None, fmt: AudioFormat,
) -> Iterator[bytes]:  # fmt: skip
    for event in timeline.events:
        yield from render_events((event,), phrases, fmt, cues)
        if progress is not None:
            progress(event.end_ms, timeline.total_ms)


def _mp3_length_s(path: Path) -> float:
    from mutagen.mp3 import MP3

    info = MP3(str(path)).info
    if info is None:
        raise ExportError(f"ffmpeg wrote an unreadable MP3: {path.name}")
    return float(info.length)


_CUE_LYRICS = {
    Cue.START: "[hold]",
    Cue.HALFWAY: "[halfway]",
    Cue.END: "[release]",
    Cue.SWITCH: "[switch sides]",
    Cue.SET_END: "[set done]",
    Cue.FINISH: "[done]",
}


def _marks(
    timeline: Timeline, span: tuple[int, int] | None, origin: int
) -> tuple[tuple[Mark, ...], tuple[Mark, ...]]:
    """The chapter marks and lyric lines of one track, in ms from the track's start
    (``origin``: where the track starts in the whole routine)."""
    if span is None:
        first, end = 0, len(timeline.events)
    else:
        first, end = span
    stop = timeline.events[end - 1].end_ms
    chapters = tuple(
        Mark(x.start_ms - origin, x.end_ms - origin, x.title)
        for x in timeline.sections
        if origin <= x.start_ms < stop
    )
    hold_ends = {h.end_ms for h in timeline.holds}
    lyrics: list[Mark] = []
    for event in timeline.events[first:end]:
        if isinstance(event, Speech):
            text = event.text
        elif isinstance(event, Tone) and event.cue is Cue.TICK:
            text = next((str(k) for k in (3, 2, 1) if event.start_ms + k * 1000 in hold_ends), "")
        elif isinstance(event, Tone):
            text = _CUE_LYRICS.get(event.cue, "")
        else:
            continue
        if text:
            lyrics.append(Mark(event.start_ms - origin, event.end_ms - origin, text))
    return chapters, tuple(lyrics)


def _lrc_time(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:02d}:{rest // 1000:02d}.{rest % 1000 // 10:02d}"


def _lrc(tags: TrackTags, duration_s: float) -> str:
    """A timed lyrics file (LRC) with every spoken phrase and cue."""
    lines = [f"[ti:{tags.title}]", f"[ar:{tags.artist}]", f"[al:{tags.album}]",
             f"[length:{_lrc_time(round(duration_s * 1000))[:5]}]"]  # fmt: skip
    lines += [f"[{_lrc_time(m.start_ms)}]{m.text}" for m in tags.lyrics]
    return "\n".join(lines) + "\n"


def _m3u8(tracks: tuple[Track, ...], artist: str) -> str:
    """An extended M3U playlist (UTF-8) of the chapter tracks, with relative paths."""
    lines = ["#EXTM3U"]
    for track in tracks:
        lines += [f"#EXTINF:{round(track.duration_s)},{artist} - {track.title}", track.path.name]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _zip(staging: Path, names: list[str], target: Path, folder: str) -> None:
    """MP3s are stored (they do not compress); text files are deflated."""
    with zipfile.ZipFile(target, "w") as archive:
        for name in names:
            kind = zipfile.ZIP_STORED if name.endswith(".mp3") else zipfile.ZIP_DEFLATED
            archive.write(staging / name, f"{folder}/{name}", compress_type=kind)


# ---------------------------------------------------------------- publishing


def _publish(staging: Path, out_dir: Path, names: list[str]) -> None:
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
