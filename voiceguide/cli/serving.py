"""``voiceguide serve``: the export served to a phone. Its settings form goes through
:func:`prepare_from_args`: ``voiceguide export``'s own parsing and checks."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from voiceguide.cli.commands import _usage_message, app
from voiceguide.cli.options import BitrateOpt, OutOpt, RoutineOptions, routine_options
from voiceguide.cli.stopping import one_line
from voiceguide.errors import Interrupted, SettingsError

if TYPE_CHECKING:
    from voiceguide.plan.preferences import Resolved
    from voiceguide.routine.model import Routine

__all__ = ["prepare_from_args", "serve_command"]


@app.command("serve")
@routine_options
def serve_command(
    options: RoutineOptions,
    out: OutOpt = Path("audio"),
    bitrate: BitrateOpt = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on.", show_default="all of this machine's"),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = 8765,
    new_link: Annotated[
        bool,
        typer.Option(
            "--new-link",
            help="Give the page a new address (the old link and its QR code stop working).",
        ),
    ] = False,
) -> None:
    """Serve the routine to your phone: exports it (or reuses an up-to-date export), prints
    a QR code of the page's address, then serves a player with chapters, lock-screen
    controls, downloads and the settings until Ctrl-C."""
    from voiceguide import serve
    from voiceguide.cli.show import export_progress

    args = options.args()
    if bitrate is not None:
        args.append(f"--bitrate={bitrate}")
    try:
        serve.run(
            serve.Options(
                options.routine, tuple(args), out, host=host, port=port, new_link=new_link
            ),
            prepare=functools.partial(prepare_from_args, options.routine),
            echo=lambda line: typer.echo(one_line(line), err=True),
            out=typer.echo,
            color=sys.stdout.isatty(),
            progress=export_progress,
        )
    except Interrupted as stopped:  # Ctrl-C (or SIGTERM, SIGHUP): the way to stop serving
        with contextlib.suppress(OSError):  # the terminal may be gone
            typer.echo("Stopped.", err=True)
        raise typer.Exit(stopped.exit_code) from None


@functools.cache
def _export_command() -> tuple[Any, Any]:
    group = typer.main.get_command(app)
    return group, group.commands["export"]  # type: ignore[attr-defined]


def prepare_from_args(routine: str | None, args: Sequence[str]) -> tuple[Routine, Resolved]:
    """The routine and its settings from ``voiceguide export`` options (``["--hold=45"]``),
    parsed and checked by that command's own parser and checks: an error is the message
    the command line prints (after ``voiceguide: error:``)."""
    group, export = _export_command()
    given = [*([routine] if routine is not None else []), *args]
    try:
        root = group.context_class(group, info_name="voiceguide")
        with export.make_context("export", given, parent=root) as context:
            params = dict(context.params)
    except Exception as error:  # click's usage errors (typer may carry its own click)
        usage = _usage_message(error)
        if usage is None:
            raise
        raise SettingsError(usage) from None
    return RoutineOptions.of(params).prepare(params["bitrate"])
