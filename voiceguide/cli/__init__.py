"""The command line: the only package that knows typer."""

from voiceguide.cli.commands import app, main
from voiceguide.cli.history import history_command, log_command  # noqa: F401  (registers them)

__all__ = ["app", "main"]
