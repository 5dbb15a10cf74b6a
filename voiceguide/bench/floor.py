"""The naive floor's ffmpeg steps, shared by the benchmark's voices: the export decoded to
one WAV, and that WAV encoded to one MP3 (what any tool must do at the least)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["to_mp3", "to_wav"]

_FFMPEG = ["ffmpeg", "-v", "error", "-y", "-i"]


def to_wav(source: str | Path, wav: Path) -> list[str]:
    """ffmpeg's command decoding ``source``'s audio (not its cover) to mono 44.1 kHz."""
    return [*_FFMPEG, str(source), "-map", "0:a", "-ac", "1", "-ar", "44100", str(wav)]


def to_mp3(wav: Path, mp3: Path) -> list[str]:
    """ffmpeg's command encoding ``wav`` to one MP3 at the export's bitrate."""
    return [*_FFMPEG, str(wav), "-c:a", "libmp3lame", "-b:a", "96k", str(mp3)]
