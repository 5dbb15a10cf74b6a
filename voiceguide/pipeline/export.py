"""Export: plan, then render and encode the tracks, playlist and lyrics into a folder (or
the cue legend into one MP3)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import stat
from pathlib import Path

from voiceguide.errors import SettingsError
from voiceguide.export import (
    JOURNAL,
    MANIFEST,
    ExportOptions,
    ExportResult,
    Progress,
    Track,
    export_timeline,
    export_track,
)
from voiceguide.files import TargetRefused, read_regular
from voiceguide.pipeline.cues import legend
from voiceguide.pipeline.outputs import checked_target, protected
from voiceguide.pipeline.planning import plan
from voiceguide.pipeline.setup import bed_source, comment, cue_cache
from voiceguide.plan.parsing import DEFAULT_BITRATE, parse_bitrate
from voiceguide.plan.preferences import Choices
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.model import Routine
from voiceguide.sound.bed import BedMix
from voiceguide.speech.cache import PhraseCache

__all__ = ["current_export", "export", "export_legend", "fingerprint"]


def export(
    routine: Routine,
    settings: Settings,
    cache: PhraseCache,
    out_dir: Path,
    bitrate: str = DEFAULT_BITRATE,
    progress: Progress | None = None,
    as_zip: bool = False,
) -> tuple[Timeline, ExportResult]:
    """Plan, then render and encode the tracks, playlist and lyrics into ``out_dir``."""
    options = ExportOptions(
        out_dir=out_dir,
        bitrate=parse_bitrate(bitrate),
        as_zip=as_zip,
        album_label=settings.label(),
        artist=routine.author,
        comment=comment(settings),
        fingerprint=fingerprint(routine, settings, bitrate, as_zip),
    )
    bed = bed_source(settings, cache)
    # the first phrases are encoded while the later ones are still being made
    try:
        timeline = plan(routine, settings, cache, lengths_only=True)
        mix = BedMix(bed, timeline, settings.bed_level_db) if bed is not None else None
        result = export_timeline(
            timeline, cache.pcm, options, progress, cues=cue_cache(cache), bed=mix
        )
    except BaseException:
        cache.close(cancel=True)
        raise
    cache.close()
    return timeline, result


def fingerprint(routine: Routine, settings: Settings, bitrate: str, as_zip: bool = False) -> str:
    """What an export is made from: voiceguide's version, the routine as loaded (every text
    and number of its files), the settings and the bitrate. The same fingerprint, the same
    files (speech aside: espeak-ng may differ by a few ms from run to run). A music bed's
    file counts by its size and time of change."""
    from voiceguide import __version__

    music = None  # a music bed's file: which version of it (the path alone does not say)
    if settings.bed not in (None, "pad"):
        with contextlib.suppress(OSError):
            found = Path(str(settings.bed)).stat()
            music = (found.st_size, found.st_mtime_ns)
    made_from = repr((__version__, routine, settings, parse_bitrate(bitrate), as_zip, music))
    return hashlib.sha256(made_from.encode("utf-8")).hexdigest()


_MAX_MANIFEST_BYTES = 4 * 1024 * 1024


def current_export(out_dir: Path, made_from: str) -> bool:
    """Whether ``out_dir`` holds a whole export (loose files, not a zip) with the fingerprint
    ``made_from``: every file its manifest lists is there, as a regular file."""
    if (out_dir / JOURNAL).exists():  # a publish under way, or killed: not a whole export
        return False
    try:
        manifest = json.loads(read_regular(out_dir / MANIFEST, _MAX_MANIFEST_BYTES))  # no FIFO
        names = manifest["files"]
        if manifest.get("fingerprint") != made_from or not isinstance(names, list):
            return False
        plain = [n for n in names if isinstance(n, str) and n == Path(n).name]
        return (
            len(plain) == len(names)
            and any(n.endswith(".mp3") for n in plain)
            and all(stat.S_ISREG((out_dir / n).lstat().st_mode) for n in plain)
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def export_legend(command: Choices, out: str) -> tuple[Timeline, Track]:
    """The cue legend as one MP3 at ``out`` (checked first: see
    :func:`~voiceguide.pipeline.outputs.checked_target`)."""
    if out == "-":
        raise SettingsError("--out '-': an MP3 is not written to the output; give a file name")
    out_path = checked_target("--out", out)
    timeline, cache, prepared = legend(command)
    try:
        track = export_track(
            timeline,
            cache.pcm,
            out_path,
            prepared.bitrate,
            cues=cue_cache(cache),
            protected=protected(out_path),
        )
    except TargetRefused as refused:  # what was there changed while the legend was made
        raise SettingsError(f"--out {out!r}: {refused}; nothing was written") from None
    return timeline, track
