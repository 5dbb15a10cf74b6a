"""How often a day an exercise asks to be done (``per_day``, checked by the loader), and
``log = false`` in the config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.fake_device import write_tiny_routine
from voiceguide import pipeline
from voiceguide.errors import RoutineError, SettingsError
from voiceguide.plan.preferences import command_line
from voiceguide.routine.loader import load_exercise

SQUEEZE = """\
title: Squeeze
kind: reps
reps: 2
setup: A ball between the knees.
"""


def test_the_bundled_ball_squeeze_asks_for_once_or_twice_a_day() -> None:
    squeeze = pipeline.load(None).exercise("adductor-ball-squeeze")
    assert squeeze.per_day == (1, 2)
    assert pipeline.load(None).exercise("supine-hip-stretch").per_day is None


@pytest.mark.parametrize(("value", "expected"), [("2", (2, 2)), ("[1, 3]", (1, 3))])
def test_per_day_is_a_count_or_a_range(tmp_path: Path, value: str, expected: object) -> None:
    path = tmp_path / "squeeze.yaml"
    path.write_text(SQUEEZE + f"per_day: {value}\n", encoding="utf-8")
    assert load_exercise(path).per_day == expected


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("0", "must be between 1 and 12, got 0"),
        ("[2, 1]", "the fewest (2) is more than the most (1)"),
        ("[1, 2, 3]", "must be a number of times a day, or [fewest, most], got [1, 2, 3]"),
        ("twice", "must be a number, got 'twice'"),
        ("1.5", "must be a whole number, got 1.5"),
    ],
)
def test_a_wrong_per_day_names_the_file_line_exercise_and_field(
    tmp_path: Path, value: str, said: str
) -> None:
    path = tmp_path / "squeeze.yaml"
    path.write_text(SQUEEZE + f"per_day: {value}\n", encoding="utf-8")
    with pytest.raises(RoutineError) as caught:
        load_exercise(path)
    assert str(caught.value) == f"{path}:5, exercise 'squeeze', field 'per_day': {said}"


def _config(text: str) -> None:
    path = Path(os.environ["VOICEGUIDE_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_log_false_in_the_config_turns_recording_off_and_config_shows_it(tmp_path: Path) -> None:
    assert pipeline.prepare(None, command_line())[1].log is True
    _config("log = false\n")
    _routine, resolved = pipeline.prepare(None, command_line())
    assert resolved.log is False
    (row,) = [r for r in resolved.rows if r.setting == "log"]
    assert (row.value, row.source.kind) == ("off", "config")
    _config("[routines.outer-hip]\nlog = false\n")
    assert pipeline.prepare(None, command_line())[1].log is False
    tiny = write_tiny_routine(tmp_path / "tiny")  # another routine: not that table
    assert pipeline.prepare(str(tiny), command_line())[1].log is True


def test_a_log_value_that_is_not_true_or_false_is_an_error() -> None:
    _config('log = "no"\n')
    with pytest.raises(SettingsError, match=r"key 'log' = \"no\": must be true or false"):
        pipeline.prepare(None, command_line())
