"""The one audio format used from synthesis to export, and ms <-> frame arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FORMAT", "AudioFormat"]


@dataclass(frozen=True)
class AudioFormat:
    """Signed little-endian PCM."""

    sample_rate: int = 44_100
    channels: int = 1
    sample_width: int = 2  # bytes per sample

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.sample_width

    def frames(self, ms: int) -> int:
        """The frame index of a time in ms (floor); adjacent events share their boundary."""
        return ms * self.sample_rate // 1000

    def ms(self, frames: int) -> int:
        """The length of ``frames`` in whole ms, rounded up."""
        return -(-frames * 1000 // self.sample_rate)

    @property
    def ffmpeg_input(self) -> list[str]:
        """ffmpeg arguments describing raw PCM in this format."""
        return [
            "-f",
            f"s{8 * self.sample_width}le",
            "-ar",
            str(self.sample_rate),
            "-ac",
            str(self.channels),
        ]


FORMAT = AudioFormat()
