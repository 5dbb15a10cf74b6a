"""The library face the command line calls: load, plan, export, play.

Each function takes plain values and returns plain values; the CLI only parses and prints.
"""

from voiceguide.pipeline.core import (
    export,
    export_legend,
    legend,
    load,
    make_cache,
    parse_settings,
    plan,
    play_legend,
    prepare,
)

__all__ = [
    "export",
    "export_legend",
    "legend",
    "load",
    "make_cache",
    "parse_settings",
    "plan",
    "play_legend",
    "prepare",
]
