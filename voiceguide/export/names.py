"""The files of an export: each track's number, title and file name, names that are safe on
phone file systems (FAT/exFAT) and desktops alike."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from voiceguide.plan.timeline import Timeline

__all__ = ["PlannedTrack", "file_name", "plan_tracks", "safe_filename"]

# what FAT/exFAT refuse, and "#" (a player reading a playlist's lines as URIs ends the
# name there)
_FAT_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|#]')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_MAX_NAME = 80
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes: room for the number and the extension


class PlannedTrack(NamedTuple):
    """One track an export writes: a chapter's, or (``span`` None) the whole routine's."""

    number: int
    title: str
    name: str  # the file name
    span: tuple[int, int] | None  # the timeline's events [first, end) of the chapter


def safe_filename(title: str, max_length: int = _MAX_NAME) -> str:
    """A file name (without extension) safe on FAT/exFAT phones and any desktop: no path
    separators or reserved names, nothing invisible (control, format, unassigned or
    surrogate characters; an emoji's zero-width joiner stays), no "-" first (a shell command
    given the name would read an option), and short enough in bytes."""
    name = _FAT_FORBIDDEN.sub(" ", title)
    name = "".join(" " if _invisible(ch) else ch for ch in name)
    name = " ".join(name.split()).lstrip(" .-").rstrip(" .")
    if name.split(".")[0].upper() in _RESERVED:
        name = "_" + name
    if len(name) > max_length:  # cut at a space when there is one near the end
        cut = name[:max_length]
        space = cut.rfind(" ")
        name = cut[:space] if space >= max_length * 2 // 3 else cut
    name = name.rstrip(" .")
    while len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        name = name[:-1].rstrip(" .")
    if not name or set(name) <= {"."}:
        name = "track"
    return name


def file_name(title: str, extension: str, prefix: str = "", suffix: str = "") -> str:
    """``prefix``, the title made safe, ``suffix`` and ``extension``: at most 80 characters
    in all, the title cut to make room (never the number, the suffix or the extension)."""
    room = _MAX_NAME - len(prefix) - len(suffix) - len(extension)
    return f"{prefix}{safe_filename(title, room)}{suffix}{extension}"


def _invisible(ch: str) -> bool:
    return ch != "\u200d" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def plan_tracks(timeline: Timeline) -> list[PlannedTrack]:
    """Every track: one per chapter, then the whole routine."""
    planned: list[PlannedTrack] = []
    count = len(timeline.chapters) + 1
    width = max(2, len(str(count)))
    for chapter in timeline.chapters:
        name = file_name(chapter.title, ".mp3", prefix=f"{chapter.index:0{width}d} ")
        span = (chapter.first_event, chapter.end_event)
        planned.append(PlannedTrack(chapter.index, chapter.title, name, span))
    suffix = " - full routine"
    name = file_name(timeline.title, ".mp3", prefix=f"{count:0{width}d} ", suffix=suffix)
    planned.append(PlannedTrack(count, timeline.title + suffix, name, None))
    return planned
