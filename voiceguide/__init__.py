"""voiceguide: turn a stretching routine into spoken, timed audio.

The pipeline, one way: narration scripts -> :func:`load` -> Routine; Routine + Settings ->
:func:`compile_routine` -> Timeline; Timeline -> render -> PCM -> export (MP3s) or play.
"""

from voiceguide.errors import InputError, RuntimeFailure, VoiceguideError
from voiceguide.pipeline import export, load, plan
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.settings import Settings
from voiceguide.plan.timeline import Timeline
from voiceguide.routine.model import Exercise, ExerciseKind, Routine

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
    "export",
    "load",
    "plan",
]
__version__ = "0.2.0"
