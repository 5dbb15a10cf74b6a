"""The cover: a real font with every letter of the Latin, Greek and Cyrillic alphabets (no
boxes), characters it lacks left out, long titles set smaller and then cut with "…"."""

from __future__ import annotations

import io
import unicodedata

import pytest
from PIL import Image

from voiceguide.export import cover
from voiceguide.export.cover import cover_lines, cover_png

# every letter of the three alphabets, and the punctuation titles use
LATIN = "".join(chr(c) for c in range(0x41, 0x17F) if unicodedata.category(chr(c))[0] == "L")
GREEK = "".join(chr(c) for c in range(0x386, 0x3CF) if unicodedata.category(chr(c))[0] == "L")
CYRILLIC = "".join(chr(c) for c in range(0x400, 0x460) if unicodedata.category(chr(c))[0] == "L")
PUNCTUATION = "–—…'’“”«»&()!?,.:;-"


@pytest.mark.parametrize(
    "alphabet", [LATIN, GREEK, CYRILLIC, PUNCTUATION], ids=["latin", "greek", "cyrillic", "punct"]
)
def test_every_letter_has_a_glyph_of_its_own(alphabet: str) -> None:
    """Each character's drawing differs from the box drawn for a missing glyph (what the
    built-in bitmap font drew for "é", "ü" or any Cyrillic letter)."""
    missing = [ch for ch in alphabet if not cover._has_glyph(52, ch)]
    assert missing == [], missing
    assert not cover._has_glyph(52, "\U0001f9d8")  # an emoji: the font has none


def test_a_title_in_three_alphabets_keeps_every_letter_and_drops_what_the_font_lacks() -> None:
    title = "Étirements du matin für Rücken – гибкость 🧘 Ελληνικά"
    size, lines = cover_lines(title)
    assert size == max(cover._TITLE_SIZES)
    assert " ".join(lines) == "Étirements du matin für Rücken – гибкость Ελληνικά"


@pytest.mark.parametrize(
    "title",
    [
        "Утренняя растяжка спины и бёдер для тех, кто весь день сидит за компьютером " * 2,
        "Supercalifragilisticexpialidocious" * 4,
        "Morning hips " * 20,
    ],
)
def test_a_long_title_is_set_smaller_then_cut_with_an_ellipsis_and_always_fits(title: str) -> None:
    size, lines = cover_lines(title)
    assert size == min(cover._TITLE_SIZES)
    assert 1 < len(lines) <= cover._TITLE_LINES
    assert lines[-1].endswith("…") and not lines[-1].endswith(" …")
    for line in lines:
        assert cover._font(size).getlength(line) <= cover._WIDTH, line
    # everything before the "…" is the title's own beginning
    assert " ".join(lines)[:-1].replace(" ", "") in title.replace(" ", "")


def test_a_title_that_fits_smaller_is_shrunk_not_cut() -> None:
    title = "Gentle stretches for the hips, the lower back and the shoulders, every morning"
    size, lines = cover_lines(title)
    assert size < max(cover._TITLE_SIZES)
    assert " ".join(lines) == title and not lines[-1].endswith("…")


def test_the_cover_is_a_600_px_png_and_the_same_every_time() -> None:
    first = cover_png("Étirements — гибкость", "45 s holds")
    assert first == cover_png("Étirements — гибкость", "45 s holds")
    image = Image.open(io.BytesIO(first))
    assert image.format == "PNG" and image.size == (600, 600)
    # the title's area has text in it: light pixels on the dark background
    title_area = image.crop((40, 100, 560, 300)).convert("L")
    assert sum(title_area.histogram()[201:]) > 2000
