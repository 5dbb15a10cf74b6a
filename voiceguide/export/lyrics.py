"""What a track says, for players that show it: chapter marks and timed lyrics (every
phrase and cue) from the timeline, as tags and as an LRC file, and the M3U8 playlist."""

from __future__ import annotations

from collections.abc import Iterable

from voiceguide.export.tags import Mark, TrackTags
from voiceguide.plan.cues import Cue
from voiceguide.plan.timeline import Speech, Timeline, Tone

__all__ = ["lrc", "m3u8", "marks"]

_CUE_LYRICS = {
    Cue.START: "[hold]",
    Cue.HALFWAY: "[halfway]",
    Cue.END: "[release]",
    Cue.SWITCH: "[switch sides]",
    Cue.SET_END: "[set done]",
    Cue.FINISH: "[done]",
}


def marks(
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


def lrc(tags: TrackTags, duration_s: float) -> str:
    """A timed lyrics file (LRC) with every spoken phrase and cue."""
    lines = [
        f"[ti:{tags.title}]",
        f"[ar:{tags.artist}]",
        f"[al:{tags.album}]",
        f"[length:{_lrc_time(round(duration_s * 1000))[:5]}]",
    ]
    lines += [f"[{_lrc_time(m.start_ms)}]{m.text}" for m in tags.lyrics]
    return "\n".join(lines) + "\n"


def m3u8(tracks: Iterable[tuple[str, str, float]], artist: str) -> str:
    """An extended M3U playlist (UTF-8) of the chapter tracks, with relative paths."""
    lines = ["#EXTM3U"]
    for title, name, duration_s in tracks:
        lines += [f"#EXTINF:{round(duration_s)},{artist} - {title}", name]
    return "\n".join(lines) + "\n"
