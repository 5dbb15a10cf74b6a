"""The pain check-ins as a terminal chart: one column a day for eight weeks (60 columns, so
it reads on 80), a bar of 0-10 in half rows, the days practised marked under it. Block
characters and colour where the terminal has them, plain ASCII otherwise."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from voiceguide.practice import PainTrend

__all__ = ["pain_lines"]

ROWS = 5  # each row two points: a full block is 2, a half block 1
_BLOCKS = {True: ("█", "▄", "┤", "─", "•", "┼"), False: ("#", "+", "|", "-", "*", "+")}


def _unicode(console: Console) -> bool:
    return console.encoding.lower().replace("-", "").startswith("utf")


def pain_lines(trend: PainTrend, console: Console) -> list[Text]:
    """The chart (nothing when no score falls in its days) and the one-line summary."""
    summary = Text("Pain: ")
    summary.append(trend.summary())
    if not any(d.scores for d in trend.days):
        return [summary]
    full, half, tick, axis, session, corner = _BLOCKS[_unicode(console)]
    values = [None if d.average is None else int(d.average + 0.5) for d in trend.days]
    lines = [Text("Back pain as entered, 0 (no pain) to 10, by day:", style="bold")]
    for row in range(ROWS, 0, -1):
        line = Text(f"{2 * row:>2} {tick}", style="dim")
        cells = "".join(
            " " if v is None or v < 2 * row - 1 else (full if v >= 2 * row else half)
            for v in values
        )
        line.append(cells, style="cyan")
        lines.append(line)
    base = Text(f" 0 {corner}", style="dim")
    for v in values:
        base.append("0" if v == 0 else axis, style="cyan" if v == 0 else "dim")
    lines.append(base)
    marks = Text("   ", style="dim")
    marks.append(" " + "".join(session if d.practised else " " for d in trend.days))
    marks.append(f"  {session} practised", style="dim")
    lines.append(marks)
    labels = [" "] * len(trend.days)
    for i, d in enumerate(trend.days):
        text = d.day.strftime("%d %b")
        if d.day.weekday() == 0 and i + len(text) <= len(labels):
            labels[i : i + len(text)] = list(text)
    lines.append(Text("    " + "".join(labels).rstrip(), style="dim"))
    return [*lines, summary]
