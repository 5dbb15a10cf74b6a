"""The library functions behind the commands: load, plan, export.

Each takes plain values and returns plain values; the CLI only parses and prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.export.encode import (
    ExportOptions,
    ExportResult,
    Progress,
    Track,
    export_timeline,
    export_track,
)
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.fit import fit
from voiceguide.plan.legend import legend_phrases, legend_timeline
from voiceguide.plan.preferences import Choices, Resolved, load_config, resolve
from voiceguide.plan.settings import DEFAULT_BITRATE, Settings, parse_bitrate
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.library import resolve_routine
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import Routine
from voiceguide.sound.tones import CueCache
from voiceguide.speech.base import Synthesizer
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.espeak import Pyttsx3Synthesizer

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from voiceguide.play.player import Clock, LivePlayback, Player, Status

    Controls = Callable[[LivePlayback], AbstractContextManager[object]]

__all__ = [
    "export",
    "export_legend",
    "legend",
    "load",
    "make_cache",
    "parse_settings",
    "plan",
    "play_legend",
    "prepare",
]


def load(routine: str | None) -> Routine:
    """A bundled routine by name, or a routine file by path (None: the default routine)."""
    return load_routine(resolve_routine(routine))


def prepare(routine: str | None, command: Choices) -> tuple[Routine, Resolved]:
    """The routine, and its settings from every source: the defaults, the routine's files,
    the config file (its top level, then the routine's table) and the command line."""
    config = load_config()
    loaded = load(routine)
    return loaded, resolve(loaded, command, config)


def legend(
    command: Choices, synthesizer: Synthesizer | None = None
) -> tuple[Timeline, PhraseCache, Resolved]:
    """The cue legend (every cue sound, named then played) with its phrases synthesized, in
    the voice and rate the config file and the command line choose."""
    prepared = resolve(None, command, load_config())
    cache = make_cache(prepared.settings, synthesizer)
    cache.ensure(legend_phrases())
    return legend_timeline(cache.measure), cache, prepared


def export_legend(command: Choices, out_path: Path) -> tuple[Timeline, Track]:
    """The cue legend as one MP3 at ``out_path``."""
    timeline, cache, prepared = legend(command)
    cues = CueCache(cache.directory.parent, cache.fmt)
    track = export_track(timeline, cache.pcm, out_path, prepared.bitrate, cues=cues)
    return timeline, track


def play_legend(
    command: Choices, controls: Controls | None = None, player: Player | None = None,
    clock: Clock | None = None, synthesizer: Synthesizer | None = None,
) -> Status:  # fmt: skip
    """The cue legend, played live on the sound device (or ``player``), with ``controls``
    (keys and a display) attached; returns where it ended."""
    from voiceguide.play.player import LivePlayback

    if player is None:  # before any synthesis: a missing player is said at once
        from voiceguide.play.device import SimpleaudioPlayer

        player = SimpleaudioPlayer()
    timeline, cache, _prepared = legend(command, synthesizer)
    cues = CueCache(cache.directory.parent, cache.fmt)
    playback = LivePlayback(timeline, cache.pcm, player, cues=cues, clock=clock)
    with controls(playback) if controls is not None else contextlib.nullcontext():
        playback.run()
    return playback.status()


def make_cache(settings: Settings, synthesizer: Synthesizer | None = None,
               cache_dir: Path | None = None) -> PhraseCache:  # fmt: skip
    synth = synthesizer or Pyttsx3Synthesizer(settings.voice, settings.rate_wpm)
    return PhraseCache(synth, cache_dir)


def plan(
    routine: Routine, settings: Settings, cache: PhraseCache, lengths_only: bool = False
) -> Timeline:
    """The timeline; phrases are synthesized into the cache (once) to know their lengths.

    A first pass with a stand-in ``measure`` collects every phrase the compiler will ask
    about (which phrases it asks about never depends on their lengths), so the missing ones
    are synthesized together, in parallel, before the real pass. With ``lengths_only`` the
    phrases' audio may still be in the making when this returns (see ``PhraseCache.ensure``;
    the caller closes the cache).
    """
    asked: list[str] = []

    def record(text: str) -> int:
        asked.append(text)
        return 1

    compile_routine(routine, dataclasses.replace(settings, fit_s=None), record)
    cache.ensure(asked, lengths_only=lengths_only)
    if settings.fit_s is None:
        return compile_routine(routine, settings, cache.measure)
    fitted = fit(routine, settings, cache.measure)
    timeline = compile_routine(routine, fitted.settings, cache.measure)
    described = {**settings.describe(), "fit_changes": list(fitted.changes)}
    return dataclasses.replace(timeline, settings=described)


def export(
    routine: Routine, settings: Settings, cache: PhraseCache, out_dir: Path,
    bitrate: str = DEFAULT_BITRATE, progress: Progress | None = None, as_zip: bool = False,
) -> tuple[Timeline, ExportResult]:  # fmt: skip
    """Plan, then render and encode the tracks, playlist and lyrics into ``out_dir``."""
    options = ExportOptions(
        out_dir=out_dir,
        bitrate=parse_bitrate(bitrate),
        as_zip=as_zip,
        album_label=settings.label(),
        artist=routine.author,
        comment=_comment(settings),
    )
    # the first phrases are encoded while the later ones are still being made
    try:
        timeline = plan(routine, settings, cache, lengths_only=True)
        cues = CueCache(cache.directory.parent, cache.fmt)
        result = export_timeline(timeline, cache.pcm, options, progress, cues=cues)
    except BaseException:
        cache.close(cancel=True)
        raise
    cache.close()
    return timeline, result


def parse_settings(
    overrides: Iterable[tuple[str, str]], voice: str | None = None, rate_wpm: int | None = None,
    verbosity: str = "standard", breath: str | None = None, fit_to: str | None = None,
) -> Settings:  # fmt: skip
    """Settings from ("hold", "45")-style pairs and option values as the command line gives
    them."""
    from voiceguide.plan.settings import parse_breath, parse_duration, parse_override

    parsed = tuple(parse_override(option, raw) for option, raw in overrides)
    settings = Settings(
        overrides=parsed,
        verbosity=verbosity,  # type: ignore[arg-type]  # checked by Settings
        breath_s=parse_breath(breath) if breath is not None else None,
        fit_s=parse_duration(fit_to) if fit_to is not None else None,
    )
    if voice is not None:
        settings = dataclasses.replace(settings, voice=voice)
    if rate_wpm is not None:
        settings = dataclasses.replace(settings, rate_wpm=rate_wpm)
    return settings


def _comment(settings: Settings) -> str:
    parts = [*settings.describe()["overrides"], f"voice {settings.voice}",
             f"rate {settings.rate_wpm} wpm"]  # fmt: skip
    return "voiceguide settings: " + (", ".join(parts))
