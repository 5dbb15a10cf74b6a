"""A fake clock and a fake sound device for fast, exact tests of the playback engine.

The fake device behaves like simpleaudio: it reads each buffer in place, in order, up to
``read_ahead_ms`` ahead of the time since ``play()``; a stopped stream reads one more piece
(as simpleaudio finishes the piece it is writing) and then falls silent. What it read is
what a listener hears, placed at the time it was played.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.play import Command
from voiceguide.sound.audio import FORMAT, AudioFormat


class FakeClock:
    """Time moves only when the engine sleeps or waits; scripted messages arrive on time."""

    def __init__(self, limit_s: float = 3_600.0) -> None:
        self.t = 0.0
        self.limit_s = limit_s
        self.script: list[tuple[float, Any]] = []
        self.devices: list[FakePlayer] = []
        self.waits = 0  # how often the engine waited (its wake-ups)

    def at(self, t: float, message: Any) -> None:
        """Deliver ``message`` (a Command, a PlanStage or an exception) at time ``t``, or
        call it then if it is a function."""
        self.script.append((t, message))
        self.script.sort(key=lambda item: item[0])

    def now(self) -> float:
        return self.t

    def _advance(self, t: float) -> None:
        if t > self.limit_s:
            raise AssertionError(f"the engine waited past {self.limit_s} s of fake time")
        probes = [item for item in self.script if callable(item[1]) and item[0] <= t]
        for item in probes:
            self.script.remove(item)
            self._move(item[0])
            item[1]()
        self._move(t)

    def _move(self, t: float) -> None:
        self.t = max(self.t, t)
        for device in self.devices:
            device.advance(self.t)

    def sleep(self, seconds: float) -> None:
        self._advance(self.t + max(0.0, seconds))

    def wait(self, inbox: queue.Queue[Any], timeout_s: float) -> Any:
        self.waits += 1
        try:
            return inbox.get_nowait()
        except queue.Empty:
            pass
        deadline = self.t + max(timeout_s, 0.0)
        due = [item for item in self.script if not callable(item[1]) and item[0] <= deadline]
        if due:
            self.script.remove(due[0])
            at, message = due[0]
            self._advance(at)
            return (message, at) if isinstance(message, Command) else message
        self._advance(deadline)
        return None


class FakeHandle:
    def __init__(self, device: FakePlayer, buffer: memoryview, t0: float) -> None:
        self.device = device
        self.buffer: memoryview | None = buffer
        self.t0 = t0
        self.read = bytearray()
        self.stopped_at: float | None = None
        self.limit = len(buffer)
        self.done_at: float | None = None
        self.fail_at: float | None = None  # the device "breaks" at this time

    def advance(self, now: float) -> None:
        if self.buffer is None:
            return
        fmt = self.device.fmt
        elapsed = now - self.t0 + self.device.read_ahead_ms / 1000
        upto = min(self.limit, int(elapsed * fmt.sample_rate) * fmt.frame_bytes)
        if upto > len(self.read):
            self.read += self.buffer[len(self.read) : upto]
        end = self.t0 + len(self.read) / fmt.frame_bytes / fmt.sample_rate
        if self.fail_at is not None and now >= self.fail_at:
            self.done_at = now
        elif len(self.read) >= self.limit and now >= end + 0.1:
            self.done_at = max(end, self.stopped_at or 0.0)
        if self.done_at is not None:
            self.buffer = None  # the device lets go of the buffer

    def is_playing(self) -> bool:
        self.advance(self.device.clock.t)
        return self.done_at is None

    def stop(self) -> None:
        fmt = self.device.fmt
        now = self.device.clock.t
        self.advance(now)
        if self.stopped_at is None:
            self.stopped_at = now
            piece = fmt.frames(self.device.read_ahead_ms) * fmt.frame_bytes
            self.limit = min(self.limit, len(self.read) + piece)
            self.advance(now + self.device.read_ahead_ms / 1000)


class FakePlayer:
    read_ahead_ms = 100

    def __init__(self, clock: FakeClock, fmt: AudioFormat = FORMAT) -> None:
        self.clock = clock
        self.fmt = fmt
        self.handles: list[FakeHandle] = []
        clock.devices.append(self)

    def play(self, buffer: memoryview, fmt: AudioFormat) -> FakeHandle:
        assert fmt == self.fmt
        handle = FakeHandle(self, buffer, self.clock.t)
        self.handles.append(handle)
        handle.advance(self.clock.t)
        return handle

    def advance(self, now: float) -> None:
        for handle in self.handles:
            handle.advance(now)

    def heard(self) -> np.ndarray:
        """Everything played, mixed, from time 0 (int32 samples, mono)."""
        rate = self.fmt.sample_rate
        ends = [round(h.t0 * rate) + len(h.read) // 2 for h in self.handles]
        out = np.zeros(max(ends, default=0), dtype=np.int32)
        for handle in self.handles:
            start = round(handle.t0 * rate)
            data = np.frombuffer(bytes(handle.read), dtype="<i2")
            out[start : start + len(data)] += data
        return out


TINY_ROUTINE = {
    "tiny.routine.yaml": """\
title: Tiny
intro: A short routine for tests.
exercises:
  - stretch
  - squeeze
closing: Done.
chapter_gap_s: 0.5
""",
    "stretch.yaml": """\
title: Stretch
kind: hold
sides: [left, right]
hold_s: 5
rounds: 1
rest_s: 0
settle_s: 1
switch_s: 1
setup: Lie on your back.
side_setup: "{Side} side."
hold_cue: Hold it.
after: Release.
""",
    "squeeze.yaml": """\
title: Squeeze
kind: reps
reps: 2
sets: 2
work_s: 2
release_s: 1
rest_s: 1
settle_s: 1
setup: A ball between the knees.
""",
}


def write_tiny_routine(folder: Path, **changes: str) -> Path:
    """A short routine (two exercises, two sides, two sets) in ``folder``; returns its file.
    ``changes`` replace whole files by name (without ``.yaml``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TINY_ROUTINE.items():
        key = name.removesuffix(".yaml")
        (folder / name).write_text(changes.get(key, text), encoding="utf-8")
    return folder / "tiny.routine.yaml"
