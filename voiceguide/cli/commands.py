"""The command line. The only module that knows typer; each command parses, calls one
library function, and prints. Errors become one line and an exit code in :func:`main`."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voiceguide.errors import Interrupted, VoiceguideError

if TYPE_CHECKING:
    from voiceguide.plan.preferences import Resolved
    from voiceguide.routine.model import Routine

app = typer.Typer(
    name="voiceguide",
    help="Turn a stretching routine into spoken, timed audio: plan it, export it, play it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"verbose": False}

RoutineArg = Annotated[
    str | None,
    typer.Argument(
        help="A bundled routine's name (see 'voiceguide list') or a path to a routine file.",
        show_default="outer-hip",
    ),
]
HoldOpt = Annotated[
    list[str] | None,
    typer.Option("--hold", metavar="[ID=]SECONDS",
                 help="Hold length in seconds: for every hold, or ID=N for one exercise."),
]  # fmt: skip
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
    str | None, typer.Option("--voice", help="espeak-ng voice id (default gmw/en-us).")
]
VerbosityOpt = Annotated[
    str | None,
    typer.Option("--verbosity", metavar="minimal|standard|coach", show_default="standard",
                 help="minimal: tones and names; standard: every instruction once; "
                      "coach: also form reminders and breathing prompts in holds."),
]  # fmt: skip
BreathOpt = Annotated[
    str | None,
    typer.Option("--breath", metavar="IN-OUT",
                 help="Soft breathing tones during holds, e.g. 4-6 (seconds in, out); "
                      "off turns off a saved preference."),
]  # fmt: skip
FitOpt = Annotated[
    str | None,
    typer.Option("--fit", metavar="DURATION",
                 help="Fit the routine into this time (e.g. 15m) by changing holds and rests "
                      "within their allowed ranges; off turns off a saved preference."),
]  # fmt: skip
RateOpt = Annotated[
    int | None, typer.Option("--rate", help="Speaking rate in words per minute (default 160).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
BitrateOpt = Annotated[
    str | None,
    typer.Option("--bitrate", help="MP3 bitrate (mono, 44.1 kHz).", show_default="96k"),
]


def _prepare(
    routine: str | None, hold: list[str] | None, rounds: list[str] | None,
    reps: list[str] | None, sets: list[str] | None, rest: list[str] | None,
    voice: str | None, rate: int | None, verbosity: str | None = None,
    breath: str | None = None, fit_to: str | None = None, bitrate: str | None = None,
) -> tuple[Routine, Resolved]:  # fmt: skip
    """The routine and its settings from every source (defaults < routine < config file <
    these options, as typed): what every command that plans, renders or plays starts with."""
    from voiceguide import pipeline
    from voiceguide.plan.preferences import command_line

    command = command_line(
        _pairs(hold, rounds, reps, sets, rest), voice=voice, rate_wpm=rate,
        verbosity=verbosity, breath=breath, fit=fit_to, bitrate=bitrate,
    )  # fmt: skip
    return pipeline.prepare(routine, command)


def _pairs(*values: list[str] | None) -> list[tuple[str, str]]:
    """("hold", "45")-style pairs of the per-exercise options, in option order."""
    options = ("hold", "rounds", "reps", "sets", "rest")
    return [(option, raw) for option, given in zip(options, values, strict=True)
            for raw in given or []]  # fmt: skip


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show a traceback when something fails.")
    ] = False,
) -> None:
    _state["verbose"] = verbose


@app.command("list")
def list_command() -> None:
    """List the routines: the bundled ones and yours (see 'voiceguide init')."""
    from voiceguide.routine.library import available_routines

    for entry in available_routines():
        if entry.problem is not None:
            shown = [f"(has problems: 'voiceguide validate {entry.argument}' lists them)"]
        else:
            shown = [entry.title, f"({', '.join(entry.exercises)})"]
        typer.echo("\t".join(_one_line(cell) for cell in (entry.name, entry.origin, *shown)))


@app.command("init")
def init_command(
    name: Annotated[str, typer.Argument(help="The new routine's name, e.g. my-hips.")],
    path: Annotated[
        Path | None,
        typer.Option("--path", metavar="DIR",
                     help="Write it into this folder instead of your routines folder."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--from", metavar="ROUTINE", help="The routine to copy.",
                     show_default="outer-hip"),
    ] = None,
) -> None:  # fmt: skip
    """Start a routine of your own: a copy of a bundled routine's scripts to edit."""
    from voiceguide.routine.library import init_routine

    created = init_routine(name, path, source)
    files = ", ".join(p.name for p in (created.routine_file, *created.scripts))
    typer.echo(f"Created {created.name} in {created.routine_file.parent}: {files}")
    target = created.name if created.by_name else str(created.routine_file)
    typer.echo(f"Edit them, then: voiceguide validate {target}; voiceguide plan {target}")


@app.command("validate")
def validate_command(
    routine: Annotated[str, typer.Argument(help="A routine file's path, or a routine's name.")],
) -> None:
    """Check a routine and its scripts: every problem (file, line, exercise, field) at once."""
    from voiceguide.errors import RoutineError
    from voiceguide.plan.validate import validate_routine
    from voiceguide.routine.text import clock

    result = validate_routine(routine)
    for problem in result.problems:
        typer.echo(_one_line(str(problem)))
    if result.problems:
        count = len(result.problems)
        raise RoutineError(f"{count} problem{'s' if count > 1 else ''}", path=result.path)
    typer.echo(f"ok: {result.exercises} exercises, total {clock(result.total_ms)} "
               "(estimated from word counts; 'voiceguide plan' times it exactly)")  # fmt: skip


@app.command("voices")
def voices_command(
    lang: Annotated[
        str | None,
        typer.Option("--lang", metavar="LANGUAGE", help="Only this language, e.g. en or en-gb."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the installed espeak-ng voices for --voice (the default is marked with *)."""
    from voiceguide.cli.show import voices_table
    from voiceguide.speech.voices import installed_voices, voices_to_json

    voices = installed_voices(lang)
    if as_json:
        typer.echo(json.dumps(voices_to_json(voices), indent=2))
    else:
        voices_table(voices)


@app.command("cues")
def cues_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE.mp3",
                     help="Write it to this MP3 instead of playing it."),
    ] = None,
    voice: VoiceOpt = None, rate: RateOpt = None, bitrate: BitrateOpt = None,
) -> None:  # fmt: skip
    """Each cue sound, named then played: learn them before a routine (live, or an MP3)."""
    from voiceguide import pipeline
    from voiceguide.plan.preferences import command_line
    from voiceguide.routine.text import clock

    command = command_line(voice=voice, rate_wpm=rate, bitrate=bitrate)
    if out is None:
        from voiceguide.cli.terminal import controls, summary

        status = pipeline.play_legend(command, controls=controls)
        typer.echo(summary(status), err=True)
        return
    timeline, track = pipeline.export_legend(command, out)
    typer.echo(f"Wrote the cue sounds ({clock(timeline.total_ms)}) to {track.path.resolve()}")


@app.command("plan")
def plan_command(
    routine: RoutineArg = None, hold: HoldOpt = None, rounds: RoundsOpt = None,
    reps: RepsOpt = None, sets: SetsOpt = None, rest: RestOpt = None,
    voice: VoiceOpt = None, rate: RateOpt = None, verbosity: VerbosityOpt = None,
    breath: BreathOpt = None, fit_to: FitOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Show the timeline (every hold and set, with times) and the total, before rendering."""
    from voiceguide import pipeline
    from voiceguide.cli.show import plan_table

    loaded, prepared = _prepare(routine, hold, rounds, reps, sets, rest, voice, rate,
                                verbosity, breath, fit_to)  # fmt: skip
    settings = prepared.settings
    timeline = pipeline.plan(loaded, settings, pipeline.make_cache(settings))
    if as_json:
        typer.echo(json.dumps(timeline.to_json(), indent=2))
    else:
        plan_table(timeline)


@app.command("export")
def export_command(
    routine: RoutineArg = None, hold: HoldOpt = None, rounds: RoundsOpt = None,
    reps: RepsOpt = None, sets: SetsOpt = None, rest: RestOpt = None,
    voice: VoiceOpt = None, rate: RateOpt = None, verbosity: VerbosityOpt = None,
    breath: BreathOpt = None, fit_to: FitOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("audio"),
    bitrate: BitrateOpt = None,
    as_zip: Annotated[
        bool, typer.Option("--zip", help="Write one zip file holding the whole export.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Render the routine to MP3s: one per chapter and one of the whole routine."""
    from voiceguide import pipeline
    from voiceguide.cli.show import export_progress, export_summary

    loaded, prepared = _prepare(routine, hold, rounds, reps, sets, rest, voice, rate,
                                verbosity, breath, fit_to, bitrate)  # fmt: skip
    settings = prepared.settings
    started = time.perf_counter()
    with export_progress(enabled=not as_json) as progress:
        timeline, result = pipeline.export(
            loaded,
            settings,
            pipeline.make_cache(settings),
            out,
            prepared.bitrate,
            progress=progress,
            as_zip=as_zip,
        )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        export_summary(timeline, result, time.perf_counter() - started)


@app.command("config")
def config_command(
    routine: RoutineArg = None, hold: HoldOpt = None, rounds: RoundsOpt = None,
    reps: RepsOpt = None, sets: SetsOpt = None, rest: RestOpt = None,
    voice: VoiceOpt = None, rate: RateOpt = None, verbosity: VerbosityOpt = None,
    breath: BreathOpt = None, fit_to: FitOpt = None, bitrate: BitrateOpt = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Show the settings a routine gets and where each comes from: default, routine, config
    file (saved preferences) or command line."""
    from voiceguide.cli.show import config_table

    loaded, prepared = _prepare(routine, hold, rounds, reps, sets, rest, voice, rate,
                                verbosity, breath, fit_to, bitrate)  # fmt: skip
    if as_json:
        typer.echo(json.dumps({"routine": loaded.name, **prepared.to_json()}, indent=2))
    else:
        config_table(loaded, prepared)


@app.command("play")
def play_command(
    routine: RoutineArg = None, hold: HoldOpt = None, rounds: RoundsOpt = None,
    reps: RepsOpt = None, sets: SetsOpt = None, rest: RestOpt = None,
    voice: VoiceOpt = None, rate: RateOpt = None, verbosity: VerbosityOpt = None,
    breath: BreathOpt = None, fit_to: FitOpt = None,
    start: Annotated[
        str | None, typer.Option("--from", metavar="ID", help="Start at this exercise.")
    ] = None,
) -> None:  # fmt: skip
    """Play the routine live: space pauses, n or right skips, b or left goes back, q stops."""
    from voiceguide import pipeline
    from voiceguide.cli.terminal import controls, summary

    loaded, prepared = _prepare(routine, hold, rounds, reps, sets, rest, voice, rate,
                                verbosity, breath, fit_to)  # fmt: skip
    settings = prepared.settings
    status = pipeline.play(loaded, settings, pipeline.make_cache(settings),
                       start_exercise=start, controls=controls)  # fmt: skip
    typer.echo(summary(status), err=True)


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted()


def _one_line(message: str) -> str:
    """A message as one terminal line: control characters (from a file name, a field name or
    a value) are shown escaped, never interpreted by the terminal."""
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in message
    )


def _usage_message(error: Exception) -> str | None:
    """A typer (click) usage error's message: an unknown option, a value of the wrong type..."""
    if not any(cls.__name__ == "UsageError" for cls in type(error).__mro__):
        return None
    message = str(error.format_message())  # type: ignore[attr-defined]
    context = getattr(error, "ctx", None)
    return message + (f" (see '{context.command_path} --help')" if context is not None else "")


def _fail(message: str, exit_code: int, error: BaseException) -> None:
    if _state["verbose"]:
        raise error
    typer.echo(f"voiceguide: {_one_line(message)}", err=True)
    sys.exit(exit_code)


def main() -> None:
    """The console script: runs the app and turns every error into one line and an exit code:
    2 for bad input (a file, an option or its value), 1 when something outside failed, 130
    for Ctrl-C. ``--verbose`` shows the traceback instead."""
    signal.signal(signal.SIGINT, _interrupt)
    try:
        code = app(standalone_mode=False)
    except VoiceguideError as error:
        _fail(f"error: {error}", error.exit_code, error)
    except BrokenPipeError:  # the reader went away: `voiceguide plan --json | head -3`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as error:
        usage = _usage_message(error)
        if usage is None:  # a bug: still one line unless --verbose
            _fail(f"internal error: {type(error).__name__}: {error} "
                  "(run with --verbose for the traceback)", 1, error)  # fmt: skip
        elif type(error).__name__ == "NoArgsIsHelpError":  # no command: the help
            error.show()  # type: ignore[attr-defined]
            sys.exit(2)
        else:
            _fail(f"error: {usage}", 2, error)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
