"""The options every command that plans, renders or plays takes, built from the settings'
declaration (:data:`voiceguide.plan.catalog.SETTINGS`): its name, help, value's form and
default make each option, so a new setting is an option of every command at once.

:func:`routine_options` adds the routine argument and the routine's options (``--hold``,
``--rounds``, ``--reps``, ``--sets``, ``--rest``, ``--voice``, ``--rate``, ...) to a command,
and hands the command one :class:`RoutineOptions` value instead; :func:`option` is the
option of one setting for a command that takes it alone (``--bitrate``, ``--log``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from voiceguide.plan.catalog import SETTINGS, Setting, setting

if TYPE_CHECKING:
    from voiceguide.plan.preferences import Resolved
    from voiceguide.routine.model import Routine

__all__ = [
    "BitrateOpt",
    "CheckInOpt",
    "JsonOpt",
    "LogOpt",
    "OutOpt",
    "RateOpt",
    "RoutineOptions",
    "VoiceOpt",
    "option",
    "routine_options",
]

ROUTINE_SETTINGS = tuple(s for s in SETTINGS if s.command_line == "routine")


def option(name: str) -> Any:
    """The typer option of the setting ``name``: its flag, help, metavar and default."""
    declared = setting(name)
    flag = declared.option
    if declared.kind == "switch":  # --log/--no-log
        flag = f"{flag}/--no-{flag.removeprefix('--')}"
    return typer.Option(
        flag,
        help=declared.help,
        metavar=declared.metavar,
        show_default=declared.default_shown if declared.default_shown is not None else True,
    )


def _value_type(declared: Setting) -> Any:
    """The Python type typer converts the option's text to (None: not given)."""
    if declared.per_exercise:
        return list[str] | None  # repeatable: "45", "ID=45"
    if declared.kind == "integer":
        return int | None
    if declared.kind == "switch":
        return bool | None
    return str | None


RoutineArg = Annotated[
    str | None,
    typer.Argument(
        help="A bundled routine's name (see 'voiceguide list') or a path to a routine file.",
        show_default="outer-hip",
    ),
]
VoiceOpt = Annotated[str | None, option("voice")]
RateOpt = Annotated[int | None, option("rate")]
BitrateOpt = Annotated[str | None, option("bitrate")]
LogOpt = Annotated[bool | None, option("log")]
CheckInOpt = Annotated[bool | None, option("check_in")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Export folder.")]


@dataclass(frozen=True)
class RoutineOptions:
    """The routine argument and its options, as typed on the command line."""

    routine: str | None = None
    # setting name -> its value as typer gives it (a list for a per-exercise one); None or
    # missing: not given
    given: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> RoutineOptions:
        """From a command's parameters (the routine's and the settings' among them)."""
        given = {s.name: values.get(s.name) for s in ROUTINE_SETTINGS}
        # only what was given: no option at all equals RoutineOptions() ('log --pain' alone)
        return cls(values.get("routine"), {k: v for k, v in given.items() if v is not None})

    def args(self) -> list[str]:
        """The options given, as ``--name=value`` words (per-exercise ones first)."""
        words = []
        for declared in sorted(ROUTINE_SETTINGS, key=lambda s: not s.per_exercise):
            value = self.given.get(declared.name)
            values = value if declared.per_exercise else [] if value is None else [value]
            words += [f"{declared.option}={v}" for v in values or []]
        return words

    def prepare(self, bitrate: str | None = None) -> tuple[Routine, Resolved]:
        """The routine and its settings from every source (defaults < routine < config file
        < these options)."""
        from voiceguide import pipeline
        from voiceguide.plan.preferences import command_line

        per_exercise = [
            (s.name, raw)
            for s in ROUTINE_SETTINGS
            if s.per_exercise
            for raw in self.given.get(s.name) or []
        ]
        others = {s.name: self.given.get(s.name) for s in ROUTINE_SETTINGS if not s.per_exercise}
        command = command_line(per_exercise, bitrate=bitrate, **others)
        return pipeline.prepare(self.routine, command)


Command = TypeVar("Command", bound=Callable[..., None])


def _of_config(error: Exception, options: RoutineOptions) -> Exception:
    """A voice the engine does not have, said of the config file's key when it came from
    there (found only when the engine starts, and said as of ``--voice``)."""
    message = str(error)
    if options.given.get("voice") is not None or not message.startswith("--voice "):
        return error
    from voiceguide.errors import SettingsError
    from voiceguide.pipeline.saved import config_path

    value, _, reason = message.removeprefix("--voice ").partition(": ")
    return SettingsError(f"{config_path()}: key 'voice' = {value}: {reason}")


def routine_options(command: Command) -> Command:
    """Give ``command`` (whose first parameter is ``options: RoutineOptions``) the routine
    argument and options on the command line."""
    own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]
    shared = [
        inspect.Parameter(
            "routine", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=RoutineArg
        )
    ] + [
        inspect.Parameter(
            s.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[_value_type(s), option(s.name)],
        )
        for s in ROUTINE_SETTINGS
    ]
    names = {p.name for p in shared}

    @functools.wraps(command)
    def wrapper(**values: Any) -> None:
        from voiceguide.errors import SettingsError

        options = RoutineOptions.of(values)
        try:
            command(options, **{k: v for k, v in values.items() if k not in names})
        except SettingsError as error:
            raise _of_config(error, options) from None

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in (*shared, *own)]
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must see the new signature, not the command's
    return wrapper  # type: ignore[return-value]
