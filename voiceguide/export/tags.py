"""ID3v2.3 tags for exported tracks (mutagen): text tags, cover, chapters and lyrics."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mark", "TrackTags", "write_tags"]


@dataclass(frozen=True)
class Mark:
    """A timed text inside a track: a chapter (start and end) or a lyric line (start)."""

    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True)
class TrackTags:
    title: str
    album: str
    artist: str
    number: int
    total: int
    comment: str = ""
    genre: str = "Fitness"
    year: int = dt.date.today().year
    cover_png: bytes = b""
    chapters: tuple[Mark, ...] = ()
    lyrics: tuple[Mark, ...] = ()


def write_tags(path: Path, tags: TrackTags) -> None:
    from mutagen.id3 import (
        APIC,
        COMM,
        ID3,
        SYLT,
        TALB,
        TCON,
        TIT2,
        TPE1,
        TPE2,
        TRCK,
        TYER,
        USLT,
        PictureType,
    )

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=tags.title))
    id3.add(TALB(encoding=3, text=tags.album))
    id3.add(TPE1(encoding=3, text=tags.artist))
    id3.add(TPE2(encoding=3, text=tags.artist))
    id3.add(TRCK(encoding=3, text=f"{tags.number}/{tags.total}"))
    id3.add(TCON(encoding=3, text=tags.genre))
    id3.add(TYER(encoding=3, text=str(tags.year)))
    if tags.comment:
        id3.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    if tags.cover_png:
        id3.add(
            APIC(
                encoding=3,
                mime="image/png",
                type=PictureType.COVER_FRONT,
                desc="Cover",
                data=tags.cover_png,
            )
        )
    if tags.lyrics:
        id3.add(USLT(encoding=3, lang="eng", desc="", text="\n".join(m.text for m in tags.lyrics)))
        id3.add(
            SYLT(
                encoding=3,
                lang="eng",
                format=2,
                type=1,
                desc="",
                text=[(m.text, m.start_ms) for m in tags.lyrics],
            )
        )
    for frame in _chapter_frames(tags.chapters):
        id3.add(frame)
    id3.save(str(path), v2_version=3)


def _chapter_frames(chapters: Sequence[Mark]) -> list[object]:
    """A CTOC and one CHAP per chapter, whose frames end up stored in time order.

    mutagen stores frames of a kind by size (smallest first), so each CHAP's element id is
    padded to make every CHAP one byte larger than the one before it.
    """
    if not chapters:
        return []
    from mutagen.id3 import CHAP, CTOC, TIT2, CTOCFlags

    def chap(element_id: str, mark: Mark) -> CHAP:
        return CHAP(
            element_id=element_id,
            start_time=mark.start_ms,
            end_time=mark.end_ms,
            start_offset=0xFFFFFFFF,
            end_offset=0xFFFFFFFF,
            sub_frames=[TIT2(encoding=3, text=[mark.text])],
        )

    base_ids = [f"chp{i:03d}" for i in range(len(chapters))]
    sizes = [_frame_size(chap(eid, m)) for eid, m in zip(base_ids, chapters, strict=True)]
    largest = max(sizes)
    ids = [
        eid + "_" * (largest + i - size)
        for i, (eid, size) in enumerate(zip(base_ids, sizes, strict=True))
    ]
    frames: list[object] = [
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text=["Chapters"])],
        )
    ]
    frames.extend(chap(eid, m) for eid, m in zip(ids, chapters, strict=True))
    return frames


def _frame_size(frame: object) -> int:
    """How many bytes a frame takes in an ID3v2.3 tag (saved alone, without padding)."""
    from mutagen.id3 import ID3

    id3 = ID3()
    id3.add(frame)
    buffer = io.BytesIO()
    id3.save(buffer, v2_version=3, padding=lambda info: 0)
    return len(buffer.getvalue())
