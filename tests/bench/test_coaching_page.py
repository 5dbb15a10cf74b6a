"""docs/coaching.md is made from real exports' timed lyrics (python -m
voiceguide.bench.coaching_page): its reader and writer, and the page still says what the
routine says now, line for line and in order, at every level (a script changed without
making the page again fails here)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO, fake_measure
from voiceguide.bench.coaching_page import LEVELS, page, read_lyrics
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Speech
from voiceguide.routine.model import Routine

PAGE = REPO / "docs" / "coaching.md"
_SOUNDS = re.compile(r"^\[[a-z ]+\]$|^[123]$")


def _section(text: str, heading: str) -> list[str]:
    """The words of one section's lyrics (sounds and countdown blips left out)."""
    body = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = body.split("```text\n", 1)[1].split("```", 1)[0]
    said = [line.split("  ", 1)[1] for line in block.splitlines()]
    return [s for s in said if not _SOUNDS.match(s)]


@pytest.mark.parametrize(
    ("heading", "settings"),
    [
        *((level.capitalize(), Settings(verbosity=level)) for level in LEVELS),  # type: ignore[arg-type]
        ("Standard, short introduction", Settings(intro="short")),
    ],
)
def test_the_page_says_what_the_routine_says_now(
    routine: Routine, heading: str, settings: Settings
) -> None:
    timeline = compile_routine(routine, settings, fake_measure)
    said = [e.text for e in timeline.events if isinstance(e, Speech)]
    shown = _section(PAGE.read_text(encoding="utf-8"), heading)
    if settings.verbosity == "coach":  # where a reminder fits in a hold depends on lengths
        assert Counter(shown) == Counter(said)
    else:
        assert shown == said


def test_the_lyrics_are_read_with_their_times_and_written_as_a_table(tmp_path: Path) -> None:
    lrc = tmp_path / "x - full routine.lrc"
    lrc.write_text(
        "[ti:x]\n[length:1:05]\n[00:00.00]Title.\n[00:02.50]Lie on your back.\n[01:01.25][hold]\n",
        encoding="utf-8",
    )
    lyrics = read_lyrics(lrc, "standard", "voiceguide export")
    assert lyrics.length == "1:05"
    assert lyrics.lines == ((0.0, "Title."), (2.5, "Lie on your back."), (61.25, "[hold]"))
    text = page([lyrics], "Title.", "Lie on your back.", "made today")
    assert "| `voiceguide export` | 1:05 | 0:00.00 | 0:02.50 |" in text
    assert "\n 1:01.25  [hold]\n" in text
