"""LAME in-process (``lameenc``), and the encoder worker: a process of its own that reads
PCM on its standard input and writes the MP3 frames into a file, one per core at once
(``python -m voiceguide.export.lame OUT KBPS SAMPLE_RATE CHANNELS``).

The worker writes bare frames (no header frame, no tags): the stream's header is written
when the frames are joined. It ignores Ctrl-C: its parent stops it (a worker stopping
first would turn an interruption into an encoder failure). It exits 0 when its input ends
and it has written every frame, else 1 with one line on its standard error.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voiceguide.sound.audio import AudioFormat

__all__ = ["QUALITY", "main", "new_encoder"]

# LAME's own command-line default (q5, "good quality"): the quality ffmpeg's encodes had
QUALITY = 5
_READ_BYTES = 1 << 16


def new_encoder(fmt: AudioFormat, kbps: int) -> Any:
    """A LAME encoder for PCM in ``fmt`` at a constant ``kbps``, its messages silenced."""
    return _encoder(fmt.sample_rate, fmt.channels, kbps)


def _encoder(sample_rate: int, channels: int, kbps: int) -> Any:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(channels)
    encoder.set_quality(QUALITY)
    encoder.silence()
    return encoder


def main(args: list[str]) -> int:
    """The worker: ``args`` are OUT KBPS SAMPLE_RATE CHANNELS."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out, kbps, sample_rate, channels = args[0], int(args[1]), int(args[2]), int(args[3])
    whole = 2 * channels  # bytes of one sample of every channel
    try:
        encoder = _encoder(sample_rate, channels, kbps)
        source = sys.stdin.buffer
        left = b""
        with open(out, "wb") as handle:
            while chunk := source.read(_READ_BYTES):
                data = left + chunk
                cut = len(data) - len(data) % whole
                left = data[cut:]
                if cut:
                    handle.write(encoder.encode(data[:cut]))
            handle.write(encoder.flush())
    except OSError as error:
        print(error.strerror or error, file=sys.stderr)
        return 1
    except Exception as error:  # said in one line to the parent
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
