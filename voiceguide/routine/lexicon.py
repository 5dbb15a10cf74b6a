"""The pronunciation lexicon: a word, and how the speech engine should say it.

A routine (``lexicon:`` in its file) and the user's config (``[lexicon]``) can map a word to
a respelling (``piriformis = "pirri-formiss"``). It is applied to a phrase's text only on its
way to the speech engine; the timeline, the plan and the lyrics keep the real word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Lexicon", "lexicon_problem", "merge", "respell"]

Lexicon = tuple[tuple[str, str], ...]  # (word, respelling), matched whole and in any case

_WORD = re.compile(r"^[^\W\d_]+(?:['-][^\W\d_]+)*$")
_RESPELLING = re.compile(r"^[^\W\d_]+(?:[ '-]+[^\W\d_]+)*$")


def lexicon_problem(word: object, respelling: object) -> str | None:
    """What is wrong with one entry, or None."""
    if not isinstance(word, str) or not _WORD.match(word):
        return f"{word!r} is not one word (letters, with ' or - inside)"
    if not isinstance(respelling, str) or not _RESPELLING.match(respelling.strip()):
        return (
            f"'{word}': the respelling must be letters, spaces, dashes or apostrophes, "
            f"got {respelling!r}"
        )
    return None


def merge(*lexicons: Iterable[tuple[str, str]]) -> Lexicon:
    """Lexicons in order of precedence (a later one's word wins), as one."""
    merged: dict[str, tuple[str, str]] = {}
    for lexicon in lexicons:
        for word, respelling in lexicon:
            merged[word.lower()] = (word, respelling)
    return tuple(merged[key] for key in sorted(merged))


def respell(text: str, lexicon: Lexicon) -> str:
    """The text as the speech engine should get it: each lexicon word (whole, in any case)
    replaced by its respelling, capitalized when the word was."""
    if not lexicon:
        return text
    spelled = {word.lower(): respelling for word, respelling in lexicon}
    words = sorted(spelled, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w'-])(" + "|".join(map(re.escape, words)) + r")(?![\w'-])", re.IGNORECASE
    )

    def replace(match: re.Match[str]) -> str:
        found, respelling = match.group(0), spelled[match.group(0).lower()]
        return respelling[:1].upper() + respelling[1:] if found[:1].isupper() else respelling

    return pattern.sub(replace, text)
