"""``python -m voiceguide`` and the ``voiceguide`` command."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

__all__ = ["run"]


def _interrupted_while_starting(signum: int, _frame: FrameType | None) -> None:
    # Ctrl-C while the command line is still being imported: nothing has started, so there
    # is nothing to undo, and a traceback from deep in an import would only alarm
    sys.stderr.write("voiceguide: error: interrupted\n")
    os._exit(128 + signum)


def run() -> None:
    """The command line, with Ctrl-C answered in one line from the first moment."""
    previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    from voiceguide.cli import main

    signal.signal(signal.SIGINT, previous)  # from here the command line answers it
    main()


if __name__ == "__main__":
    run()
