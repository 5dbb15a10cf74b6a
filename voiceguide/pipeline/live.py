"""The library function behind ``voiceguide play``: plan, then play live through the sound
device, with the terminal's controls attached.

When every phrase is cached the plan is made in a few milliseconds and is exactly
:func:`voiceguide.pipeline.core.plan`'s. When some are not, waiting for all of them would hold up
the first sound for seconds, so the plan comes in stages (:func:`plan_stages`): first the
phrases of the chapters up to where playback starts are synthesized, and playback starts on
that part of the timeline, which no later phrase can change (the compiler places events one
after another); the rest is synthesized behind it, and the final stage is again exactly
``pipeline.plan``'s timeline, the one export renders.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from voiceguide import pipeline
from voiceguide.errors import SettingsError
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.cues import Cue
from voiceguide.plan.settings import Settings, apply_settings
from voiceguide.plan.timeline import Timeline
from voiceguide.play.player import LivePlayback, PlanStage, Player, Status
from voiceguide.routine.model import Routine
from voiceguide.routine.text import did_you_mean
from voiceguide.sound.tones import CueCache
from voiceguide.speech.cache import PhraseCache

__all__ = ["Controls", "plan_stages", "play"]

Controls = Callable[[LivePlayback], AbstractContextManager[object]]
"""Attaches keys and a display to a playback for as long as it runs (``terminal.controls``)."""

_BOUND_FACTOR = 3  # a phrase not yet synthesized is taken to last at most this many times...
_BOUND_EXTRA_MS = 2_000  # ...the longest per character so far, plus this
_BACKGROUND_NICE = 10
_PROBE_MS = 10
_ABANDON_WAIT_S = 5.0


def play(
    routine: Routine, settings: Settings, cache: PhraseCache, *,
    start_exercise: str | None = None, player: Player | None = None,
    controls: Controls | None = None,
) -> Status:  # fmt: skip
    """Play the routine from the start (or from ``start_exercise``) to the end or until the
    listener stops it; returns where it ended."""
    ids = [e.id for e in routine.exercises]
    if start_exercise is not None and start_exercise not in ids:
        hint = did_you_mean(start_exercise, ids)
        raise SettingsError(
            f"--from {start_exercise}: no exercise '{start_exercise}' in routine "
            f"'{routine.name}'{hint}; exercises: {', '.join(ids)}"
        )
    if player is None:
        from voiceguide.play.device import SimpleaudioPlayer

        player = SimpleaudioPlayer()
    # open the device before any synthesis, so that a missing or busy one is said at once
    probe = bytearray(cache.fmt.frames(_PROBE_MS) * cache.fmt.frame_bytes)
    probe_handle = player.play(memoryview(probe), cache.fmt)
    cues = CueCache(cache.directory.parent, cache.fmt)
    warm = threading.Thread(target=_warm_cues, args=(cues,), daemon=True)
    warm.start()  # making a cue the first time takes a second: not while playing
    stages = plan_stages(routine, settings, cache, start_exercise)
    first = next(stages)
    warm.join()
    start_ms = 0
    if start_exercise is not None:
        start_ms = next(c.start_ms for c in first.timeline.chapters if c.exercise == start_exercise)
    playback = LivePlayback(first, cache.pcm, player, start_ms=start_ms, cues=cues)
    rest = None  # the thread that plans the rest, once the first sound is on its way
    if not first.final:
        rest = threading.Thread(target=_plan_rest, args=(stages, playback), daemon=True)
    try:
        with controls(playback) if controls is not None else contextlib.nullcontext():
            playback.run(on_start=rest.start if rest is not None else None)
    finally:
        if rest is not None and rest.is_alive():
            # playback ended while the rest was still being synthesized: stop that now (its
            # workers would go on writing into a folder that is removed on the way out)
            cache.synthesizer.cancel()
            rest.join(timeout=_ABANDON_WAIT_S)
    del probe_handle, probe
    return playback.status()


def plan_stages(
    routine: Routine, settings: Settings, cache: PhraseCache, start_exercise: str | None = None
) -> Iterator[PlanStage]:
    """The plan, complete if every phrase is cached, else in two stages (see the module)."""
    asked = _asked(lambda measure: compile_routine(routine, settings, measure))
    missing = {t for t in asked if not cache.path_for(t).exists()}
    if not missing or settings.fit_s is not None:  # (fitting needs every phrase's length)
        yield PlanStage.complete(pipeline.plan(routine, settings, cache))
        return
    # the chapters up to the start, with the settings' numbers already applied
    applied = apply_settings(routine, settings)
    ids = [e.id for e in applied.exercises]
    count = 0 if start_exercise is None else ids.index(start_exercise) + 1
    head = dataclasses.replace(applied, exercises=applied.exercises[:count])
    applied_settings = dataclasses.replace(settings, overrides=())
    first = _asked(lambda measure: compile_routine(head, applied_settings, measure))
    cache.ensure(first)
    known = (set(asked) - missing) | set(first)
    exact = compile_routine(head, applied_settings, cache.measure)
    yield _provisional(routine, settings, cache, exact, asked, known)
    yield PlanStage.complete(pipeline.plan(routine, settings, cache))


def _asked(compile_with: Callable[[Callable[[str], int]], object]) -> list[str]:
    """Every phrase a compile asks the length of, in order, repeats included."""
    asked: list[str] = []

    def record(text: str) -> int:
        asked.append(text)
        return 1

    compile_with(record)
    return asked


def _provisional(
    routine: Routine, settings: Settings, cache: PhraseCache, exact: Timeline,
    asked: list[str], known: set[str],
) -> PlanStage:  # fmt: skip
    """The timeline with the known phrases; final up to where it agrees with ``exact``, the
    timeline of the chapters whose phrases are all known (events after that still move)."""

    def measure(text: str) -> int:
        return cache.measure(text) if text in known else 1

    timeline = compile_routine(routine, settings, measure)
    ready = 0
    for ours, theirs in zip(timeline.events, exact.events, strict=False):
        if ours != theirs:
            break
        ready += 1
    per_char_ms = max((cache.measure(t) / max(1, len(t)) for t in known), default=100.0)
    unknown_ms = sum(
        _BOUND_FACTOR * per_char_ms * len(t) + _BOUND_EXTRA_MS for t in asked if t not in known
    )
    return PlanStage(timeline, ready, timeline.total_ms + round(unknown_ms))


def _plan_rest(stages: Iterator[PlanStage], playback: LivePlayback) -> None:
    # Synthesis behind playback must never starve the sound device's thread (an underrun is
    # a gap): this thread, and the synthesis processes it starts, yield the CPU to it. And
    # Ctrl-C is for the player (the main thread), not for those processes.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)
    with contextlib.suppress(AttributeError, OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for stage in stages:
            playback.offer(stage)
    except BaseException as error:  # the playback raises it, in its own thread
        playback.fail(error)


def _warm_cues(cues: CueCache) -> None:
    with contextlib.suppress(Exception):  # a real failure shows when rendering
        for cue in Cue:
            cues(cue)
