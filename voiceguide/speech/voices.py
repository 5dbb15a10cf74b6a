"""The speech engine's voices: what ``voiceguide voices`` lists.

Synthesis runs in worker processes (pyttsx3's engine is a per-process singleton whose rate
is fixed by the first phrase); listing the voices only reads the engine's voice table, so
it is done here, in the calling process. pyttsx3 is imported only inside
:func:`installed_voices`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from voiceguide.errors import SettingsError
from voiceguide.plan.settings import DEFAULT_VOICE

__all__ = ["Voice", "installed_voices", "voices_to_json"]


@dataclass(frozen=True)
class Voice:
    """One espeak-ng voice: its id (what ``--voice`` takes), language and name."""

    id: str
    language: str
    name: str

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_VOICE


def _espeak_voices() -> Iterable[Any]:
    from voiceguide.speech.espeak import espeak_engine

    return list(espeak_engine().getProperty("voices"))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lstrip("\x05")  # old espeak: priority byte
    return str(value) if value is not None else ""


def installed_voices(
    language: str | None = None, engine_voices: Callable[[], Iterable[Any]] = _espeak_voices
) -> list[Voice]:
    """The installed voices, sorted by language then id; with ``language`` ("en", "en-gb")
    only those whose language is it or a variant of it."""
    voices = sorted(
        {
            Voice(
                id=_text(v.id),
                language=_text(v.languages[0]) if v.languages else "",
                name=_text(v.name),
            )
            for v in engine_voices()
        },
        key=lambda v: (v.language, v.id),
    )
    if language is None:
        return voices
    wanted = language.strip().lower()
    chosen = [v for v in voices if v.language.lower() == wanted
              or v.language.lower().startswith(wanted + "-")]  # fmt: skip
    if not chosen:
        raise SettingsError(
            f"--lang {language!r}: no installed voice speaks it; 'voiceguide voices' lists them all"
        )
    return chosen


def voices_to_json(voices: list[Voice]) -> dict[str, Any]:
    """``voiceguide voices --json``."""
    return {
        "default": DEFAULT_VOICE,
        "voices": [
            {"id": v.id, "language": v.language, "name": v.name, "default": v.is_default}
            for v in voices
        ],
    }
