"""Stage 2, the plan: a routine and the settings in effect compiled into a timeline. Pure.

:class:`Settings` come from every source (:func:`resolve`: defaults < routine < config
file < command line; the files and the environment are read by the caller,
``voiceguide.pipeline.saved``); :func:`compile_routine` places every phrase, cue and
silence at an exact millisecond (phrase lengths come from an injected ``measure``);
:func:`fit` moves the numbers to reach a total length. No audio library is imported here,
and no file, environment variable or clock is read.
"""

from voiceguide.plan.compiler import Measure, compile_routine
from voiceguide.plan.cues import CUE_MS, Cue
from voiceguide.plan.fit import fit
from voiceguide.plan.preferences import Choices, Resolved, command_line, resolve
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline

__all__ = [
    "CUE_MS",
    "Choices",
    "Cue",
    "Measure",
    "Resolved",
    "Settings",
    "Timeline",
    "command_line",
    "compile_routine",
    "fit",
    "resolve",
]
