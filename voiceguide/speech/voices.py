"""The voices ``--voice`` takes, of every engine: what ``voiceguide voices`` lists, and the
synthesizer for a voice id.

espeak-ng's voices are read from its voice table here, in the calling process (synthesis
runs in worker processes); the neural voices are the Piper voices installed with the
``neural`` extra (any other Piper model is given by its path). pyttsx3 and piper are
imported only in their engine modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.files import read_regular
from voiceguide.plan.settings import DEFAULT_VOICE
from voiceguide.speech.base import Synthesizer

__all__ = [
    "Voice",
    "installed_voices",
    "neural_missing",
    "synthesizer_for",
    "voices_to_json",
]

ESPEAK = "espeak-ng"
PIPER = "piper"
HIBARI = "hibari"


# What each engine's voices weigh on the disk and under which licence they come (the
# engine's runtime; a Piper or hibari voice model is counted with its own file's size)
ESPEAK_SIZE = "13 MB"  # espeak-ng-data, shared by every espeak-ng voice
ESPEAK_LICENCE = "GPL-3.0+"
PIPER_LICENCE = "GPL-3.0+"  # piper-tts; the packaged voice's data set is CC0
HIBARI_LICENCE = "Apache-2.0"
# Piper's voice files do not say who speaks: the packaged voices' speakers, from their cards
PIPER_GENDERS = {"piper:en_US-joe-medium": "male"}
_ACCENTS = {"en-us": "American", "en-gb": "British"}


@dataclass(frozen=True)
class Voice:
    """One voice: its id (what ``--voice`` takes), language, name and engine; who speaks
    (gender, accent: "" when the engine does not say), its size on the disk and licence."""

    id: str
    language: str
    name: str
    engine: str = ESPEAK
    gender: str = ""
    accent: str = ""
    size: str = ESPEAK_SIZE
    licence: str = ESPEAK_LICENCE

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_VOICE


def synthesizer_for(voice: str, rate_wpm: int, cache_dir: Path | None = None) -> Synthesizer:
    """The engine that speaks ``voice`` at ``rate_wpm`` words a minute as a listener counts
    them: hibari for ``hibari:NAME``, Piper for ``piper:NAME`` and ``.onnx`` paths, espeak-ng
    for the rest."""
    from voiceguide.routine.text import did_you_mean
    from voiceguide.speech.cache import default_cache_dir
    from voiceguide.speech.hibari import HibariSynthesizer, bundled_voices, is_hibari_voice
    from voiceguide.speech.piper import PACKAGED_VOICES, PREFIX, PiperSynthesizer, is_piper_voice

    if is_hibari_voice(voice):
        return HibariSynthesizer(voice, rate_wpm)
    if is_piper_voice(voice):
        return PiperSynthesizer(voice, rate_wpm, cache_dir or default_cache_dir())
    neural = [PREFIX + name for name in PACKAGED_VOICES] + sorted(bundled_voices() or ())
    if "/" not in voice and did_you_mean(voice, neural):  # espeak-ng's ids all have a /
        raise SettingsError(
            f"--voice {voice!r}: no such voice{did_you_mean(voice, neural)}; "
            "'voiceguide voices' lists them"
        )
    from voiceguide.speech.espeak import Pyttsx3Synthesizer, espeak_rate_for

    return Pyttsx3Synthesizer(voice, espeak_rate_for(rate_wpm))


def _espeak_voices() -> Iterable[Any]:
    from voiceguide.speech.espeak import espeak_engine

    return list(espeak_engine().getProperty("voices"))


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.1f} MB" if size_bytes < 10e6 else f"{size_bytes / 1e6:.0f} MB"


def _accent(language: str, name: str = "") -> str:
    """An English voice's accent: from its name's brackets (espeak-ng's "English (America)"),
    else from its language code."""
    if "(" in name and name.endswith(")"):
        return name[name.index("(") + 1 : -1]
    return _ACCENTS.get(language.lower(), "")


def _neural_voices() -> list[Voice] | None:
    """The installed Piper voices, or None when the neural extra is not installed."""
    from voiceguide.speech.piper import packaged_voices

    found = packaged_voices()
    if found is None:
        return None
    voices = []
    for voice_id, files in found.items():
        try:
            config = json.loads(read_regular(files.config, 1 << 20))
            language = str(config["language"]["code"]).replace("_", "-").lower()
            quality = config.get("audio", {}).get("quality", "")
            name = f"{str(config.get('dataset', voice_id)).title()} (neural, {quality})"
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            language, name = "", voice_id
        try:
            size = _megabytes(files.model.stat().st_size)
        except OSError:
            size = ""
        voices.append(
            Voice(
                voice_id,
                language,
                name,
                PIPER,
                gender=PIPER_GENDERS.get(voice_id, ""),
                accent=_accent(language),
                size=size,
                licence=PIPER_LICENCE,
            )
        )
    return voices


def _hibari_voices() -> list[Voice]:
    from voiceguide.speech.hibari import bundled_voices

    return [
        Voice(
            v.id,
            v.language,
            f"{v.name.title()} (neural)",
            HIBARI,
            gender=v.gender.lower(),
            accent=v.accent,
            size=_megabytes(v.size_bytes),
            licence=HIBARI_LICENCE,
        )
        for v in (bundled_voices() or {}).values()
    ]


def neural_missing() -> str | None:
    """How to get the neural voices when they are not installed (else None)."""
    from voiceguide.speech.piper import INSTALL_HINT, packaged_voices

    if packaged_voices():
        return None
    return f"neural voices (Piper): not installed; {INSTALL_HINT}"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lstrip("\x05")  # old espeak: priority byte
    return str(value) if value is not None else ""


def installed_voices(
    language: str | None = None,
    engine_voices: Callable[[], Iterable[Any]] = _espeak_voices,
    neural_voices: Callable[[], list[Voice] | None] = _neural_voices,
    hibari_voices: Callable[[], list[Voice]] = _hibari_voices,
) -> list[Voice]:
    """The installed voices of every engine, sorted by language then id; with ``language``
    ("en", "en-gb") only those whose language is it or a variant of it."""
    espeak = {
        Voice(
            id=_text(v.id),
            language=_text(v.languages[0]) if v.languages else "",
            name=_text(v.name),
            gender=_text(getattr(v, "gender", None)).lower(),
            accent=_accent("", _text(v.name)),
        )
        for v in engine_voices()
    }
    found = espeak | set(neural_voices() or []) | set(hibari_voices())
    voices = sorted(found, key=lambda v: (v.language, v.id))
    if language is None:
        return voices
    wanted = language.strip().lower()
    chosen = [
        v
        for v in voices
        if v.language.lower() == wanted or v.language.lower().startswith(wanted + "-")
    ]
    if not chosen:
        raise SettingsError(
            f"--lang {language!r}: no installed voice speaks it; 'voiceguide voices' lists them all"
        )
    return chosen


def voices_to_json(voices: list[Voice], missing: str | None = None) -> dict[str, Any]:
    """``voiceguide voices --json`` (``missing``: how to get the neural voices)."""
    shown: dict[str, Any] = {
        "default": DEFAULT_VOICE,
        "voices": [
            {
                "id": v.id,
                "language": v.language,
                "name": v.name,
                "engine": v.engine,
                "gender": v.gender,
                "accent": v.accent,
                "size": v.size,
                "licence": v.licence,
                "default": v.is_default,
            }
            for v in voices
        ],
    }
    if missing is not None:
        shown["neural_missing"] = missing
    return shown
