"""The options every command that plans, renders or plays takes, declared once.

:func:`routine_options` adds the routine argument and its options (``--hold``, ``--rounds``,
``--reps``, ``--sets``, ``--rest``, ``--voice``, ``--rate``, ``--verbosity``, ``--intro``,
``--breath``,
``--fit``, ``--bed``, ``--bed-level``) to a command, and hands the command one
:class:`RoutineOptions` value instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from voiceguide.plan.preferences import Resolved
    from voiceguide.routine.model import Routine

__all__ = ["BitrateOpt", "JsonOpt", "RateOpt", "RoutineOptions", "VoiceOpt", "routine_options"]

RoutineArg = Annotated[
    str | None,
    typer.Argument(
        help="A bundled routine's name (see 'voiceguide list') or a path to a routine file.",
        show_default="outer-hip",
    ),
]
HoldOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--hold",
        metavar="[ID=]SECONDS",
        help="Hold length in seconds: for every hold, or ID=N for one exercise.",
    ),
]
RoundsOpt = Annotated[
    list[str] | None,
    typer.Option("--rounds", metavar="[ID=]N", help="Rounds of a hold exercise (all sides)."),
]
RepsOpt = Annotated[
    list[str] | None, typer.Option("--reps", metavar="[ID=]N", help="Reps per set.")
]
SetsOpt = Annotated[list[str] | None, typer.Option("--sets", metavar="[ID=]N", help="Sets.")]
RestOpt = Annotated[
    list[str] | None,
    typer.Option("--rest", metavar="[ID=]SECONDS", help="Rest between rounds or sets."),
]
VoiceOpt = Annotated[
    str | None,
    typer.Option("--voice", help="Voice id, see 'voiceguide voices' (default hibari:heart)."),
]
VerbosityOpt = Annotated[
    str | None,
    typer.Option(
        "--verbosity",
        metavar="minimal|standard|coach",
        show_default="standard",
        help="minimal: tones and names; standard: every instruction once; "
        "coach: also form reminders and breathing prompts in holds.",
    ),
]
IntroOpt = Annotated[
    str | None,
    typer.Option(
        "--intro",
        metavar="full|short",
        show_default="full; short after 3 completed sessions in the practice log",
        help="full: why the routine, and every cue sound played; short: what to have ready, "
        "the safety note and the cue sounds in one line, then the first exercise.",
    ),
]
BreathOpt = Annotated[
    str | None,
    typer.Option(
        "--breath",
        metavar="IN-OUT",
        help="Soft breathing tones during holds, e.g. 4-6 (seconds in, out); "
        "off turns off a saved preference.",
    ),
]
FitOpt = Annotated[
    str | None,
    typer.Option(
        "--fit",
        metavar="DURATION",
        help="Fit the routine into this time (e.g. 15m) by changing holds and rests "
        "within their allowed ranges; off turns off a saved preference.",
    ),
]
BedOpt = Annotated[
    str | None,
    typer.Option(
        "--bed",
        metavar="pad|FILE",
        help="Music under the voice, ducked under every word and cue: pad (calm "
        "generated chords) or a music file (mp3, m4a, ogg, flac, wav; looped); "
        "off turns off a saved preference.",
    ),
]
BedLevelOpt = Annotated[
    str | None,
    typer.Option(
        "--bed-level",
        metavar="DB",
        show_default="-18",
        help="The music's level in holds, in dB relative to the speech (-40 to -15).",
    ),
]
RateOpt = Annotated[
    int | None,
    typer.Option("--rate", help="Words a minute, as a listener counts them (default 178)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
BitrateOpt = Annotated[
    str | None,
    typer.Option("--bitrate", help="MP3 bitrate (mono, 44.1 kHz).", show_default="96k"),
]


@dataclass(frozen=True)
class RoutineOptions:
    """The routine argument and its options, as typed on the command line."""

    routine: RoutineArg = None
    hold: HoldOpt = None
    rounds: RoundsOpt = None
    reps: RepsOpt = None
    sets: SetsOpt = None
    rest: RestOpt = None
    voice: VoiceOpt = None
    rate: RateOpt = None
    verbosity: VerbosityOpt = None
    intro: IntroOpt = None
    breath: BreathOpt = None
    fit: FitOpt = None
    bed: BedOpt = None
    bed_level: BedLevelOpt = None

    def prepare(self, bitrate: str | None = None) -> tuple[Routine, Resolved]:
        """The routine and its settings from every source (defaults < routine < config file
        < these options)."""
        from voiceguide import pipeline
        from voiceguide.plan.preferences import command_line

        per_exercise = [
            (option, raw)
            for option in ("hold", "rounds", "reps", "sets", "rest")
            for raw in getattr(self, option) or []
        ]
        command = command_line(
            per_exercise,
            voice=self.voice,
            rate_wpm=self.rate,
            verbosity=self.verbosity,
            intro=self.intro,
            breath=self.breath,
            fit=self.fit,
            bitrate=bitrate,
            bed=self.bed,
            bed_level=self.bed_level,
        )
        return pipeline.prepare(self.routine, command)


Command = TypeVar("Command", bound=Callable[..., None])


def _of_config(error: Exception, options: RoutineOptions) -> Exception:
    """A voice the engine does not have, said of the config file's key when it came from
    there (found only when the engine starts, and said as of ``--voice``)."""
    message = str(error)
    if options.voice is not None or not message.startswith("--voice "):
        return error
    from voiceguide.errors import SettingsError
    from voiceguide.plan.config import config_path

    value, _, reason = message.removeprefix("--voice ").partition(": ")
    return SettingsError(f"{config_path()}: key 'voice' = {value}: {reason}")


def routine_options(command: Command) -> Command:
    """Give ``command`` (whose first parameter is ``options: RoutineOptions``) the routine
    argument and options on the command line."""
    own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]
    hints = inspect.get_annotations(RoutineOptions, eval_str=True)
    shared = [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hints[f.name]
        )
        for f in fields(RoutineOptions)
    ]
    names = {f.name for f in fields(RoutineOptions)}

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        from voiceguide.errors import SettingsError

        options = RoutineOptions(**{k: v for k, v in values.items() if k in names})
        try:
            command(options, **{k: v for k, v in values.items() if k not in names})
        except SettingsError as error:
            raise _of_config(error, options) from None

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in (*shared, *own)]
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must see the new signature, not the command's
    return wrapper  # type: ignore[return-value]
