"""The command line: the only package that knows typer."""

from voiceguide.cli.commands import app, main

__all__ = ["app", "main"]
