"""The benchmark runs and prints its figures (their values are not asserted: machines are
noisy; the README quotes a run)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require
from tests.helpers.fake_device import write_tiny_routine
from voiceguide.bench import virtual_sound


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide.bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_help_figure() -> None:
    result = bench("--only", "4", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"4\. voiceguide --help vs 0\.3 s +\d+\.\d\d s .* ratio +\d+\.\d\d", result.stdout
    )


def test_a_bad_selection_is_refused() -> None:
    result = bench("--only", "7")
    assert result.returncode == 2 and "numbers from 1 to 6" in result.stderr


@pytest.mark.sound
@pytest.mark.espeak
def test_live_figures_are_measured_on_a_virtual_device(tmp_path: Path) -> None:
    problem = virtual_sound.missing()
    require("the virtual sound device", problem is None, problem or "")
    routine = write_tiny_routine(tmp_path / "routine")  # its first hold comes sooner
    result = bench("--only", "5", "--repeat", "1", "--live-routine", str(routine))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"5\. live play: first sound, warm vs 0\.5 s +\d+\.\d\d s", out), out
    assert re.search(r"first sound, cold \(empty cache\) vs 1\.5 s +\d+\.\d\d s", out), out
    assert re.search(r"CPU while holding vs 5 % of one core +\d+\.\d\d %", out), out
