"""The pain check-ins as a picture (``history --plot``): every score by day as a dot, the
weekly average as a line, the days practised marked under the axis.

The chart is drawn once as a few shapes (:func:`pain_scene`) and written either as SVG
(plain text, no dependency) or as PNG (pillow, imported here only). It shows what was
entered, with no reading of it. Same trend, same bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape, quoteattr

from voiceguide.practice.pain import MAX_SCORE, PainTrend

__all__ = ["Shape", "pain_png", "pain_scene", "pain_svg"]

WIDTH, HEIGHT = 720, 420  # a phone's screen shows it whole, scaled to its width
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 20, 64, 340  # the plot area (y grows down)
_INK, _GRID, _DOT, _LINE, _MARK = "#222222", "#dddddd", "#1f6fb2", "#d2691e", "#2e8b57"
_PNG_SCALE = 2  # PNG pixels per SVG unit: sharp on a phone's screen


@dataclass(frozen=True)
class Shape:
    """One thing drawn: ``kind`` "line", "dot", "polyline", "mark" or "text"; ``points`` in
    chart units; ``data``: what it stands for (a day and a score), kept in the SVG."""

    kind: str
    points: tuple[tuple[float, float], ...]
    colour: str
    text: str = ""
    size: float = 0.0  # a dot's radius, a line's width, a text's height
    anchor: str = "start"  # text: "start", "middle" or "end"
    data: tuple[tuple[str, str], ...] = ()
    dashed: bool = False


def _x(index: float, days: int) -> float:
    step = (WIDTH - _LEFT - _RIGHT) / max(days, 1)
    return round(_LEFT + step * (index + 0.5), 2)


def _y(score: float) -> float:
    return round(_BOTTOM - (_BOTTOM - _TOP) * score / MAX_SCORE, 2)


def _title(trend: PainTrend) -> list[Shape]:
    first, last = trend.days[0].day, trend.days[-1].day
    span = f"{first:%d %b %Y} to {last:%d %b %Y}"
    return [
        Shape("text", ((_LEFT - 36, 26),), _INK, "Back pain as entered, 0 (no pain) to 10", 18),
        Shape("text", ((_LEFT - 36, 48),), _INK, f"{span}; {trend.summary()}", 12),
    ]


def pain_scene(trend: PainTrend) -> list[Shape]:
    """The chart as shapes, in drawing order."""
    days = len(trend.days)
    shapes = _title(trend)
    for score in range(0, MAX_SCORE + 1, 2):
        y = _y(score)
        shapes.append(Shape("line", ((_LEFT, y), (WIDTH - _RIGHT, y)), _GRID, size=1))
        shapes.append(Shape("text", ((_LEFT - 8, y + 4),), _INK, str(score), 12, "end"))
    shapes.append(Shape("line", ((_LEFT, _BOTTOM), (WIDTH - _RIGHT, _BOTTOM)), _INK, size=1.5))
    for i, day in enumerate(trend.days):
        if day.day.weekday() == 0:  # Mondays named under the axis
            x = _x(i, days)
            shapes.append(Shape("line", ((x, _BOTTOM), (x, _BOTTOM + 5)), _INK, size=1))
            shapes.append(
                Shape("text", ((x, _BOTTOM + 40),), _INK, f"{day.day:%d %b}", 12, "middle")
            )
        if day.practised:
            x = _x(i, days)
            shapes.append(
                Shape(
                    "mark",
                    ((x, _BOTTOM + 8), (x - 4, _BOTTOM + 16), (x + 4, _BOTTOM + 16)),
                    _MARK,
                    data=(("day", day.day.isoformat()),),
                )
            )
    first = trend.days[0].day
    weekly = [(_week_x(w, first, days), _y(a)) for w, a in trend.weekly]
    if len(weekly) > 1:
        shapes.append(Shape("polyline", tuple(weekly), _LINE, size=2.5, dashed=True))
    for x, y in weekly:
        shapes.append(Shape("dot", ((x, y),), _LINE, size=3))
    for i, day in enumerate(trend.days):
        for score in day.scores:
            shapes.append(
                Shape(
                    "dot",
                    ((_x(i, days), _y(score)),),
                    _DOT,
                    size=5,
                    data=(("day", day.day.isoformat()), ("score", str(score))),
                )
            )
    if not any(d.scores for d in trend.days):
        middle = ((_LEFT + WIDTH - _RIGHT) / 2, _y(MAX_SCORE / 2))
        shapes.append(Shape("text", (middle,), _INK, "No scores in these days", 16, "middle"))
    legend_y = HEIGHT - 22
    shapes += [
        Shape("dot", ((_LEFT + 4, legend_y - 4),), _DOT, size=5),
        Shape("text", ((_LEFT + 14, legend_y),), _INK, "a score", 12),
        Shape(
            "line",
            ((_LEFT + 90, legend_y - 4), (_LEFT + 120, legend_y - 4)),
            _LINE,
            size=2.5,
            dashed=True,
        ),
        Shape("text", ((_LEFT + 126, legend_y),), _INK, "weekly average", 12),
        Shape(
            "mark",
            (
                (_LEFT + 250, legend_y - 10),
                (_LEFT + 246, legend_y - 2),
                (_LEFT + 254, legend_y - 2),
            ),
            _MARK,
        ),
        Shape("text", ((_LEFT + 262, legend_y),), _INK, "a day practised", 12),
    ]
    return shapes


def _week_x(week: date, first: date, days: int) -> float:
    """The middle of the week's days that are in the chart."""
    start = max((week - first).days, 0)
    end = min((week - first).days + 6, days - 1)
    return _x((start + end) / 2, days)


def _svg_shape(shape: Shape) -> str:
    data = "".join(f" data-{k}={quoteattr(v)}" for k, v in shape.data)
    dash = ' stroke-dasharray="6 4"' if shape.dashed else ""
    if shape.kind == "text":
        ((x, y),) = shape.points
        return (
            f'<text x="{x:g}" y="{y:g}" font-size="{shape.size:g}" fill="{shape.colour}"'
            f' text-anchor="{_SVG_ANCHOR[shape.anchor]}">{escape(shape.text)}</text>'
        )
    if shape.kind == "dot":
        ((x, y),) = shape.points
        css = ' class="score"' if shape.data else ""
        return (
            f'<circle{css} cx="{x:g}" cy="{y:g}" r="{shape.size:g}" fill="{shape.colour}"{data}/>'
        )
    if shape.kind == "mark":
        points = " ".join(f"{x:g},{y:g}" for x, y in shape.points)
        css = ' class="session"' if shape.data else ""
        return f'<polygon{css} points="{points}" fill="{shape.colour}"{data}/>'
    points = " ".join(f"{x:g},{y:g}" for x, y in shape.points)
    css = ' class="weekly"' if shape.kind == "polyline" else ""
    return (
        f'<polyline{css} points="{points}" fill="none" stroke="{shape.colour}"'
        f' stroke-width="{shape.size:g}"{dash}/>'
    )


_SVG_ANCHOR = {"start": "start", "middle": "middle", "end": "end"}


def pain_svg(trend: PainTrend) -> str:
    """The chart as an SVG document (it scales to the width of its page)."""
    body = "\n".join(_svg_shape(s) for s in pain_scene(trend))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif">\n'
        f"<title>Back pain as entered</title>\n"
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>\n{body}\n</svg>\n'
    )


_PIL_ANCHOR = {"start": "ls", "middle": "ms", "end": "rs"}  # left/middle/right, baseline


def pain_png(trend: PainTrend) -> bytes:
    """The chart as a PNG, twice the SVG's size."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    k = _PNG_SCALE
    image = Image.new("RGB", (WIDTH * k, HEIGHT * k), "#ffffff")
    draw = ImageDraw.Draw(image)
    fonts: dict[float, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for shape in pain_scene(trend):
        points = [(x * k, y * k) for x, y in shape.points]
        if shape.kind == "text":
            font = fonts.get(shape.size)
            if font is None:
                font = fonts[shape.size] = ImageFont.load_default(size=shape.size * k)
            draw.text(
                points[0],
                shape.text,
                fill=shape.colour,
                font=font,
                anchor=_PIL_ANCHOR[shape.anchor],
            )
        elif shape.kind == "dot":
            (x, y), r = points[0], shape.size * k
            draw.ellipse((x - r, y - r, x + r, y + r), fill=shape.colour)
        elif shape.kind == "mark":
            draw.polygon(points, fill=shape.colour)
        elif shape.dashed:
            _dashed(draw, points, shape.colour, round(shape.size * k))
        else:
            draw.line(points, fill=shape.colour, width=max(1, round(shape.size * k)))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _dashed(draw: object, points: Sequence[tuple[float, float]], colour: str, width: int) -> None:
    """A dashed polyline (pillow draws only solid ones): 12 on, 8 off, along each segment."""
    from PIL import ImageDraw

    assert isinstance(draw, ImageDraw.ImageDraw)
    on, off = 12.0 * _PNG_SCALE / 2, 8.0 * _PNG_SCALE / 2
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        at = 0.0
        while at < length:
            end = min(at + on, length)
            a, b = at / length, end / length
            draw.line(
                (
                    (x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                    (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b),
                ),
                fill=colour,
                width=width,
            )
            at = end + off
