"""voiceguide: turn a stretching routine into spoken, timed audio.

The pipeline, one way, a package a stage: narration scripts -> :mod:`voiceguide.routine`
(a Routine) -> :mod:`voiceguide.plan` (Routine + Settings compiled into a Timeline) ->
:mod:`voiceguide.sound` and :mod:`voiceguide.speech` (PCM) -> :mod:`voiceguide.play` (live)
or :mod:`voiceguide.export` (MP3s). :mod:`voiceguide.pipeline` holds the functions the
command line calls (``pipeline.load``, ``pipeline.plan``, ``pipeline.export``, ...).

Nothing here shadows a stage: ``voiceguide.plan`` and ``voiceguide.export`` are packages.
"""

from typing import TYPE_CHECKING

from voiceguide.errors import InputError, RuntimeFailure, VoiceguideError
from voiceguide.lazy import lazy_names

if TYPE_CHECKING:
    from voiceguide.plan.compiler import compile_routine
    from voiceguide.plan.settings import Settings
    from voiceguide.plan.timeline import Timeline
    from voiceguide.routine.model import Exercise, ExerciseKind, Routine

# imported when first asked for: a module of one stage imports no other stage through here
__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "voiceguide.plan.compiler": ("compile_routine",),
        "voiceguide.plan.settings": ("Settings",),
        "voiceguide.plan.timeline": ("Timeline",),
        "voiceguide.routine.model": ("Exercise", "ExerciseKind", "Routine"),
    },
)

__all__ = [
    "Exercise",
    "ExerciseKind",
    "InputError",
    "Routine",
    "RuntimeFailure",
    "Settings",
    "Timeline",
    "VoiceguideError",
    "compile_routine",
]
__version__ = "0.2.0"
