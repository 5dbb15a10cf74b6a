"""The library face the command line calls: load, plan, export, play.

Each function takes plain values and returns plain values; the CLI only parses and prints.
"""

from voiceguide.pipeline.cues import legend
from voiceguide.pipeline.export import current_export, export, export_legend, fingerprint
from voiceguide.pipeline.live import Controls, Listener, play, play_legend
from voiceguide.pipeline.logbook import (
    export_csv,
    forget,
    history,
    log_csv,
    log_pain,
    log_session,
    play_logged,
    plot_pain,
    score_session,
    undo_log,
)
from voiceguide.pipeline.planning import asked_phrases, plan, plan_as_saved, plan_stages
from voiceguide.pipeline.setup import (
    cue_cache,
    default_player,
    early_workers,
    load,
    make_cache,
    parse_settings,
    prepare,
)
from voiceguide.practice import log_path

__all__ = [
    "Controls",
    "Listener",
    "asked_phrases",
    "cue_cache",
    "current_export",
    "default_player",
    "early_workers",
    "export",
    "export_csv",
    "export_legend",
    "fingerprint",
    "forget",
    "history",
    "legend",
    "load",
    "log_csv",
    "log_pain",
    "log_path",
    "log_session",
    "make_cache",
    "parse_settings",
    "plan",
    "plan_as_saved",
    "plan_stages",
    "play",
    "play_legend",
    "play_logged",
    "plot_pain",
    "prepare",
    "score_session",
    "undo_log",
]
