"""The simpleaudio sound output (ALSA on Linux); simpleaudio is imported only here.

simpleaudio's ``play_buffer`` keeps the buffer it is given and feeds it to ALSA in place,
from a thread of its own, with a fixed latency of 100 ms: it never reads more than that
ahead of the time elapsed since ``play_buffer`` returned (measured: content written 100 ms
or more ahead of the clock is always played as written). That is the contract
:class:`voiceguide.play.device.Player` asks for. ``stop()`` lets it finish the piece it is writing
and drain ALSA's buffer, so a stopped stream plays on for up to 200 ms; the engine puts
silence there first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from voiceguide.errors import DependencyMissing, PlaybackError
from voiceguide.sound.audio import AudioFormat

__all__ = ["SimpleaudioPlayer"]

_INSTALL_HINT = (
    "pip install 'voiceguide[play]' (it builds from source: sudo apt-get install "
    "libasound2-dev gcc python3-dev first)"
)
_EXPORT_HINT = "to listen without it, make MP3s with 'voiceguide export'"
# The simpleaudio module comes from simpleaudio-patched 1.0.5 on every Python: 1.0.4 (the
# last release of simpleaudio itself) allocates and frees with PyMem_Malloc/PyMem_Free from
# its playback thread, without the GIL, which Python 3.12 no longer tolerates (a crash each
# time a sound ends); 1.0.5 changes exactly those calls to PyMem_RawMalloc/PyMem_RawFree.


# ALSA's library prints its own lines ("ALSA lib confmisc.c:855:(parse_card) cannot find card
# '0'", eight of them with no sound card) on the terminal before simpleaudio raises; the
# error raised says the same in one line. Its handler is replaced by one that says nothing.
_ALSA_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
_quiet_handler: Any = None  # kept alive for as long as ALSA may call it


def _quiet_alsa() -> None:
    """Keep ALSA's own messages off the terminal (once per process; nothing where there is
    no ALSA library)."""
    global _quiet_handler
    if _quiet_handler is not None:
        return
    name = ctypes.util.find_library("asound")
    if name is None:
        return
    try:
        library = ctypes.CDLL(name)
        handler = _ALSA_HANDLER(lambda *_args: None)
        library.snd_lib_error_set_handler(handler)
    except (OSError, AttributeError):
        return
    _quiet_handler = handler


class _Handle:
    def __init__(self, play_object: Any) -> None:
        self._play_object = play_object

    def is_playing(self) -> bool:
        return bool(self._play_object.is_playing())

    def stop(self) -> None:
        self._play_object.stop()


class SimpleaudioPlayer:
    """Plays on ALSA's default device (PulseAudio or PipeWire through it, on most desktops)."""

    read_ahead_ms = 100  # simpleaudio's fixed ALSA latency (SA_LATENCY_US)

    def __init__(self) -> None:
        try:
            import simpleaudio
        except ImportError as error:
            raise DependencyMissing(
                f"live playback needs simpleaudio, which is not installed ({error}): "
                f"{_INSTALL_HINT}; {_EXPORT_HINT}"
            ) from None
        self._simpleaudio = simpleaudio
        _quiet_alsa()

    def play(self, buffer: memoryview, fmt: AudioFormat) -> _Handle:
        try:
            play_object = self._simpleaudio.play_buffer(
                buffer, fmt.channels, fmt.sample_width, fmt.sample_rate
            )
        except Exception as error:  # simpleaudio's SimpleaudioError, from ALSA
            raise PlaybackError(_describe(error)) from None
        return _Handle(play_object)


def _describe(error: Exception) -> str:
    """simpleaudio's 'Error opening PCM device. -- CODE: -2 -- MSG: No such file or
    directory' as one line saying what it means and what to do."""
    text = str(error)
    detail = text.split("-- MSG:", 1)[-1].strip() if "-- MSG:" in text else text
    if "busy" in text.lower():
        what = "the sound device is busy (another program is using it)"
    elif "opening" in text.lower():
        what = "no sound device could be opened"
    else:
        what = "the sound device failed"
    return f"{what} (ALSA: {detail}); {_EXPORT_HINT}"
