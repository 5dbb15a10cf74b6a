"""The cover image embedded in every track: the routine's title on a calm background."""

from __future__ import annotations

import io
import textwrap

__all__ = ["cover_png"]

_SIZE = 600
_BACKGROUND = (29, 53, 87)
_ACCENT = (168, 218, 220)
_TEXT = (241, 250, 238)


def cover_png(title: str, subtitle: str = "") -> bytes:
    """A square PNG with ``title`` (wrapped) and a smaller ``subtitle``."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (_SIZE, _SIZE), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, _SIZE - 40, 52), fill=_ACCENT)
    title_font = ImageFont.load_default(size=54)
    small_font = ImageFont.load_default(size=28)
    y = 110
    for line in textwrap.wrap(title, width=18)[:5]:
        draw.text((50, y), line, font=title_font, fill=_TEXT)
        y += 66
    if subtitle:
        for line in textwrap.wrap(subtitle, width=34)[:3]:
            draw.text((50, y + 20), line, font=small_font, fill=_ACCENT)
            y += 36
    draw.text((50, _SIZE - 80), "voiceguide", font=small_font, fill=_ACCENT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
