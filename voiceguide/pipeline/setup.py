"""Where every command starts: the routine and its settings from every source, the phrase
and cue caches, the sound device."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import VoiceguideError
from voiceguide.pipeline.saved import config_path, load_config, load_kept
from voiceguide.plan.preferences import (
    Choices,
    Resolved,
    SettingSource,
    command_line,
    resolve,
)
from voiceguide.plan.settings import Settings
from voiceguide.routine.library import resolve_routine
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import Routine
from voiceguide.sound.bed import BedSource, open_bed
from voiceguide.sound.tones import CueCache
from voiceguide.speech.base import Synthesizer
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.voices import synthesizer_for
from voiceguide.speech.workers import EarlyWorkers, WorkerSynthesizer

if TYPE_CHECKING:
    from voiceguide.play import Player

__all__ = [
    "bed_source",
    "comment",
    "cue_cache",
    "default_player",
    "early_workers",
    "load",
    "make_cache",
    "parse_settings",
    "prepare",
    "returning",
]

RETURNING_SESSIONS = 3  # completed sessions of a routine after which its introduction is short


def load(routine: str | None) -> Routine:
    """A bundled routine by name, or a routine file by path (None: the default routine)."""
    return load_routine(resolve_routine(routine))


def prepare(routine: str | None, command: Choices) -> tuple[Routine, Resolved]:
    """The routine, and its settings from every source: the defaults, the routine's files,
    the config file (its top level, then the routine's table), the settings kept from the
    phone and the command line."""
    config = load_config()
    loaded = load(routine)
    kept = load_kept(loaded.name)
    return loaded, resolve(loaded, command, config, kept, returning(loaded), config_path())


def returning(routine: Routine) -> SettingSource | None:
    """The practice log as the reason for a short introduction, when it holds
    ``RETURNING_SESSIONS`` completed sessions of ``routine`` (None otherwise). A log that
    does not exist is not created; one that cannot be read counts as none (recording says
    what is wrong with it)."""
    from voiceguide.practice import Store, log_path

    path = log_path()
    if not path.is_file():
        return None
    try:
        with Store.open(path) as store:
            done = sum(s.completed for s in store.sessions(routine=routine.name))
    except VoiceguideError:
        return None
    if done < RETURNING_SESSIONS:
        return None
    return SettingSource("practice log", path, why=f"{done} completed sessions")


def early_workers() -> EarlyWorkers:
    """Speech workers started now, while the routine loads, for the first synthesis to take
    over (:func:`make_cache`); stopped when the context ends if none did."""
    return EarlyWorkers(1)


def make_cache(
    settings: Settings,
    synthesizer: Synthesizer | None = None,
    cache_dir: Path | None = None,
    early: EarlyWorkers | None = None,
) -> PhraseCache:
    """The phrase cache for these settings' voice and rate (``synthesizer``: another engine,
    a fake in tests), its first synthesis on the ``early`` workers."""
    synth = synthesizer or synthesizer_for(settings.voice, settings.rate_wpm, cache_dir)
    if early is not None and isinstance(synth, WorkerSynthesizer):
        synth.early = early
    return PhraseCache(synth, cache_dir, lexicon=settings.lexicon)


def cue_cache(phrases: PhraseCache) -> CueCache:
    """The cue sounds, kept beside the phrases in the same cache folder and format."""
    return CueCache(phrases.directory.parent, phrases.fmt)


def bed_source(settings: Settings, phrases: PhraseCache) -> BedSource | None:
    """The settings' music bed, opened (a music file decoded once into the cache folder)
    before anything is synthesized or written, so that a bad file is said at once."""
    if settings.bed is None:
        return None
    return open_bed(settings.bed, phrases.directory.parent / "beds", phrases.fmt)


def default_player() -> Player:
    """The sound device (simpleaudio), opened before any synthesis so that a missing or busy
    one is said at once."""
    from voiceguide.play import SimpleaudioPlayer

    return SimpleaudioPlayer()


def parse_settings(
    overrides: Iterable[tuple[str, str]],
    voice: str | None = None,
    rate_wpm: int | None = None,
    verbosity: str = "standard",
    breath: str | None = None,
    fit_to: str | None = None,
) -> Settings:
    """Settings from ("hold", "45")-style pairs and option values as the command line gives
    them, checked as the command line checks them (no other source)."""
    from voiceguide.plan.catalog import SETTINGS

    given = command_line(
        overrides, voice=voice, rate=rate_wpm, verbosity=verbosity, breath=breath, fit=fit_to
    )
    values = {
        s.attribute: getattr(given, s.attribute)
        for s in SETTINGS
        if s.renders and not s.per_exercise and getattr(given, s.attribute) not in (None, "off")
    }
    return Settings(overrides=given.overrides, **values)


def comment(settings: Settings) -> str:
    """The settings as the tags' comment says them."""
    parts = [
        *settings.describe()["overrides"],
        f"voice {settings.voice}",
        f"rate {settings.rate_wpm} wpm",
    ]
    if settings.bed:
        parts.append(f"music {settings.bed_name} at {settings.bed_level_db:g} dB")
    return "voiceguide settings: " + (", ".join(parts))
