"""What live playback needs from the outside: a sound device that plays a buffer it reads
in place (:class:`Player`), and a clock (:class:`Clock`; a fake one in tests)."""

from __future__ import annotations

import queue
import time
from typing import TYPE_CHECKING, Protocol

from voiceguide.sound.audio import AudioFormat

if TYPE_CHECKING:
    from voiceguide.play.state import Message

__all__ = ["Clock", "PlayHandle", "Player", "SystemClock"]


class PlayHandle(Protocol):
    """One buffer being played."""

    def is_playing(self) -> bool:
        """False once the device has played (or dropped) everything it will play."""
        ...

    def stop(self) -> None:
        """Stop soon: the device plays at most what it has already read."""
        ...


class Player(Protocol):
    """A sound device that plays a buffer it reads while playing.

    The contract the engine relies on: the device reads the buffer in place, in order, never
    more than ``read_ahead_ms`` ahead of the time elapsed since :meth:`play` returned, and
    keeps a reference to it until :meth:`PlayHandle.is_playing` is False.
    """

    @property
    def read_ahead_ms(self) -> int: ...

    def play(self, buffer: memoryview, fmt: AudioFormat) -> PlayHandle:
        """Start playing; raises :class:`~voiceguide.errors.PlaybackError` if it cannot."""
        ...


class Clock(Protocol):
    """Time, and waiting for messages (a fake in tests)."""

    def now(self) -> float:
        """Seconds, monotonic."""
        ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, inbox: queue.Queue[Message], timeout_s: float) -> Message | None:
        """The next message, or None after ``timeout_s``."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, inbox: queue.Queue[Message], timeout_s: float) -> Message | None:
        try:
            return inbox.get(timeout=max(timeout_s, 0.001))
        except queue.Empty:
            return None
