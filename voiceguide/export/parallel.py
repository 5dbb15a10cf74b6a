"""Encoders run at once: one per core, each fed its own stream of PCM by a thread of its
own (what each is fed, and how their frames are joined: :mod:`.pieces`, :mod:`.frames`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

__all__ = ["encode_at_once"]


class PcmEncoder(Protocol):
    """An MP3 encoder process fed PCM (:class:`voiceguide.export.encoder.Encoder`)."""

    path: Path

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def kill(self) -> None: ...


def encode_at_once(
    feeds: Sequence[Callable[[], Iterable[bytes]]],
    open_encoder: Callable[[int], PcmEncoder],
    frame_bytes: int,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Run an encoder per feed at once (``open_encoder(i)`` fed ``feeds[i]()``), and return
    their files. ``progress`` gets the samples fed so far. On any failure every encoder is
    killed and the first error raised."""
    encoders: list[PcmEncoder] = []
    try:
        for index in range(len(feeds)):
            encoders.append(open_encoder(index))
    except BaseException:
        for encoder in encoders:
            encoder.kill()
        raise
    done = [0] * len(feeds)
    errors: list[BaseException] = []
    failed = threading.Event()
    changed = threading.Condition()

    def feed(index: int) -> None:
        encoder = encoders[index]
        try:
            for chunk in feeds[index]():
                if failed.is_set():
                    return
                encoder.write(chunk)
                with changed:
                    done[index] += len(chunk) // frame_bytes
                    changed.notify_all()
            encoder.close()
        except BaseException as error:  # raised again in the calling thread
            with changed:
                errors.append(error)
                failed.set()
                changed.notify_all()
        finally:
            with changed:
                done[index] = -1 - done[index]  # finished (negative): see below
                changed.notify_all()

    threads = [threading.Thread(target=feed, args=(i,), daemon=True) for i in range(len(feeds))]
    try:
        for thread in threads:
            thread.start()
        while True:
            with changed:
                changed.wait(0.1)
                running = not failed.is_set() and any(d >= 0 for d in done)
                so_far = sum(d if d >= 0 else -1 - d for d in done)
            if progress is not None:
                progress(so_far)
            if not running:
                break
        if errors:
            raise errors[0]
    except BaseException:
        failed.set()
        for encoder in encoders:
            encoder.kill()  # a feeding thread then stops at its next write
        raise
    return [encoder.path for encoder in encoders]
