"""Export: plan, then render and encode the tracks, playlist and lyrics into a folder (or
the cue legend into one MP3)."""

from __future__ import annotations

from pathlib import Path

from voiceguide.export import (
    ExportOptions,
    ExportResult,
    Progress,
    Track,
    export_timeline,
    export_track,
)
from voiceguide.pipeline.legend import legend
from voiceguide.pipeline.planning import plan
from voiceguide.pipeline.setup import comment, cue_cache
from voiceguide.plan.preferences import Choices
from voiceguide.plan.settings import DEFAULT_BITRATE, Settings, parse_bitrate
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.model import Routine
from voiceguide.speech.cache import PhraseCache

__all__ = ["export", "export_legend"]


def export(
    routine: Routine, settings: Settings, cache: PhraseCache, out_dir: Path,
    bitrate: str = DEFAULT_BITRATE, progress: Progress | None = None, as_zip: bool = False,
) -> tuple[Timeline, ExportResult]:  # fmt: skip
    """Plan, then render and encode the tracks, playlist and lyrics into ``out_dir``."""
    options = ExportOptions(
        out_dir=out_dir,
        bitrate=parse_bitrate(bitrate),
        as_zip=as_zip,
        album_label=settings.label(),
        artist=routine.author,
        comment=comment(settings),
    )
    # the first phrases are encoded while the later ones are still being made
    try:
        timeline = plan(routine, settings, cache, lengths_only=True)
        result = export_timeline(timeline, cache.pcm, options, progress, cues=cue_cache(cache))
    except BaseException:
        cache.close(cancel=True)
        raise
    cache.close()
    return timeline, result


def export_legend(command: Choices, out_path: Path) -> tuple[Timeline, Track]:
    """The cue legend as one MP3 at ``out_path``."""
    timeline, cache, prepared = legend(command)
    return timeline, export_track(
        timeline, cache.pcm, out_path, prepared.bitrate, cues=cue_cache(cache)
    )
