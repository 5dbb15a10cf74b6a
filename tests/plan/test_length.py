"""A plan longer than 12 hours is refused (exit 2) before anything is synthesized, naming
what makes it long; ``validate`` says the same."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO
from tests.helpers.cli import run


def _long_routine(folder: Path) -> Path:
    """The default routine's first exercise twice, at 20 rounds of 600 s holds and rests a
    side: 10 hours each."""
    folder.mkdir()
    script = (REPO / "scripts" / "supine-hip-stretch.yaml").read_text(encoding="utf-8")
    script = re.sub(r"(?m)^hold_s: .*$", "hold_s: 600", script)
    script = re.sub(r"(?m)^rounds: .*$", "rounds: 20", script)
    script = re.sub(r"(?m)^rest_s: .*$", "rest_s: 600", script)
    script = re.sub(r"(?ms)^fit:.*?(?=^settle_s)", "", script)
    (folder / "supine-hip-stretch.yaml").write_text(script, encoding="utf-8")
    again = script.replace("id: supine-hip-stretch", "id: again").replace(
        "title: Supine hip stretch", "title: Again"
    )
    (folder / "again.yaml").write_text(again, encoding="utf-8")
    routine = folder / "long.routine.yaml"
    routine.write_text(
        "title: Long\nexercises:\n  - supine-hip-stretch\n  - again\n", encoding="utf-8"
    )
    return routine


def test_validate_says_a_routine_is_too_long(tmp_path: Path) -> None:
    result = run("validate", str(_long_routine(tmp_path / "r")))
    assert result.returncode == 2, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "more than the 12 hours allowed" in said and "'Supine hip stretch' 10:" in said


def test_every_option_at_its_maximum_is_refused_before_speaking(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = run(
        "plan",
        *("--hold", "600", "--rounds", "20", "--rest", "600", "--reps", "100", "--sets", "20"),
        env={"VOICEGUIDE_CACHE_DIR": str(cache)},
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "more than the 12 hours allowed" in line and "options: --hold 600" in line
    assert not cache.exists() or not any(cache.rglob("*.wav"))


def test_a_long_routine_file_is_refused_by_plan_too(tmp_path: Path) -> None:
    routine = _long_routine(tmp_path / "r")
    result = run("plan", str(routine), env={"VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 2 and "12 hours" in result.stderr, result.stderr
