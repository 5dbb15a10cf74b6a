"""The library function behind ``voiceguide play`` (and ``cues``): plan, then play live
through the sound device, with the terminal's controls attached. With phrases still to
synthesize, playback starts on the first stage of the plan (see :mod:`.planning`) and the
rest is planned behind it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from voiceguide.errors import SettingsError
from voiceguide.pipeline.cues import legend
from voiceguide.pipeline.planning import plan_stages
from voiceguide.pipeline.setup import bed_source, cue_cache
from voiceguide.plan.cues import Cue
from voiceguide.plan.preferences import Choices
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline
from voiceguide.play import Clock, LivePlayback, PlanStage, Player, Status
from voiceguide.routine.model import Routine
from voiceguide.routine.text import did_you_mean
from voiceguide.sound.bed import BedMix
from voiceguide.sound.tones import CueCache
from voiceguide.speech.base import Synthesizer
from voiceguide.speech.cache import PhraseCache

__all__ = ["Controls", "Listener", "play", "play_legend"]

Controls = Callable[[LivePlayback], AbstractContextManager[object]]
"""Attaches keys and a display to a playback for as long as it runs (``terminal.controls``)."""


class Listener(Protocol):
    """Follows a playback from the outside (the practice log): told each stage of the plan,
    and where playback is every :data:`LISTEN_S` and once more at the end. Called from
    other threads than the sound's; it must return at once and never raise."""

    def planned(self, timeline: Timeline) -> None: ...

    def heard(self, status: Status) -> None: ...


LISTEN_S = 0.25
_BACKGROUND_NICE = 10
_PROBE_MS = 10
_ABANDON_WAIT_S = 5.0


def play(
    routine: Routine,
    settings: Settings,
    cache: PhraseCache,
    *,
    start_exercise: str | None = None,
    player: Player | None = None,
    controls: Controls | None = None,
    listener: Listener | None = None,
) -> Status:
    """Play the routine from the start (or from ``start_exercise``) to the end or until the
    user stops it, with ``listener`` following it; returns where it ended."""
    ids = [e.id for e in routine.exercises]
    if start_exercise is not None and start_exercise not in ids:
        hint = did_you_mean(start_exercise, ids)
        raise SettingsError(
            f"--from {start_exercise}: no exercise '{start_exercise}' in routine "
            f"'{routine.name}'{hint}; exercises: {', '.join(ids)}"
        )
    if player is None:
        from voiceguide.play import SimpleaudioPlayer

        player = SimpleaudioPlayer()
    # open the device before any synthesis, so that a missing or busy one is said at once
    probe = bytearray(cache.fmt.frames(_PROBE_MS) * cache.fmt.frame_bytes)
    probe_handle = player.play(memoryview(probe), cache.fmt)
    bed = bed_source(settings, cache)
    cues = cue_cache(cache)
    warm = threading.Thread(target=_warm_cues, args=(cues,), daemon=True)
    warm.start()  # making a cue the first time is slow: not while playing
    stages = plan_stages(routine, settings, cache, start_exercise)
    first = next(stages)
    warm.join()
    start_ms = 0
    if start_exercise is not None:
        start_ms = next(c.start_ms for c in first.timeline.chapters if c.exercise == start_exercise)
    mix = BedMix(bed, first.timeline, settings.bed_level_db) if bed is not None else None
    playback = LivePlayback(first, cache.pcm, player, start_ms=start_ms, cues=cues, bed=mix)
    rest = None  # the thread that plans the rest, once the first sound is on its way
    if not first.final:
        rest = threading.Thread(target=_plan_rest, args=(stages, playback, listener), daemon=True)
    try:
        with (
            _listening(playback, first.timeline, listener),
            controls(playback) if controls is not None else contextlib.nullcontext(),
        ):
            playback.run(on_start=rest.start if rest is not None else None)
    finally:
        if rest is not None and rest.is_alive():
            # playback ended while the rest was still being synthesized: stop that now (its
            # workers would go on writing into a folder that is removed on the way out)
            cache.synthesizer.cancel()
            rest.join(timeout=_ABANDON_WAIT_S)
    del probe_handle, probe
    return playback.status()


def play_legend(
    command: Choices,
    controls: Controls | None = None,
    player: Player | None = None,
    clock: Clock | None = None,
    synthesizer: Synthesizer | None = None,
) -> Status:
    """The cue legend, played live on the sound device (or ``player``), with ``controls``
    (keys and a display) attached; returns where it ended."""
    if player is None:  # before any synthesis: a missing player is said at once
        from voiceguide.play import SimpleaudioPlayer

        player = SimpleaudioPlayer()
    timeline, cache, _prepared = legend(command, synthesizer)
    playback = LivePlayback(timeline, cache.pcm, player, cues=cue_cache(cache), clock=clock)
    with controls(playback) if controls is not None else contextlib.nullcontext():
        playback.run()
    return playback.status()


@contextlib.contextmanager
def _listening(
    playback: LivePlayback, timeline: Timeline, listener: Listener | None
) -> Iterator[None]:
    """Tell ``listener`` the plan, then where playback is, from a thread of its own."""
    if listener is None:
        yield
        return
    listener.planned(timeline)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(LISTEN_S):
            listener.heard(playback.status())

    watcher = threading.Thread(target=watch, name="voiceguide-listener", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=1.0)
        listener.heard(playback.status())


def _plan_rest(
    stages: Iterator[PlanStage], playback: LivePlayback, listener: Listener | None = None
) -> None:
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
            if listener is not None:
                listener.planned(stage.timeline)
    except BaseException as error:  # the playback raises it, in its own thread
        playback.fail(error)


def _warm_cues(cues: CueCache) -> None:
    with contextlib.suppress(Exception):  # a real failure shows when rendering
        for cue in Cue:
            cues(cue)
