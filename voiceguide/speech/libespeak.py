"""libespeak-ng through ctypes: only the calls voiceguide makes (speak_lib.h).

Synchronous synthesis into a callback, the voices, the rate, and where the library finds its
data. Our own binding, so that no other package's private module is imported; pyttsx3 (a
public engine on the same library) still lists the voices for ``voiceguide voices``. The
library is loaded on first use (:func:`load`), once per process: every later load of the
same file, pyttsx3's too, shares its state.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AUDIO_OUTPUT_SYNCHRONOUS",
    "CHARS_UTF8",
    "ENDPAUSE",
    "RATE",
    "LibEspeak",
    "load",
]

# where the library is, in the order tried: Linux (Debian's espeak-ng, a local build, the
# old espeak), then macOS
_LIBRARY_PATHS = (
    "libespeak-ng.so.1",
    "/usr/local/lib/libespeak-ng.so.1",
    "libespeak.so.1",
    "/opt/homebrew/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak.dylib",
)

AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: samples to the callback, Synth returns after
RATE = 1  # espeak_PARAMETER: words a minute (espeak-ng's own)
CHARS_UTF8 = 1  # espeak_Synth flags: the text is UTF-8
ENDPAUSE = 0x1000  # ... and a pause after the last clause
_POS_CHARACTER = 1
_CURRENT = 1  # espeak_GetParameter: the current value (0: the default)

SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
"""``int callback(short *wav, int numsamples, espeak_EVENT *events)``: 0 goes on."""


class _Voice(ctypes.Structure):
    """espeak_VOICE (only its identifier is read)."""

    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


def _prototype(dll: ctypes.CDLL, name: str, result: Any, *arguments: Any) -> Any:
    function = getattr(dll, name)
    function.restype = result
    function.argtypes = list(arguments)
    return function


@dataclass
class LibEspeak:
    """The loaded library, its calls typed."""

    dll: ctypes.CDLL
    # the callback's ctypes object, kept alive while the library may call it
    _callback: Any = field(default=None, repr=False)

    def initialize(self, output: int, buffer_ms: int = 0) -> int:
        """``espeak_Initialize`` with the default data path: the sample rate in Hz, or -1."""
        initialize = _prototype(
            self.dll,
            "espeak_Initialize",
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        )
        return int(initialize(output, buffer_ms, None, 0))

    def voice_ids(self) -> list[str]:
        """Every voice's identifier (``gmw/en-us``), as the library lists them."""
        list_voices = _prototype(
            self.dll,
            "espeak_ListVoices",
            ctypes.POINTER(ctypes.POINTER(_Voice)),
            ctypes.POINTER(_Voice),
        )
        found = list_voices(None)
        ids = []
        i = 0
        while found[i]:
            ids.append(found[i][0].identifier.decode("utf-8"))
            i += 1
        return ids

    def set_voice_by_name(self, name: str) -> int:
        """``espeak_SetVoiceByName``: 0 when the voice is set."""
        set_voice = _prototype(self.dll, "espeak_SetVoiceByName", ctypes.c_int, ctypes.c_char_p)
        return int(set_voice(name.encode("utf-8")))

    def set_parameter(self, parameter: int, value: int, relative: int = 0) -> int:
        set_parameter = _prototype(
            self.dll, "espeak_SetParameter", ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int
        )
        return int(set_parameter(parameter, value, relative))

    def current(self, parameter: int) -> int:
        """A parameter's current value (its default is another)."""
        get = _prototype(self.dll, "espeak_GetParameter", ctypes.c_int, ctypes.c_int, ctypes.c_int)
        return int(get(parameter, _CURRENT))

    def set_synth_callback(self, callback: Callable[[Any, int, Any], int]) -> None:
        """Where synthesized samples go (:data:`SynthCallback`)."""
        self._callback = SynthCallback(callback)
        _prototype(self.dll, "espeak_SetSynthCallback", None, SynthCallback)(self._callback)

    def synth(self, text: bytes, flags: int) -> int:
        """``espeak_Synth`` of the whole ``text`` from its start: 0 when it was spoken."""
        synth = _prototype(
            self.dll,
            "espeak_Synth",
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_long,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        )
        return int(synth(text, len(text) * 10, 0, _POS_CHARACTER, 0, flags, None, None))

    def data_folder(self) -> Path | None:
        """The data folder the library is about to use, found the way it finds it
        (``$ESPEAK_DATA_PATH``, ``~/espeak-ng-data``, the folder it was built with), asked
        without starting it; None for the old espeak, which cannot say."""
        try:
            self.reset_data_path()
            info = _prototype(
                self.dll, "espeak_Info", ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)
            )
        except AttributeError:
            return None
        found = ctypes.c_char_p()
        info(ctypes.byref(found))
        return Path(os.fsdecode(found.value or b""))

    def reset_data_path(self) -> None:
        """Look for the data where the environment says now (``espeak_ng_InitializePath``);
        AttributeError for the old espeak."""
        _prototype(self.dll, "espeak_ng_InitializePath", None, ctypes.c_char_p)(None)


@functools.cache
def load() -> LibEspeak:
    """The library, loaded; OSError naming what was tried when it is not installed."""
    errors = []
    for path in _LIBRARY_PATHS:
        try:
            return LibEspeak(ctypes.CDLL(path))
        except OSError as error:
            errors.append(str(error))
    raise OSError(f"libespeak-ng not found ({errors[0]})")
