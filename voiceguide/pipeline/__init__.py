"""The library face the command line calls: load, plan, export, play.

Each function takes plain values and returns plain values; the CLI only parses and prints.
"""

from voiceguide.pipeline.export import export, export_legend
from voiceguide.pipeline.legend import legend
from voiceguide.pipeline.live import Controls, play, play_legend
from voiceguide.pipeline.planning import asked_phrases, plan, plan_stages
from voiceguide.pipeline.setup import (
    cue_cache,
    default_player,
    load,
    make_cache,
    parse_settings,
    prepare,
)

__all__ = [
    "Controls",
    "asked_phrases",
    "cue_cache",
    "default_player",
    "export",
    "export_legend",
    "legend",
    "load",
    "make_cache",
    "parse_settings",
    "plan",
    "plan_stages",
    "play",
    "play_legend",
    "prepare",
]
