"""The cover image embedded in every track: the routine's title on a calm background.

Text is set in Roboto Bold (shipped inside this package in ``fonts/``, with its Apache-2.0
licence, so every install draws the same cover), which has every letter of the Latin, Greek
and Cyrillic alphabets. A character it has no glyph for (an emoji, a CJK ideograph) is left
out rather than drawn as a box. A long title is set smaller, down to a floor, over up to
four lines; what still does not fit is cut at a word and ends with "…".
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

__all__ = ["cover_lines", "cover_png"]

_SIZE = 600
_MARGIN = 50
_WIDTH = _SIZE - 2 * _MARGIN  # for text
_BACKGROUND = (29, 53, 87)
_ACCENT = (168, 218, 220)
_TEXT = (241, 250, 238)
_TITLE_TOP = 110
_TITLE_SIZES = (58, 52, 46, 40, 36)  # the largest at which the title fits is used
_TITLE_LINES = 4
_SUBTITLE_SIZE = 28
_SUBTITLE_LINES = 2
_ELLIPSIS = "…"


@cache
def _font_data() -> bytes:
    # read as bytes: the package may be installed where its files are no paths (a zip)
    return (resources.files("voiceguide.export") / "fonts" / "Roboto-Bold.ttf").read_bytes()


@cache
def _font(size: int) -> FreeTypeFont:
    from PIL import ImageFont

    # the basic layout: the same on every machine (no optional shaping library involved)
    return ImageFont.truetype(io.BytesIO(_font_data()), size, layout_engine=ImageFont.Layout.BASIC)


@cache
def _has_glyph(size: int, char: str) -> bool:
    """Whether the font draws ``char`` (a missing one comes out as the .notdef box)."""
    font = _font(size)
    mask = font.getmask(char)
    missing = font.getmask("\U0010fffd")  # a private-use code point no font maps
    return char.isspace() or (mask.size, bytes(mask)) != (missing.size, bytes(missing))


def _drawable(text: str, size: int) -> str:
    kept = "".join(ch if _has_glyph(size, ch) else " " for ch in text)
    return " ".join(kept.split())


def _wrap(text: str, size: int, lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap into lines at most the text width; a word wider than a line is
    broken. Returns the lines (at most ``lines``) and whether everything fitted."""
    font = _font(size)
    out: list[str] = []
    line = ""
    words = text.split(" ")
    while words:
        word = words.pop(0)
        trial = f"{line} {word}" if line else word
        if font.getlength(trial) <= _WIDTH:
            line = trial
            continue
        if line:
            out.append(line)
            line = ""
            words.insert(0, word)
        else:  # one word wider than a line: as much of it as fits
            cut = 1
            while cut < len(word) and font.getlength(word[: cut + 1]) <= _WIDTH:
                cut += 1
            out.append(word[:cut])
            if word[cut:]:
                words.insert(0, word[cut:])
        if len(out) > lines:
            return out[:lines], False
    if line:
        out.append(line)
    return out[:lines], len(out) <= lines


def _ellipsized(lines: list[str], size: int) -> list[str]:
    """The last line ends with "…", cut (at a word when it can be) until it fits."""
    font = _font(size)
    last = lines[-1]
    while last and font.getlength(last + _ELLIPSIS) > _WIDTH:
        shorter = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        last = shorter
    return [*lines[:-1], last.rstrip(" .,;:-–—") + _ELLIPSIS]


def cover_lines(
    text: str, sizes: tuple[int, ...] = _TITLE_SIZES, lines: int = _TITLE_LINES
) -> tuple[int, list[str]]:
    """The font size and the lines ``text`` is set in: the largest size at which it fits,
    or the smallest with the end cut and "…"."""
    for size in sizes:
        drawable = _drawable(text, size)
        wrapped, fitted = _wrap(drawable, size, lines)
        if fitted:
            return size, wrapped
    return sizes[-1], _ellipsized(wrapped, sizes[-1])


def cover_png(title: str, subtitle: str = "") -> bytes:
    """A square PNG with ``title`` and a smaller ``subtitle``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (_SIZE, _SIZE), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, _SIZE - 40, 52), fill=_ACCENT)
    size, lines = cover_lines(title)
    y = _TITLE_TOP
    for line in lines:
        draw.text((_MARGIN, y), line, font=_font(size), fill=_TEXT)
        y += round(size * 1.2)
    if subtitle:
        small, sub_lines = cover_lines(subtitle, (_SUBTITLE_SIZE,), _SUBTITLE_LINES)
        y += 20
        for line in sub_lines:
            draw.text((_MARGIN, y), line, font=_font(small), fill=_ACCENT)
            y += round(small * 1.3)
    draw.text((_MARGIN, _SIZE - 80), "voiceguide", font=_font(_SUBTITLE_SIZE), fill=_ACCENT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
