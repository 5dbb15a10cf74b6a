"""Running voiceguide as a user does: ``python -m voiceguide`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

__all__ = ["run"]


def run(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout_s: float = 300,
) -> subprocess.CompletedProcess[str]:
    """The command line with ``args``, in the checkout, its output captured as text; ``env``
    adds to this process's environment; stdin is given (empty: nothing waits for a key)."""
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env={**os.environ, **(env or {})},
        input=stdin,
        timeout=timeout_s,
    )
