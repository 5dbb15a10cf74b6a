"""The practice log's commands: ``log`` (a session done elsewhere) and ``history``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from voiceguide.cli.commands import app
from voiceguide.cli.options import JsonOpt, RoutineOptions, routine_options
from voiceguide.errors import SettingsError

__all__ = ["history_command", "log_command"]

SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Only sessions since this day: 2026-03-01, yesterday, 7d, 2w.",
    ),
]
OfRoutineOpt = Annotated[
    str | None,
    typer.Option("--routine", metavar="NAME", help="Only this routine (its streak and days)."),
]


@app.command("log")
@routine_options
def log_command(
    options: RoutineOptions,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TIME",
            help="When you started: 18:30, 'yesterday 18:30', '2026-03-01 18:30' "
            "(default: you just finished).",
        ),
    ] = None,
    exercise: Annotated[
        list[str] | None,
        typer.Option(
            "--exercise",
            metavar="ID",
            help="An exercise you did (repeat it; default: all of them).",
        ),
    ] = None,
    pain: Annotated[
        str | None,
        typer.Option(
            "--pain",
            metavar="0-10",
            help="How your back feels, 0 (no pain) to 10: with a routine, the session's "
            "check-in; alone (no routine, no --exercise), a score with no session.",
        ),
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="Delete the last session logged by hand instead.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record a session done elsewhere (the exported MP3s on a phone), with the settings an
    export of the routine with these options uses, or a pain check-in on its own."""
    from voiceguide import pipeline
    from voiceguide.cli.show import clock, streak_line
    from voiceguide.practice import parse_score

    score = parse_score(pain) if pain is not None else None
    if undo and score is not None:
        raise SettingsError("--undo goes alone (not with --pain)")

    if undo:
        removed = pipeline.undo_log()
        if removed is None:
            typer.echo("No session logged by hand to undo")
            return
        when = removed.started.local().strftime("%a %d %b %H:%M")
        typer.echo(f"Deleted the session of {removed.routine} logged for {when}")
        return
    if score is not None and options == RoutineOptions() and not exercise:
        entry = pipeline.log_pain(score, at=at)
        if as_json:
            typer.echo(json.dumps(entry.to_json(), indent=2))
            return
        when = entry.at.local().strftime("%a %d %b %H:%M")
        typer.echo(f"Noted: {score} on {when}, with no session, in {pipeline.log_path()}")
        return
    loaded, prepared = options.prepare()
    session = pipeline.log_session(loaded, prepared.settings, at=at, exercises=exercise, pain=score)
    if as_json:
        typer.echo(json.dumps(session.to_json(), indent=2))
        return
    done = sum(e.state.value == "completed" for e in session.exercises)
    what = "all" if session.completed else f"{done} of"
    when = session.started.local().strftime("%a %d %b %H:%M")
    typer.echo(
        f"Logged {session.routine} on {when}: {what} {len(session.exercises)} exercises, "
        f"{clock(session.heard_ms)}"
        + (f", pain {session.pain}" if session.pain is not None else "")
        + f", in {pipeline.log_path()}"
    )
    typer.echo(streak_line(pipeline.history(last=1)))


@app.command("history")
def history_command(
    routine: OfRoutineOpt = None,
    since: SinceOpt = None,
    last: Annotated[
        int, typer.Option("--last", metavar="N", help="How many sessions to list.")
    ] = 10,
    as_json: JsonOpt = False,
    export: Annotated[
        str | None,
        typer.Option(
            "--export", metavar="FILE.csv", help="Write the log as CSV instead (-: to the output)."
        ),
    ] = None,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            metavar="FILE.svg",
            help="Draw the pain scores by day (the last 8 weeks, or since --since) as a "
            "picture: FILE.svg or FILE.png.",
        ),
    ] = None,
    forget: Annotated[
        bool,
        typer.Option(
            "--forget",
            help="Delete the log's sessions and pain scores for good (all, or those before "
            "--before).",
        ),
    ] = False,
    before: Annotated[
        str | None,
        typer.Option("--before", metavar="DATE", help="With --forget: only days before this."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --forget.")] = False,
) -> None:
    """Your practice: the last sessions, your streak of days, the last weeks as a calendar,
    and today's count for exercises meant to be done so many times a day."""
    from voiceguide import pipeline
    from voiceguide.cli.show import history_view

    if before is not None and not forget:
        raise SettingsError("--before goes with --forget (history --forget --before DATE)")
    if forget:
        what = f"the sessions before {before}" if before else "every session"
        if not yes:
            if not sys.stdin.isatty():
                raise SettingsError(f"--forget deletes {what} for good: add --yes to do it")
            typer.confirm(f"Delete {what} from {pipeline.log_path()} for good?", abort=True)
        count = pipeline.forget(before)
        typer.echo(
            f"Deleted {count} session{'s' if count != 1 else ''} from "
            f"{pipeline.log_path()} (their bytes overwritten)"
        )
        return
    if plot is not None:
        shown, warning = pipeline.plot_pain(plot, since=since, routine=routine)
        if warning:
            typer.echo(f"voiceguide: warning: {warning}", err=True)
        assert shown.pain is not None
        count = sum(len(d.scores) for d in shown.pain.days)
        first_day, last_day = shown.pain.days[0].day, shown.pain.days[-1].day
        typer.echo(
            f"Wrote the pain chart ({count} score{'s' if count != 1 else ''}, "
            f"{first_day:%d %b %Y} to {last_day:%d %b %Y}) to {plot}"
        )
        return
    if export == "-":
        text, _count, warning = pipeline.log_csv(since=since, routine=routine)
        sys.stdout.write(text)
        if warning:
            typer.echo(f"voiceguide: warning: {warning}", err=True)
        return
    if export is not None:
        count, warning = pipeline.export_csv(export, since=since, routine=routine)
        if warning:
            typer.echo(f"voiceguide: warning: {warning}", err=True)
        typer.echo(f"Wrote {count} session{'s' if count != 1 else ''} to {export}")
        return
    history = pipeline.history(since=since, routine=routine, last=last)
    if history.warning:
        typer.echo(f"voiceguide: warning: {history.warning}", err=True)
    if as_json:
        typer.echo(json.dumps(history.to_json(), indent=2))
    else:
        history_view(history)
