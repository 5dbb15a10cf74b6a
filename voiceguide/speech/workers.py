"""Synthesis in worker processes, in parallel: the pool, the per-phrase time limit, cancel,
Ctrl-C handling, and the set-up every worker process does (whatever its engine).

An engine module subclasses :class:`WorkerSynthesizer`, naming the function that starts a
worker (``initializer``) and the one that speaks a phrase into a WAV (``speak``), both
importable at the top of a module (workers are spawned, not forked).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from voiceguide.errors import Interrupted, SynthesisError
from voiceguide.speech.base import Finisher, short

__all__ = ["WorkerSynthesizer", "start_worker", "wav_complete"]

SYNTH_TIMEOUT_S = 30.0  # per phrase; a hung engine is stopped after this
_CANCEL_POLL_S = 0.05  # how often a wait for a phrase looks for cancel()


class WorkerSynthesizer:
    """Speaks phrases in a pool of worker processes (one engine per process)."""

    engine_name: ClassVar[str] = "the speech engine"  # as error messages name it
    cost_s_per_word: ClassVar[float] = 0.0  # synthesis time per word on one core (estimates)
    start_allowance_s: ClassVar[float] = 0.0  # more time for the first phrase: workers start

    def __init__(
        self,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...],
        speak: Callable[[str, str], None],
        timeout_s: float = SYNTH_TIMEOUT_S,
        workers: int | None = None,
    ) -> None:
        """``initializer(*initargs)`` starts each worker; ``speak(text, wav_path)`` speaks
        one phrase into a WAV there. Both must be module-level functions."""
        self._initializer = initializer
        self._initargs = initargs
        self._speak = speak
        self.timeout_s = timeout_s
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._cancelled = threading.Event()
        self._pools: set[Any] = set()
        self._pools_lock = threading.Lock()

    def synthesize(
        self,
        jobs: Sequence[tuple[str, Path]],
        finish: Finisher | None = None,
        done: Finisher | None = None,
        spoken: Finisher | None = None,
    ) -> None:
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.workers, len(jobs))
        release = _ignore_ctrl_c()
        try:
            pool = context.Pool(workers, initializer=self._initializer, initargs=self._initargs)
        except BaseException:
            release()
            raise
        with self._pools_lock:
            self._pools.add(pool)
        try:
            release()  # a Ctrl-C pressed while the workers started arrives here
            # every phrase is spoken first (its length is then known), then finished
            speaking = [
                (text, path, pool.apply_async(self._speak, (text, str(path))))
                for text, path in jobs
            ]
            finishing = []
            for index, (text, path, result) in enumerate(speaking):
                self._wait(text, result, self.start_allowance_s if index == 0 else 0.0)
                if spoken is not None:
                    spoken(text, path)
                finishing.append(
                    (text, path, pool.apply_async(_worker_finish, (text, str(path), finish)))
                )
            for text, path, result in finishing:
                self._wait(text, result)
                if done is not None:
                    done(text, path)
            pool.close()
        finally:
            with self._pools_lock:
                self._pools.discard(pool)
            pool.terminate()
            pool.join()

    def _wait(self, text: str, result: Any, extra_s: float = 0.0) -> None:
        """The phrase's result (its error raised here), watching for cancel() meanwhile."""
        deadline = time.monotonic() + self.timeout_s + extra_s
        while True:
            if self._cancelled.is_set():
                raise Interrupted()
            try:
                result.get(timeout=min(_CANCEL_POLL_S, max(0.0, deadline - time.monotonic())))
                return
            except multiprocessing.TimeoutError:
                if time.monotonic() >= deadline:
                    raise SynthesisError(
                        f"{self.engine_name} hung on the phrase {short(text)} "
                        f"(no audio after {self.timeout_s + extra_s:g} s)"
                    ) from None

    def cancel(self) -> None:
        self._cancelled.set()
        with self._pools_lock:
            pools = list(self._pools)
        for pool in pools:
            pool.terminate()  # its workers stop now and start no others


def _ignore_ctrl_c() -> Callable[[], None]:
    """Hold Ctrl-C until the returned function is called, so that the processes started
    meanwhile start with it blocked (the signal mask survives exec; a worker then ignores
    it): Ctrl-C reaches the whole process group, and a worker still starting Python would
    die printing a KeyboardInterrupt traceback. A Ctrl-C pressed meanwhile is not lost: it
    is held (blocked in this thread), or noted when another thread of this process (the
    progress bar's) takes it, and raised here once the function is called."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # starting it unblocks Ctrl-C: start it first
    pressed: list[int] = []
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, lambda number, _frame: pressed.append(number))

    def release() -> None:
        signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one held here arrives now
        if pressed:
            signal.raise_signal(signal.SIGINT)  # one another thread took: as if now

    return release


def start_worker() -> None:
    """What every worker process does first, whatever its engine."""
    # Ctrl-C reaches the whole process group: the parent handles it and stops the workers
    # (a worker's own KeyboardInterrupt would only print a traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL) cannot stop its workers: they stop themselves.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    # An engine may print ("Audio saved to ..." from pyttsx3, sometimes from its own thread):
    # a worker's stdout must never reach the user's terminal or a --json pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    # Finishing needs numpy (0.15 s to import): imported meanwhile, while the engine speaks
    # (in its own thread, mostly without the GIL). It needs no scipy (a second to import).
    threading.Thread(target=_import_for_finishing, daemon=True).start()


def _import_for_finishing() -> None:
    with contextlib.suppress(Exception):  # a real failure shows when finishing
        import voiceguide.sound.dsp
        import voiceguide.sound.loudness  # noqa: F401


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _worker_finish(text: str, wav_path: str, finish: Finisher | None) -> None:
    if finish is not None:
        finish(text, Path(wav_path))


def wav_complete(path: Path) -> bool:
    """True once the WAV holds every frame its header announces (it may still be growing)."""
    try:
        with wave.open(str(path), "rb") as w:
            expected = w.getnframes() * w.getsampwidth() * w.getnchannels()
            return expected > 0 and len(w.readframes(w.getnframes())) == expected
    except (OSError, EOFError, wave.Error):
        return False
