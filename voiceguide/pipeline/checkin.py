"""The pain check-in after a live session: the player says the timeline's question (a phrase
synthesized with the routine's), the terminal takes a score, the player says what it noted.

The asking is the caller's (``Ask``: the terminal's keys in ``play``, a stand-in in tests);
it returns None at once when nobody can answer, so a run with no terminal never waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from voiceguide.plan.timeline import CheckIn
from voiceguide.play import Player, PlayHandle
from voiceguide.speech.cache import PhraseCache

__all__ = ["ANSWER_WAIT_S", "Ask", "ask_pain"]

Ask = Callable[[float], int | None]
"""Waits at most so many seconds for a score, 0-10; None: skipped, or no answer."""

ANSWER_WAIT_S = 20.0  # then the check-in ends by itself, with no score
_POLL_S = 0.02
_TAIL_S = 2.0  # beyond a reply's own length, the most its end is waited for


def ask_pain(
    check_in: CheckIn,
    cache: PhraseCache,
    player: Player,
    ask: Ask,
    wait_s: float = ANSWER_WAIT_S,
) -> int | None:
    """Say the question, take the answer (keys count while it is said: an answer cuts it
    short), and say the score noted, or that there is none. Returns the score."""
    question = cache.pcm(check_in.question)
    handle = player.play(memoryview(question), cache.fmt)
    try:
        score = ask(wait_s)
    finally:
        handle.stop()
    _wait(handle, 0.5)
    reply = cache.pcm(check_in.skipped if score is None else check_in.noted[score])
    said = player.play(memoryview(reply), cache.fmt)
    _wait(said, len(reply) / (cache.fmt.frame_bytes * cache.fmt.sample_rate) + _TAIL_S)
    del question, reply  # (kept alive until here: the device reads them in place)
    return score


def _wait(handle: PlayHandle, most_s: float) -> None:
    end = time.monotonic() + most_s
    while handle.is_playing() and time.monotonic() < end:
        time.sleep(_POLL_S)
