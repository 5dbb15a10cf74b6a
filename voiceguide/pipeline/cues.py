"""The cue legend (every cue sound, named then played), in the voice and rate the config
file and the command line choose."""

from __future__ import annotations

from voiceguide.pipeline.saved import config_path, load_config
from voiceguide.pipeline.setup import make_cache
from voiceguide.plan.legend import legend_phrases, legend_timeline
from voiceguide.plan.preferences import Choices, Resolved, resolve
from voiceguide.plan.timeline import Timeline
from voiceguide.speech.base import Synthesizer
from voiceguide.speech.cache import PhraseCache

__all__ = ["legend"]


def legend(
    command: Choices, synthesizer: Synthesizer | None = None
) -> tuple[Timeline, PhraseCache, Resolved]:
    """The cue legend (every cue sound, named then played) with its phrases synthesized, in
    the voice and rate the config file and the command line choose."""
    prepared = resolve(None, command, load_config(), config_file=config_path())
    cache = make_cache(prepared.settings, synthesizer)
    cache.ensure(legend_phrases())
    return legend_timeline(cache.measure), cache, prepared
