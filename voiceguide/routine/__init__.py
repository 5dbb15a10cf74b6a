"""Stage 1, the routine: what a routine says, read from its plain YAML files.

:func:`load_routine` reads a routine file and its narration scripts into a frozen
:class:`Routine` (every field checked, every problem naming file, line, exercise and field);
:func:`resolve_routine` finds a routine by name or path. No timing, no audio here.
"""

from typing import TYPE_CHECKING

from voiceguide.lazy import lazy_names

if TYPE_CHECKING:
    from voiceguide.routine.library import (
        DEFAULT_ROUTINE,
        available_routines,
        init_routine,
        resolve_routine,
    )
    from voiceguide.routine.loader import check_routine, load_exercise, load_routine
    from voiceguide.routine.model import Exercise, ExerciseKind, Routine, Side

# imported when first asked for: the text helpers a speech worker needs come without YAML
__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "voiceguide.routine.library": (
            "DEFAULT_ROUTINE",
            "available_routines",
            "init_routine",
            "resolve_routine",
        ),
        "voiceguide.routine.loader": ("check_routine", "load_exercise", "load_routine"),
        "voiceguide.routine.model": ("Exercise", "ExerciseKind", "Routine", "Side"),
    },
)

__all__ = [
    "DEFAULT_ROUTINE",
    "Exercise",
    "ExerciseKind",
    "Routine",
    "Side",
    "available_routines",
    "check_routine",
    "init_routine",
    "load_exercise",
    "load_routine",
    "resolve_routine",
]
