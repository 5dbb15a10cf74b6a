"""Synthesis in worker processes, in parallel: the pool, the per-phrase time limit, cancel,
Ctrl-C handling, and the set-up every worker process does (whatever its engine).

An engine module subclasses :class:`WorkerSynthesizer`, naming the function that sets its
engine up in a worker (``setup``, with its arguments) and the one that speaks a phrase into
a WAV (``speak``), both importable at the top of a module (workers are spawned, not forked).
An engine may name the modules its workers import ahead (``preload``); the pool imports no
engine module of its own. A worker starts engine-agnostic and sets its engine up with its
first phrase, so workers can be started before the engine is known (:class:`EarlyWorkers`:
while the routine loads, on a core that is idle then). An engine of ``one_process`` speaks
in threads of a single worker instead: the first phrase's task hands it every phrase of the
synthesis.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import wave
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from voiceguide.errors import Interrupted, SynthesisError
from voiceguide.files import own_semaphores, sweep_semaphores
from voiceguide.speech.base import Finisher, short

__all__ = ["EarlyWorkers", "WorkerEngine", "WorkerSynthesizer", "start_worker", "wav_complete"]

WorkerEngine = tuple[Callable[..., None], tuple[Any, ...], Callable[[str, str], None]]
"""What a worker runs: its engine's set-up, the set-up's arguments, and its speak function."""

SYNTH_TIMEOUT_S = 30.0  # per phrase; a hung engine is stopped after this
_CANCEL_POLL_S = 0.05  # how often a wait for a phrase looks for cancel()


class WorkerSynthesizer:
    """Speaks phrases in a pool of worker processes (one engine per process)."""

    engine_name: ClassVar[str] = "the speech engine"  # as error messages name it
    cost_s_per_word: ClassVar[float] = 0.0  # synthesis time per word on one core (estimates)
    cost_s_per_phrase: ClassVar[float] = 0.0  # and per phrase (finishing), on one core
    # the CPU a worker takes to start: one more worker is started only for as much work
    worker_start_s: ClassVar[float] = 0.25
    start_allowance_s: ClassVar[float] = 0.0  # more time for the first phrase: workers start
    # one process speaks every phrase, in one thread per core: for an engine whose model and
    # lexicons are most of its memory (a second process would hold a second copy of them)
    # and which releases the GIL while it computes
    one_process: ClassVar[bool] = False
    # modules a worker this synthesizer starts imports ahead, in a thread, while it waits for
    # its first phrase (besides finishing's, which every worker imports ahead)
    preload: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        voice: str,
        rate_wpm: int,
        timeout_s: float = SYNTH_TIMEOUT_S,
        workers: int | None = None,
    ) -> None:
        """``voice`` and ``rate_wpm`` as the engine takes them; ``timeout_s`` for each
        phrase; at most ``workers`` processes (one per core, at most 4, by default)."""
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.timeout_s = timeout_s
        self.workers = workers or default_workers()
        # workers started ahead (:class:`EarlyWorkers`): the first synthesis takes them over
        self.early: EarlyWorkers | None = None
        self._cancelled = threading.Event()
        self._pools: set[Any] = set()
        self._pools_lock = threading.Lock()
        self.resolve()

    def resolve(self) -> None:
        """What an engine finds from its voice and rate once made (its files, its own
        settings), so that a voice it cannot speak is said at once; nothing by default."""

    def worker_engine(self) -> WorkerEngine:
        """``(setup, setup_args, speak)``: ``setup(*setup_args)`` sets the engine up in a
        worker, before its first phrase; ``speak(text, wav_path)`` speaks one phrase into a
        WAV there. Both module-level functions. Asked for after :meth:`before_synthesis`."""
        raise NotImplementedError

    def synthesize(
        self,
        jobs: Sequence[tuple[str, Path]],
        finish: Finisher | None = None,
        done: Finisher | None = None,
        spoken: Finisher | None = None,
    ) -> None:
        if not jobs:
            return
        self.before_synthesis()
        workers = self.workers_for(jobs)
        early, self.early = self.early, None
        pool = early.take() if early is not None and early.workers >= workers else None
        if early is not None and pool is None:
            early.close()
        if pool is None:
            release = _ignore_ctrl_c()
            try:
                pool = _start_pool(workers, self.preload)
            except BaseException:
                release()
                raise
        else:
            release = _nothing_held
        with self._pools_lock:
            self._pools.add(pool)
        try:
            release()  # a Ctrl-C pressed while the workers started arrives here
            # every phrase is spoken first (its length is then known), then finished
            engine = self.worker_engine()
            threads = self.threads_for(jobs)
            # one process: the first task brings every phrase, spoken ahead in its threads
            ahead = [(text, str(path)) for text, path in jobs] if threads > 1 else []
            speaking = [
                (
                    text,
                    path,
                    pool.apply_async(
                        _speak_in_worker,
                        (*engine, text, str(path), ahead if index == 0 else [], threads),
                    ),
                )
                for index, (text, path) in enumerate(jobs)
            ]
            finishing = []
            for index, (text, path, result) in enumerate(speaking):
                self._wait(text, result, self.start_allowance_s if index == 0 else 0.0)
                if spoken is not None:
                    spoken(text, path)
                finishing.append(
                    (
                        text,
                        path,
                        pool.apply_async(
                            _worker_finish,
                            (text, str(path), finish, ahead if index == 0 else []),
                        ),
                    )
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

    def before_synthesis(self) -> None:
        """What an engine checks or prepares once, here, before any worker starts (a missing
        engine is said in one line at once); nothing by default."""

    def workers_for(self, jobs: Sequence[tuple[str, Path]]) -> int:
        """How many worker processes to start for ``jobs``: one per core (at most
        ``workers``), but no more than there are phrases, nor than their work (estimated, on
        one core) covers the workers' start: a few short phrases are spoken by one worker.
        One, for an engine that speaks in threads of :attr:`one_process`."""
        if self.one_process:
            return 1
        work_s = sum(
            self.cost_s_per_phrase + self.cost_s_per_word * len(text.split()) for text, _ in jobs
        )
        worth = int(work_s // self.worker_start_s) if self.worker_start_s > 0 else len(jobs)
        return max(1, min(self.workers, len(jobs), worth))

    def threads_for(self, jobs: Sequence[tuple[str, Path]]) -> int:
        """How many phrases a worker process speaks at once: one, or for an engine of
        :attr:`one_process`, one per core (a thread costs nothing to start)."""
        return max(1, min(self.workers, len(jobs))) if self.one_process else 1

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


def default_workers() -> int:
    """How many worker processes synthesize at once: one per core, at most 4."""
    return min(4, os.cpu_count() or 1)


def _start_pool(workers: int, preload: tuple[str, ...] = ()) -> Any:
    """A pool of ``workers`` engine-agnostic worker processes, each importing ``preload``
    ahead (its semaphores named as this process's own, and those of killed runs swept
    first)."""
    own_semaphores()
    sweep_semaphores()
    spawn = multiprocessing.get_context("spawn")
    return spawn.Pool(workers, initializer=start_worker, initargs=(preload,))


def _nothing_held() -> None:
    pass


class EarlyWorkers:
    """Worker processes started before anyone knows whether a phrase needs speaking: while
    the routine loads, on a core that is idle then (starting a worker takes a noticeable
    share of a warm export's CPU). The first synthesis takes them over
    (:meth:`WorkerSynthesizer.synthesize`); :meth:`close` stops them if none did, as when
    every phrase was in the cache.

    They are started from a thread of their own, in which Ctrl-C is blocked, so they start
    with it blocked (the signal mask survives exec: a worker still starting Python cannot
    die of it); the main thread takes Ctrl-C as always. Use it as a context manager."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._pool: Any = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._start, daemon=True, name="voiceguide-early")
        self._thread.start()

    def _start(self) -> None:
        from multiprocessing import resource_tracker

        try:
            resource_tracker.ensure_running()  # it unblocks Ctrl-C in this thread: first
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            pool = _start_pool(self.workers)
        except Exception:  # the synthesis then starts workers of its own
            return
        with self._lock:
            if not self._closed:
                self._pool, pool = pool, None
        if pool is not None:
            pool.terminate()

    def take(self) -> Any:
        """The pool of workers (once started), for the caller to run and terminate; None
        when they could not be started or were taken or closed."""
        self._thread.join()
        with self._lock:
            pool, self._pool = self._pool, None
        return pool

    def close(self) -> None:
        """Stop the workers, unless they were taken. Waits for their start to end first: a
        worker whose parent went away while it started would print a traceback (it reads
        what to run from its parent)."""
        with self._lock:
            self._closed = True
        self._thread.join()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
            pool.join()

    def __enter__(self) -> EarlyWorkers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


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


def start_worker(preload: tuple[str, ...] = ()) -> None:
    """What every worker process does first, whatever its engine (it sets its engine up
    with its first phrase); ``preload``: the modules its engine asks to import ahead."""
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
    # logging's fork handlers come in pairs (lock before, unlock after): imported by the
    # import thread in the middle of a fork (espeak-ng's worker forks a phrase), the unlock
    # alone ran and printed an error
    import logging  # noqa: F401

    # Finishing, which needs numpy (slow to import), and what the engine names: imported
    # meanwhile (in a thread of its own, mostly without the GIL), before or while the engine
    # speaks.
    threading.Thread(target=_import_ahead, args=(preload,), daemon=True).start()


def _import_ahead(preload: tuple[str, ...]) -> None:
    with contextlib.suppress(Exception):  # a real failure shows when speaking or finishing
        import soxr  # noqa: F401

        import voiceguide.sound.dsp
        import voiceguide.sound.loudness  # noqa: F401

        for module in preload:
            importlib.import_module(module)


_engine: tuple[Callable[..., None], tuple[Any, ...]] | None = None  # this worker's engine
# phrases being spoken and finished ahead, in threads, by their WAV's path (one_process)
_speaking: dict[str, Future[None]] = {}
_finishing: dict[str, Future[None]] = {}
_threads: ThreadPoolExecutor | None = None


def _speak_in_worker(
    setup: Callable[..., None],
    setup_args: tuple[Any, ...],
    speak: Callable[[str, str], None],
    text: str,
    wav_path: str,
    ahead: Sequence[tuple[str, str]] = (),
    threads: int = 1,
) -> None:
    """One phrase, in a worker: its engine set up first, with the worker's first phrase. A
    worker serves one synthesizer (its pool ends with the synthesis). The first phrase may
    bring every phrase of the synthesis (``ahead``): they are spoken in ``threads`` threads,
    in order, and each phrase's own task waits for its turn's result."""
    global _engine, _threads
    if _engine is None:
        setup(*setup_args)
        _engine = (setup, setup_args)
    elif _engine != (setup, setup_args):
        raise SynthesisError("a speech worker was given a second engine (a bug in voiceguide)")
    if ahead:
        _threads = ThreadPoolExecutor(threads, thread_name_prefix="voiceguide-speak")
        for later_text, later_path in ahead:
            _speaking[later_path] = _threads.submit(speak, later_text, later_path)
    spoken = _speaking.get(wav_path)
    if spoken is None:
        speak(text, wav_path)
    else:
        spoken.result()


def _exit_with(parent_sentinel: int) -> None:
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


def _worker_finish(
    text: str, wav_path: str, finish: Finisher | None, ahead: Sequence[tuple[str, str]] = ()
) -> None:
    """Finish one phrase; with ``ahead`` (the first phrase's task, in one process), every
    phrase is finished in the threads that spoke them, each once it is spoken (they were
    all given to the threads before: none waits for a phrase not yet taken)."""
    if finish is None:
        return
    if ahead and _threads is not None:
        for later_text, later_path in ahead:
            _finishing[later_path] = _threads.submit(_finish_spoken, later_text, later_path, finish)
    finished = _finishing.pop(wav_path, None)
    if finished is None:
        finish(text, Path(wav_path))
    else:
        finished.result()


def _finish_spoken(text: str, wav_path: str, finish: Finisher) -> None:
    spoken = _speaking.get(wav_path)
    if spoken is not None:
        spoken.result()
    finish(text, Path(wav_path))


def wav_complete(path: Path) -> bool:
    """True once the WAV holds every frame its header announces (it may still be growing)."""
    try:
        with wave.open(str(path), "rb") as w:
            expected = w.getnframes() * w.getsampwidth() * w.getnchannels()
            return expected > 0 and len(w.readframes(w.getnframes())) == expected
    except (OSError, EOFError, wave.Error):
        return False
