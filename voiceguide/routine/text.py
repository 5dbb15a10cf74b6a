"""Small text helpers every stage shares: what the speech engine may be given, the
"did you mean" of an unknown name, and times as a listener reads them (m:ss)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["clock", "did_you_mean", "speakable"]


def speakable(text: str) -> str:
    """The text as the engine should get it: markup-like input is stripped, not interpreted."""
    text = re.sub(r"<[^<>]*>", " ", text)  # SSML-like tags
    text = text.replace("[[", " ").replace("]]", " ")  # espeak phoneme input
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if any(ch.isalnum() for ch in text) else ""


def did_you_mean(word: str, choices: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or "" when none is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=n)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def clock(ms: int) -> str:
    """Milliseconds as m:ss (or h:mm:ss), rounded to the second."""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
