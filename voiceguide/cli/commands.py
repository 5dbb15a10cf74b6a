"""The command line. The only module that knows typer; each command parses, calls one
library function, and prints. Errors become one line and an exit code in :func:`main`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, cast

import typer

from voiceguide.cli.options import (
    BitrateOpt,
    CheckInOpt,
    JsonOpt,
    LogOpt,
    OutOpt,
    RateOpt,
    RoutineOptions,
    VoiceOpt,
    routine_options,
)
from voiceguide.cli.progress_bars import ProgressBars
from voiceguide.cli.stopping import interrupt, interrupt_under, one_line
from voiceguide.errors import VoiceguideError

if TYPE_CHECKING:
    from voiceguide.play import LivePlayback

app = typer.Typer(
    name="voiceguide",
    help="Turn a stretching routine into spoken, timed audio: plan it, export it, play it.",
    add_completion=True,  # --install-completion, --show-completion
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"verbose": False}


def _show_version(asked: bool) -> None:
    if asked:
        from voiceguide import __version__

        typer.echo(f"voiceguide {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show a traceback when something fails.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
        ),
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
        typer.echo("\t".join(one_line(cell) for cell in (entry.name, entry.origin, *shown)))


@app.command("init")
def init_command(
    name: Annotated[str, typer.Argument(help="The new routine's name, e.g. my-hips.")],
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            metavar="DIR",
            help="Write it into this folder instead of your routines folder.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="ROUTINE", help="The routine to copy.", show_default="outer-hip"
        ),
    ] = None,
) -> None:
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
        typer.echo(one_line(str(problem)))
    if result.problems:
        count = len(result.problems)
        raise RoutineError(f"{count} problem{'s' if count > 1 else ''}", path=result.path)
    from voiceguide import pipeline

    with ProgressBars() as bars:  # plan's own total (an estimate was minutes off)
        timeline = pipeline.plan_as_saved(routine, bars.speaking)
    exercises = f"{result.exercises} exercise{'s' if result.exercises != 1 else ''}"
    typer.echo(f"ok: {exercises}, total {clock(timeline.total_ms)}, as 'voiceguide plan' gives it")


@app.command("voices")
def voices_command(
    lang: Annotated[
        str | None,
        typer.Option("--lang", metavar="LANGUAGE", help="Only this language, e.g. en or en-gb."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the voices for --voice, espeak-ng's and the neural ones (the default is marked
    with *, the one your config file chooses with >)."""
    from voiceguide.cli.show import voices_table
    from voiceguide.pipeline.saved import load_config
    from voiceguide.speech.voices import installed_voices, neural_missing, voices_to_json

    config = load_config()  # a broken config file stops this command too, as every other
    yours = config.top.voice if config is not None else None
    voices = installed_voices(lang)
    missing = neural_missing()
    if as_json:
        typer.echo(json.dumps({**voices_to_json(voices, missing), "config_voice": yours}, indent=2))
    else:
        voices_table(voices, missing, yours=yours)


@app.command("cues")
def cues_command(
    out: Annotated[
        str | None,
        typer.Option(
            "--out", "-o", metavar="FILE.mp3", help="Write it to this MP3 instead of playing it."
        ),
    ] = None,
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    bitrate: BitrateOpt = None,
) -> None:
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
@routine_options
def plan_command(options: RoutineOptions, as_json: JsonOpt = False) -> None:
    """Show the timeline (every hold and set, with times) and the total, before rendering."""
    from voiceguide import pipeline
    from voiceguide.cli.show import plan_table

    loaded, prepared = options.prepare()
    settings = prepared.settings
    cache = pipeline.make_cache(settings)
    try:
        with ProgressBars() as bars:
            cache.progress = bars.speaking
            timeline = pipeline.plan(loaded, settings, cache)
    finally:
        cache.close()
    if as_json:
        typer.echo(json.dumps(timeline.to_json(), indent=2))
    else:
        plan_table(timeline, rows=prepared.rows)


@app.command("export")
@routine_options
def export_command(
    options: RoutineOptions,
    out: OutOpt = Path("audio"),
    bitrate: BitrateOpt = None,
    as_zip: Annotated[
        bool, typer.Option("--zip", help="Write one zip file holding the whole export.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Render the routine to MP3s: one per chapter and one of the whole routine."""
    from voiceguide import pipeline
    from voiceguide.cli.show import export_summary

    started = time.perf_counter()
    # speech workers start on the core that is idle while the routine loads
    with pipeline.early_workers() as early:
        loaded, prepared = options.prepare(bitrate)
        settings = prepared.settings
        cache = pipeline.make_cache(settings, early=early)
        with ProgressBars(enabled=not as_json) as bars:
            cache.progress = bars.speaking
            timeline, result = pipeline.export(
                loaded,
                settings,
                cache,
                out,
                prepared.bitrate,
                progress=bars.rendering,
                as_zip=as_zip,
            )
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        export_summary(timeline, result, time.perf_counter() - started)


@app.command("config")
@routine_options
def config_command(
    options: RoutineOptions, bitrate: BitrateOpt = None, as_json: JsonOpt = False
) -> None:
    """Show the settings a routine gets and where each comes from: default, routine, config
    file (saved preferences) or command line."""
    from voiceguide.cli.show import config_table

    loaded, prepared = options.prepare(bitrate)
    if as_json:
        typer.echo(json.dumps({"routine": loaded.name, **prepared.to_json()}, indent=2))
    else:
        config_table(loaded, prepared)


@app.command("play")
@routine_options
def play_command(
    options: RoutineOptions,
    start: Annotated[
        str | None, typer.Option("--from", metavar="ID", help="Start at this exercise.")
    ] = None,
    log: LogOpt = None,
    check_in: CheckInOpt = None,
) -> None:
    """Play the routine live: space pauses, n or right skips, b or left goes back, q stops."""
    from voiceguide import pipeline
    from voiceguide.cli.terminal import ask_score, controls, summary

    loaded, prepared = options.prepare()
    settings = prepared.settings
    logged = prepared.log if log is None else log
    asking = prepared.check_in if check_in is None else check_in
    # only with someone at the keys: no question is made or said for a run with no terminal
    ask = ask_score if asking and logged and sys.stdin is not None and sys.stdin.isatty() else None
    cache = pipeline.make_cache(settings)
    with ProgressBars() as bars:
        cache.progress = bars.speaking

        def controls_after_bars(playback: LivePlayback) -> AbstractContextManager[object]:
            bars.close()  # the first sound: from here the terminal is the player's display
            return controls(playback)

        status, problem = pipeline.play_logged(
            loaded,
            settings,
            cache,
            start_exercise=start,
            controls=controls_after_bars,
            log=logged,
            ask=ask,
        )
    typer.echo(summary(status), err=True)
    if problem is not None:
        typer.echo(f"voiceguide: warning: {one_line(problem)}", err=True)
    elif logged:
        from voiceguide.cli.show import streak_line

        with contextlib.suppress(VoiceguideError):  # it was just written: it reads
            typer.echo(streak_line(pipeline.history(last=1)), err=True)


def _usage_error_class() -> type[Exception]:
    """click's ``UsageError`` (an unknown option, a bad value, a missing argument), found
    through the class typer exports, ``typer.BadParameter``, which derives from it: typer up
    to 0.23 runs on click, later releases on their own copy of it, and neither exports the
    base class under a public name."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "UsageError" and issubclass(cls, Exception):
            return cls
    raise ImportError("typer.BadParameter no longer derives from click's UsageError")


class _UsageError(Protocol):
    """What the command line uses of click's usage errors (its public interface)."""

    ctx: Any

    def format_message(self) -> str: ...

    def show(self) -> None: ...


class _NoSuchError(Exception):
    """Stands for an error class the installed click does not have."""


_USAGE_ERROR = _usage_error_class()
_NO_ARGS_IS_HELP = next(
    (c for c in _USAGE_ERROR.__subclasses__() if c.__name__ == "NoArgsIsHelpError"),
    _NoSuchError,
)


def _usage_message(error: BaseException) -> str | None:
    """A typer (click) usage error's message: an unknown option, a value of the wrong type..."""
    if not isinstance(error, _USAGE_ERROR):
        return None
    usage = cast(_UsageError, error)
    message = str(usage.format_message())
    context = usage.ctx
    return message + (f" (see '{context.command_path} --help')" if context is not None else "")


def _fail(message: str, exit_code: int, error: BaseException) -> None:
    """One line and the exit code; ``--verbose`` adds the traceback before the line and
    changes nothing else (the same line, the same exit code)."""
    if _state["verbose"]:
        import traceback

        sys.stderr.write("".join(traceback.format_exception(error)))
    with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP: it was closed)
        typer.echo(f"voiceguide: {one_line(message)}", err=True)
    sys.exit(exit_code)


def main() -> None:
    """The console script: runs the app and turns every error into one line and an exit code:
    2 for bad input (a file, an option or its value), 1 when something outside failed, 130
    for Ctrl-C. ``--verbose`` adds the traceback."""
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # all cleaned up alike
        signal.signal(stop, interrupt)
    try:
        code = app(standalone_mode=False)
    except VoiceguideError as error:
        _fail(f"error: {error}", error.exit_code, error)
    except BrokenPipeError:  # the reader went away: `voiceguide plan --json | head -3`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as error:
        usage = _usage_message(error)
        stopped = interrupt_under(error)
        if stopped is not None:  # a clean-up failed on the way out (the terminal gone: SIGHUP)
            _fail(f"error: {stopped}", stopped.exit_code, error)
        if usage is None:  # a bug: still one line (after the traceback with --verbose)
            hint = "" if _state["verbose"] else " (run with --verbose for the traceback)"
            _fail(f"internal error: {type(error).__name__}: {error}{hint}", 1, error)
        elif isinstance(error, _NO_ARGS_IS_HELP):  # no command: the help
            cast(_UsageError, error).show()
            sys.exit(2)
        else:
            _fail(f"error: {usage}", 2, error)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
