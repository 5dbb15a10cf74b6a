"""The command line: the only package that knows typer."""

from voiceguide.cli.commands import app, main
from voiceguide.cli.practice_log import history_command, log_command  # noqa: F401  (registers them)
from voiceguide.cli.serving import prepare_from_args  # (and registers serve)

__all__ = ["app", "main", "prepare_from_args"]
