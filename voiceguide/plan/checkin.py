"""The pain check-in's words: what a live play asks after the closing and what it says back.

They are phrases like the routine's: the compiler puts them on the timeline
(:attr:`Timeline.check_in`) and measures them, so planning synthesizes them with the rest and
the player only plays them. They say what was entered, never what it means.
"""

from __future__ import annotations

from voiceguide.plan.builder import Measure
from voiceguide.plan.timeline import CheckIn

__all__ = ["QUESTION", "check_in"]

QUESTION = (
    "How does your back feel now, from 0, no pain, to 10? Press a number key, or Enter to skip."
)
_NOTED = "Noted: {score}."
_SKIPPED = "No score this time."
_MAX_SCORE = 10  # the practice log's scale (practice.pain.MAX_SCORE; plan does not import it)


def check_in(measure: Measure) -> CheckIn:
    """The check-in, its phrases measured (which has them synthesized when planning)."""
    asked = CheckIn(
        question=QUESTION,
        noted=tuple(_NOTED.format(score=s) for s in range(_MAX_SCORE + 1)),
        skipped=_SKIPPED,
    )
    for text in asked.phrases():
        measure(text)
    return asked
