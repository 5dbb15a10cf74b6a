"""Export: the timeline rendered to MP3 tracks (one per chapter, plus the whole routine).

Every track is encoded by LAME from one streamed render (the chapter tracks are cut out of
the full track's frames), tagged with mutagen, and written into a staging
folder inside the output folder. Only when every file is complete are they renamed into
place, so a failure (disk full, read-only folder, a killed process) never leaves a
half-written file under a final name, and the previous export stays intact until then.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mutagen import MutagenError

from voiceguide.errors import ExportError
from voiceguide.export.cover import cover_png
from voiceguide.export.encoder import Progress, encode_all, encode_pieces, rendered
from voiceguide.export.lyrics import lrc, m3u8, marks
from voiceguide.export.names import file_name, plan_tracks, safe_filename
from voiceguide.export.pieces import plan_encoders
from voiceguide.export.publish import discard_staging, make_staging, publish, write_zip
from voiceguide.export.tags import TrackTags, write_tags
from voiceguide.files import check_target, staging_path
from voiceguide.plan.parsing import DEFAULT_BITRATE
from voiceguide.plan.timeline import Timeline
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.bed import BedMix
from voiceguide.sound.render import CueSource, PhraseSource

__all__ = ["ExportOptions", "ExportResult", "Track", "export_timeline", "export_track"]


@dataclass(frozen=True)
class ExportOptions:
    out_dir: Path
    bitrate: str = DEFAULT_BITRATE
    album_label: str = ""  # e.g. "45 s holds": appended to the album so variants sit apart
    artist: str = "voiceguide"
    comment: str = ""
    as_zip: bool = False  # one zip file holding the whole export, for transfer
    fingerprint: str = ""  # what it is made from, kept in the manifest (serve reuses it)


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
            "full": {
                "path": str(self.full.path),
                "title": self.full.title,
                "duration_s": round(self.full.duration_s, 3),
            },
        }


def export_timeline(
    timeline: Timeline,
    phrases: PhraseSource,
    options: ExportOptions,
    progress: Progress | None = None,
    fmt: AudioFormat = FORMAT,
    cues: CueSource | None = None,
    bed: BedMix | None = None,
) -> ExportResult:
    """Render and encode every track (with the music ``bed`` mixed in), then move them into
    ``options.out_dir`` together."""
    out_dir = options.out_dir
    try:
        staging = make_staging(out_dir)
    except OSError as error:
        raise ExportError(f"cannot write to {out_dir}: {error.strerror or error}") from None
    try:
        planned = plan_tracks(timeline)
        cuts = encode_all(
            timeline, phrases, cues, planned, staging, options.bitrate, progress, fmt, bed
        )
        starts = [cut.start_ms for cut in cuts]
        tracks = tuple(
            Track(out_dir / p.name, p.title, p.number, cut.duration_s)
            for p, cut in zip(planned, cuts, strict=True)
        )
        album = timeline.title + (f" ({options.album_label})" if options.album_label else "")
        cover = cover_png(timeline.title, options.album_label)
        names = [t.path.name for t in tracks]
        for track, planned_track, start_ms in zip(tracks, planned, starts, strict=True):
            chapters, lyrics = marks(timeline, planned_track.span, start_ms)
            tags = TrackTags(
                title=track.title,
                album=album,
                artist=options.artist,
                number=track.number,
                total=len(tracks),
                comment=options.comment,
                cover_png=cover,
                chapters=chapters if len(chapters) > 1 else (),
                lyrics=lyrics,
            )
            write_tags(staging / track.path.name, tags)
            lrc_name = track.path.with_suffix(".lrc").name
            _write_text(staging / lrc_name, lrc(tags, track.duration_s))
            names.append(lrc_name)
        playlist = file_name(album, ".m3u8")
        entries = [(t.title, t.path.name, t.duration_s) for t in tracks[:-1]]
        _write_text(staging / playlist, m3u8(entries, options.artist))
        names.append(playlist)
        zip_path = None
        if options.as_zip:
            zip_name = file_name(album, ".zip")
            write_zip(staging, names, staging / zip_name, folder=safe_filename(album))
            names = [zip_name]
            zip_path = out_dir / zip_name
        publish(staging, out_dir, names, options.fingerprint)
    except (OSError, MutagenError) as error:  # mutagen wraps a full disk's OSError
        cause = error.args[0] if isinstance(error, MutagenError) and error.args else error
        raise ExportError(
            f"writing the export to {out_dir} failed: {_reason(cause)}; "
            "the previous export there is unchanged"
        ) from None
    finally:
        discard_staging(out_dir, staging)
    return ExportResult(
        tracks=tracks[:-1], full=tracks[-1], playlist=out_dir / playlist, zip_path=zip_path
    )


def export_track(
    timeline: Timeline,
    phrases: PhraseSource,
    path: Path,
    bitrate: str = DEFAULT_BITRATE,
    artist: str = "voiceguide",
    fmt: AudioFormat = FORMAT,
    cues: CueSource | None = None,
    protected: Sequence[Path] = (),
) -> Track:
    """The whole timeline as one tagged MP3 (its sections as chapters, its words as lyrics),
    encoded beside ``path`` and renamed onto it only when complete, and only while ``path``
    is a regular file or a new name, none of ``protected`` (raises TargetRefused)."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot write to {folder}: {error.strerror or error}") from None
    check_target(path, protected)
    staged = staging_path(path)
    try:
        total = fmt.frames(timeline.total_ms)
        encode_pieces(
            lambda start, end: rendered(timeline, phrases, cues, None, fmt),
            plan_encoders(total, 1),
            staged,
            bitrate,
            fmt,
        )
        chapters, lyrics = marks(timeline, None, 0)
        write_tags(
            staged,
            TrackTags(
                title=timeline.title,
                album=timeline.title,
                artist=artist,
                number=1,
                total=1,
                cover_png=cover_png(timeline.title, ""),
                lyrics=lyrics,
                chapters=chapters if len(chapters) > 1 else (),
            ),
        )
        track = Track(path, timeline.title, 1, total / fmt.sample_rate)  # as its header says
        check_target(path, protected)  # what is there now
        os.replace(staged, path)
    except (OSError, MutagenError) as error:
        cause = error.args[0] if isinstance(error, MutagenError) and error.args else error
        raise ExportError(
            f"writing {path} failed: {getattr(cause, 'strerror', None) or cause}"
        ) from None
    finally:
        staged.unlink(missing_ok=True)
    return track


def _reason(cause: object) -> str:
    """An OSError's reason, with the file it is about when that is one of the export's."""
    if not isinstance(cause, OSError) or not cause.strerror:
        return str(cause)
    name = Path(cause.filename).name if isinstance(cause.filename, str) else ""
    if name and not name.startswith("."):  # not a staging or temporary file
        return f"{name}: {cause.strerror}"
    return cause.strerror


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
