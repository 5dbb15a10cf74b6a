"""The checks of a setting's value as typed (``--rate 150``, ``fit = "15m"``): each turns
the text into the value or raises a :class:`~voiceguide.errors.SettingsError` said of the
option (``--fit '1m': must be between ...``); the config file says the same of its key.
A value written back as typed (:func:`typed_number`, :func:`format_duration`) is here too.
Pure: values in, values out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from voiceguide.errors import SettingsError

__all__ = [
    "BED_LEVEL_DB",
    "BED_LEVEL_LIMITS_DB",
    "DEFAULT_BITRATE",
    "DEFAULT_RATE_WPM",
    "DEFAULT_VOICE",
    "INTROS",
    "PACES",
    "PACE_SCALES",
    "RATE_LIMITS_WPM",
    "VERBOSITIES",
    "Intro",
    "Pace",
    "Verbosity",
    "check_choice",
    "check_rate",
    "check_voice",
    "format_duration",
    "parse_bed",
    "parse_bed_level",
    "parse_bitrate",
    "parse_breath",
    "parse_duration",
    "parse_number",
    "quoted",
    "typed_number",
]

Verbosity = Literal["minimal", "standard", "coach"]
VERBOSITIES: tuple[Verbosity, ...] = ("minimal", "standard", "coach")
# full: why the routine, what to have ready, the safety note, each cue sound named and played;
# short (for a returning listener): the title, what to have ready, the safety note (the pain
# rule with it) and the cue sounds named in one line
Intro = Literal["full", "short"]
INTROS: tuple[Intro, ...] = ("full", "short")
# the time given to move (settling into a position, switching sides, each step's time to do
# what it said), scaled for a listener who moves slowly or quickly; holds, reps and rests
# keep their length (they are the exercise)
Pace = Literal["slow", "standard", "fast"]
PACES: tuple[Pace, ...] = ("slow", "standard", "fast")
PACE_SCALES: dict[Pace, float] = {"slow": 1.5, "standard": 1.0, "fast": 0.75}
DEFAULT_VOICE = "hibari:heart"  # a natural voice, inside its wheel (docs/voices.md)
# words a minute as a listener counts them: 145 (espeak-ng's own rate 131) gives a listener
# time to follow new movements (espeak-ng's rate 160 is 178, brisk for a first listen)
DEFAULT_RATE_WPM = 145
RATE_LIMITS_WPM = (80, 450)
BED_LEVEL_DB = -18.0  # the music bed in the quiet of a hold, relative to the speech (--bed-level)
BED_LEVEL_LIMITS_DB = (-40.0, -15.0)  # louder, holds would count in the tracks' loudness (BS.1770)

_DURATION = re.compile(
    r"(?:([0-9]+(?:\.[0-9]+)?)h)?(?:([0-9]+(?:\.[0-9]+)?)m)?(?:([0-9]+(?:\.[0-9]+)?)s?)?"
)
# A number as typed: ASCII digits only (float() would also take '²'-like digits of other
# scripts, '١٢', '1_000'), an exponent, or inf/nan (refused by range with a clear message).
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I
)
_MAX_NUMBER_CHARS = 64


def quoted(raw: str) -> str:
    """A value as typed, quoted for a message: at most 40 characters of it."""
    return repr(raw if len(raw) <= 40 else raw[:40] + "...")


def parse_number(text: str) -> float | None:
    """``text`` as a number, written with ASCII digits; None when it is not one."""
    text = text.strip()
    if len(text) > _MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        return None
    return float(text)


def parse_duration(raw: str, option: str = "--fit") -> float:
    """``"15m"``, ``"14m30s"``, ``"1h"``, ``"900"`` or ``"900s"`` -> seconds (1 minute-4 hours)."""
    text = raw.strip().lower().replace(" ", "")
    match = _DURATION.fullmatch(text) if len(text) <= _MAX_NUMBER_CHARS else None
    if not text or match is None or not any(match.groups()):
        raise SettingsError(f"{option} {quoted(raw)}: give a duration such as 15m, 14m30s or 900s")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 60 <= total <= 4 * 3600:
        raise SettingsError(f"{option} {quoted(raw)}: must be between 1 minute and 4 hours")
    return total


def parse_breath(raw: str) -> tuple[float, float]:
    """``"4-6"`` -> (4.0, 6.0): inhale and exhale seconds, each 2-15 s."""
    inhale, sep, exhale = raw.strip().partition("-")
    inhale_s = parse_number(inhale) if sep else None
    exhale_s = parse_number(exhale) if sep else None
    if inhale_s is None or exhale_s is None or not (2 <= inhale_s <= 15 and 2 <= exhale_s <= 15):
        raise SettingsError(
            f"--breath {quoted(raw)}: give inhale-exhale seconds, such as 4-6 (each 2 to 15 s)"
        )
    return inhale_s, exhale_s


DEFAULT_BITRATE = "96k"
_MP3_BITRATES_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


def parse_bitrate(raw: str) -> str:
    """ "96k" or "96" -> "96k"; only bitrates MP3 has at 44.1 kHz."""
    text = raw.strip().lower().removesuffix("k")
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or (
        int(text) not in _MP3_BITRATES_KBPS
    ):  # ASCII digits only: '²', '①' or '٩٦' are digits to str.isdigit(), not to int()
        allowed = ", ".join(f"{b}k" for b in _MP3_BITRATES_KBPS)
        raise SettingsError(f"--bitrate {quoted(raw)}: MP3 bitrates are {allowed}")
    return f"{int(text)}k"


def parse_bed(raw: str, base: Path | None = None) -> str:
    """``"pad"``, or a music file's path made absolute (relative to ``base``, else to the
    working folder; ``~`` is the home folder). Whether the file can be a bed is checked
    when it is opened (:func:`voiceguide.sound.bed.open_bed`)."""
    text = raw.strip()
    if text.lower() == "pad":
        return "pad"
    if not text or not text.isprintable():
        raise SettingsError(f"--bed {quoted(raw)}: give pad, a music file's path, or off")
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base or Path.cwd()) / path)


def parse_bed_level(raw: str) -> float:
    """``"-18"`` or ``"-18dB"`` -> -18.0: the bed in holds, in dB relative to the speech."""
    value = parse_number(raw.strip().lower().removesuffix("db"))
    low, high = BED_LEVEL_LIMITS_DB
    if value is None or not low <= value <= high:
        raise SettingsError(
            f"--bed-level {quoted(raw)}: give dB relative to the speech, between {low:g} and "
            f"{high:g} (default {BED_LEVEL_DB:g})"
        )
    return value


def check_choice(option: str, raw: str, choices: tuple[str, ...]) -> str:
    """``raw`` when it is one of ``choices`` (``--verbosity``, ``--intro``, ``--pace``)."""
    if raw not in choices:
        raise SettingsError(f"--{option} {raw!r}: must be one of {', '.join(choices)}")
    return raw


def check_rate(rate_wpm: int) -> int:
    """Words a minute, within :data:`RATE_LIMITS_WPM`."""
    low, high = RATE_LIMITS_WPM
    if isinstance(rate_wpm, bool) or not low <= rate_wpm <= high:
        raise SettingsError(f"--rate {rate_wpm}: must be between {low} and {high} words per minute")
    return rate_wpm


def check_voice(voice: str) -> str:
    """A voice id or a model's path, as text (which voices exist, the engine says)."""
    longest = 4096 if voice.lower().endswith(".onnx") else 64  # a model's path
    if not voice or not voice.isprintable() or len(voice) > longest:
        raise SettingsError(
            f"--voice {quoted(voice)}: not a voice id (such as {DEFAULT_VOICE} or "
            "gmw/en-us) nor the path of a .onnx model"
        )
    return voice


def typed_number(value: float) -> str:
    """A number as typed back: 30.0 -> "30", 22.25 -> "22.25" (every digit kept)."""
    return str(int(value)) if float(value).is_integer() else str(value)


def format_duration(seconds: float | None) -> str:
    """Seconds as ``--fit`` takes them: 900 -> "15m", 870 -> "14m30s", None -> "off"."""
    if seconds is None:
        return "off"
    minutes, rest = divmod(seconds, 60)
    if rest == 0:
        return f"{typed_number(minutes)}m"
    if not minutes:
        return f"{typed_number(rest)}s"
    return f"{typed_number(minutes)}m{typed_number(rest)}s"
