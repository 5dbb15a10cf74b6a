"""Planning with real speech: the phrases a plan needs are synthesized first (in parallel,
only the missing ones) so the compiler knows their lengths.

When every phrase is cached the plan is made in a few milliseconds. When some are not and
playback should start soon, :func:`plan_stages` gives the plan in stages: first the phrases
of the chapters up to where playback starts are synthesized, and playback starts on that
part of the timeline, which no later phrase can change (the compiler places events one
after another); the rest is synthesized behind it, and the final stage is exactly
:func:`plan`'s timeline, the one export renders. The very first stage is smaller still: the
phrases before the start (their lengths place it) and the first few phrases played.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import partial

from voiceguide.errors import VoiceguideError
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.fit import fit
from voiceguide.plan.length import check_length
from voiceguide.plan.settings import Settings, apply_settings
from voiceguide.plan.timeline import Speech, Timeline
from voiceguide.plan.validate import estimate_ms
from voiceguide.play import PlanStage
from voiceguide.routine.model import Routine
from voiceguide.speech.base import SynthesisProgress
from voiceguide.speech.cache import PhraseCache

__all__ = ["asked_phrases", "check_estimate", "plan", "plan_as_saved", "plan_stages"]

_BOUND_FACTOR = 3  # a phrase not yet synthesized is taken to last at most this many times...
_BOUND_EXTRA_MS = 2_000  # ...the longest per character so far, plus this
_OPENING_PHRASES = 3  # spoken first when playback starts cold: it plays while the rest comes


def asked_phrases(routine: Routine, settings: Settings) -> list[str]:
    """Every phrase the compiler asks the length of, in order, repeats included (which
    phrases it asks about never depends on their lengths)."""
    asked: list[str] = []

    def record(text: str) -> int:
        asked.append(text)
        return 1

    compile_routine(routine, settings, record)
    return asked


def check_estimate(routine: Routine, settings: Settings) -> None:
    """Refuse (SettingsError) a plan too long to make, from its estimated length, before
    anything is synthesized."""
    check_length(
        compile_routine(routine, settings, partial(estimate_ms, rate_wpm=settings.rate_wpm)),
        settings,
    )


def plan(
    routine: Routine, settings: Settings, cache: PhraseCache, lengths_only: bool = False
) -> Timeline:
    """The timeline; phrases are synthesized into the cache (once) to know their lengths.

    A first pass with a stand-in ``measure`` collects every phrase the compiler will ask
    about (which phrases it asks about never depends on their lengths), so the missing ones
    are synthesized together, in parallel, before the real pass. With ``lengths_only`` the
    phrases' audio may still be in the making when this returns (see ``PhraseCache.ensure``;
    the caller closes the cache).
    """
    if settings.fit_s is None:  # a fit is shorter than the limit
        check_estimate(routine, settings)
    return _planned(routine, settings, cache, lengths_only)


def plan_as_saved(routine: str, progress: SynthesisProgress | None = None) -> Timeline:
    """The timeline ``voiceguide plan ROUTINE`` shows (no options: the settings of every
    other source), what ``validate`` says the total of: one computation, so the two agree.
    ``progress`` is told of the phrases synthesized on the way."""
    from voiceguide.pipeline.setup import make_cache, prepare
    from voiceguide.plan.preferences import command_line

    loaded, prepared = prepare(routine, command_line())
    cache = make_cache(prepared.settings)
    cache.progress = progress
    try:
        return plan(loaded, prepared.settings, cache)
    finally:
        cache.close()


def _planned(
    routine: Routine, settings: Settings, cache: PhraseCache, lengths_only: bool = False
) -> Timeline:
    """:func:`plan` once its estimated length was checked."""
    asked = asked_phrases(routine, dataclasses.replace(settings, fit_s=None))
    if settings.fit_s is not None:  # the fit may choose the short introduction
        asked += asked_phrases(routine, dataclasses.replace(settings, fit_s=None, intro="short"))
    cache.ensure(asked, lengths_only=lengths_only)
    if settings.fit_s is None:
        timeline = compile_routine(routine, settings, cache.measure)
        check_length(timeline, settings)
        return timeline
    known = set(asked)

    def search(text: str) -> int:
        """Lengths for the fit's search: a phrase with a number not said yet is timed as
        long as its reference (see ``Builder.say_template``): the search synthesizes nothing."""
        return cache.measure(text) if text in known else 1

    fitted = fit(routine, settings, search)
    cache.ensure(asked_phrases(routine, fitted.settings), lengths_only=lengths_only)
    timeline = compile_routine(routine, fitted.settings, cache.measure)
    return dataclasses.replace(timeline, settings=settings, fit_changes=tuple(fitted.changes))


def plan_stages(
    routine: Routine, settings: Settings, cache: PhraseCache, start_exercise: str | None = None
) -> Iterator[PlanStage]:
    """The plan, complete if every phrase is cached, else in stages (see the module)."""
    asked = asked_phrases(routine, settings)
    if settings.fit_s is None:
        check_estimate(routine, settings)
    missing = {t for t in asked if not cache.path_for(t).exists()}
    if not missing or settings.fit_s is not None:  # (fitting needs every phrase's length)
        yield PlanStage.complete(_planned(routine, settings, cache))
        return
    # the chapters up to the start, with the settings' numbers already applied
    applied = apply_settings(routine, settings)
    ids = [e.id for e in applied.exercises]
    count = 0 if start_exercise is None else ids.index(start_exercise) + 1
    head = dataclasses.replace(applied, exercises=applied.exercises[:count])
    applied_settings = dataclasses.replace(settings, overrides=())
    first = asked_phrases(head, applied_settings)
    # the introduction names what every exercise needs and plays every cue the routine uses:
    # its words are the whole routine's, not only those of the chapters up to the start
    rough = compile_routine(routine, settings, lambda _text: 1)
    intro = rough.chapters[0]
    first += [e.text for e in rough.events[: intro.end_event] if isinstance(e, Speech)]
    cached = set(asked) - missing
    # the first sound sooner: the phrases before where playback starts (their lengths place
    # it) and the first few it plays; the rest of those chapters is spoken while they play
    at = next((c.first_event for c in rough.chapters if c.exercise == start_exercise), 0)
    before = [e.text for e in rough.events[:at] if isinstance(e, Speech)]
    opening = [e.text for e in rough.events[at:] if isinstance(e, Speech)][:_OPENING_PHRASES]
    soon = list(dict.fromkeys(before + opening))
    if not set(first) <= set(soon):
        cache.ensure(soon)
        yield _provisional(routine, settings, cache, asked, cached | set(soon))
    cache.ensure(first)
    yield _provisional(routine, settings, cache, asked, cached | set(first))
    yield PlanStage.complete(_planned(routine, settings, cache))


def _provisional(
    routine: Routine, settings: Settings, cache: PhraseCache, asked: list[str], known: set[str]
) -> PlanStage:
    """The timeline with the known phrases; final up to where no unknown phrase's length
    matters: where it agrees with the same timeline made with other stand-in lengths for the
    unknown phrases, short and about as long as the known ones per character (events after
    that still move; a pause that shrinks to fit a phrase moves only when the phrase is
    long). A stand-in the compiler refuses (a count longer than its rep) proves nothing."""
    per_char_ms = max((cache.measure(t) / max(1, len(t)) for t in known), default=100.0)

    def longest(text: str) -> int:
        return round(_BOUND_FACTOR * per_char_ms * len(text) + _BOUND_EXTRA_MS)

    def measure(text: str) -> int:
        return cache.measure(text) if text in known else 1

    stand_ins = [
        lambda text: cache.measure(text) if text in known else 2,
        lambda text: cache.measure(text) if text in known else round(per_char_ms * len(text)),
    ]
    timeline = compile_routine(routine, settings, measure)
    ready = len(timeline.events)
    for other in stand_ins:
        try:
            exact = compile_routine(routine, settings, other)
        except VoiceguideError:
            continue
        same = 0
        for ours, theirs in zip(timeline.events[:ready], exact.events, strict=False):
            if ours != theirs:
                break
            same += 1
        ready = same
    unknown_ms = sum(longest(t) for t in asked if t not in known)
    return PlanStage(timeline, ready, timeline.total_ms + round(unknown_ms))
