"""Recording a session as it plays, without ever holding up the player.

A :class:`Recorder` is told the plan (:meth:`~Recorder.planned`) and what the player says
(:meth:`~Recorder.heard`) from any thread; a thread of its own opens the log and writes: the
session when it starts, each exercise as its state changes, a heartbeat every
:data:`HEARTBEAT_S` (how far it got), and the end. Any problem with the log (locked,
read-only, damaged...) stops the recording, not the session: :meth:`~Recorder.close` returns
it as one line for the player to print.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from voiceguide.errors import PracticeLogError
from voiceguide.practice.coverage import ExerciseState, Outline, Tracker
from voiceguide.practice.records import NewSession
from voiceguide.practice.store import Store
from voiceguide.practice.streaks import Clock, Moment, moment_of, system_clock

__all__ = ["HEARTBEAT_S", "SessionInfo", "SessionRecorder"]

HEARTBEAT_S = 10.0  # how far the session got is written at least this often
CLOSE_WAIT_S = 3.0  # at the end, how long the player waits for the last write


@dataclass(frozen=True)
class SessionInfo:
    """The routine being played, as the log names it."""

    routine: str
    title: str
    routine_path: str | None = None
    start_exercise: str | None = None


_Stop = object()


class SessionRecorder:
    """Records one session into the log opened by ``open_store`` (in its own thread)."""

    def __init__(
        self,
        info: SessionInfo,
        open_store: Callable[[], Store],
        *,
        clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.info = info
        self._open_store = open_store
        self._clock = clock
        self._monotonic = monotonic
        self._inbox: queue.Queue[object] = queue.Queue()
        self.problem: str | None = None
        self._started: Moment | None = None
        self.session_id: int | None = None
        self.tracker: Tracker | None = None
        self._thread = threading.Thread(target=self._run, name="voiceguide-log", daemon=True)
        self._thread.start()

    # ---- any thread

    def planned(self, outline: Outline) -> None:
        """The plan (again for each later stage of it); the session starts with the first."""
        if self._started is None:
            self._started = moment_of(self._clock())
        self._inbox.put(outline)

    def heard(self, state: str, position_ms: int) -> None:
        """The player's state and position now."""
        self._inbox.put((state, position_ms, self._monotonic()))

    def close(self, wait_s: float = CLOSE_WAIT_S) -> str | None:
        """Write the end and stop; returns the problem that stopped the recording, if any."""
        self._inbox.put(_Stop)
        self._thread.join(timeout=wait_s)
        if self._thread.is_alive() and self.problem is None:
            self.problem = (
                f"practice log: still busy after {wait_s:g} s; this session's end "
                "may not be recorded"
            )
        return self.problem

    # ---- the recording thread

    def _run(self) -> None:
        store: Store | None = None
        try:
            store = self._open_store()
            store.repair(self._clock().timestamp())
            self._record(store)
        except PracticeLogError as error:
            self.problem = f"{error}; this session was not recorded"
            self._drain()
        except Exception as error:  # a bug here must not end the session either
            self.problem = f"practice log: {type(error).__name__}: {error}"
            self._drain()
        finally:
            if store is not None:
                store.close()

    def _drain(self) -> None:
        while self._inbox.get() is not _Stop:
            pass

    def _record(self, store: Store) -> None:
        tracker: Tracker | None = None
        written: list[ExerciseState] = []
        last_write = self._monotonic()
        while True:
            timeout = max(0.05, HEARTBEAT_S - (self._monotonic() - last_write))
            try:
                message = self._inbox.get(timeout=timeout)
            except queue.Empty:
                message = None
            stop = message is _Stop
            replanned = False
            if isinstance(message, Outline):
                if tracker is None:
                    tracker = self.tracker = Tracker(message)
                    self.session_id = store.begin(self._new(message))
                    written = tracker.states()
                    last_write = self._monotonic()
                    continue
                tracker.replan(message)
                replanned = True
            elif isinstance(message, tuple) and tracker is not None:
                tracker.feed(*message)
            if tracker is None or self.session_id is None:
                if stop:
                    return
                continue
            states = tracker.states()
            due = self._monotonic() - last_write >= HEARTBEAT_S
            if stop or tracker.ended or states != written or due or replanned:
                self._write(
                    store,
                    tracker,
                    states,
                    final=stop or tracker.ended is not None,
                    replanned=replanned,
                )
                written, last_write = states, self._monotonic()
            if stop or tracker.ended:
                if not stop:
                    self._drain()
                return

    def _new(self, outline: Outline) -> NewSession:
        started = self._started or moment_of(self._clock())
        return NewSession(
            routine=self.info.routine,
            title=self.info.title,
            started=started,
            planned_ms=outline.total_ms,
            settings=outline.settings,
            exercises=tuple((p.exercise, p.title) for p in outline.parts),
            routine_path=self.info.routine_path,
            start_exercise=self.info.start_exercise,
        )

    def _write(
        self,
        store: Store,
        tracker: Tracker,
        states: list[ExerciseState],
        final: bool,
        replanned: bool,
    ) -> None:
        assert self.session_id is not None
        if final and tracker.ended is None:  # the player went away without saying
            tracker.feed("stopped", tracker.position_ms, self._monotonic())
            states = tracker.states()
        status = "playing" if tracker.ended is None else tracker.ended
        parts = tracker.outline.parts
        store.update(
            self.session_id,
            self._clock().timestamp(),
            tracker.position_ms,
            tracker.heard_ms(),
            [(s, tracker.heard_ms(p)) for s, p in zip(states, parts, strict=True)],
            status=status,
            completed=tracker.completed,
            planned_ms=tracker.outline.total_ms if replanned or final else None,
            settings=tracker.outline.settings if replanned else None,
        )
