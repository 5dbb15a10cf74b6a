"""--pace slow|standard|fast as a setting: the command line, the config file and the phone
give it like every other; it changes only the time to move (tests/plan/test_pace.py
measures that on the real timeline at every level)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import fake_measure
from tests.helpers.cli import run
from voiceguide.errors import SettingsError
from voiceguide.pipeline.saved import config_path, keep, load_config, load_kept
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.preferences import command_line, resolve
from voiceguide.plan.settings import Settings
from voiceguide.routine.model import Routine


def test_the_command_line_the_config_file_and_the_phone_set_the_pace(routine: Routine) -> None:
    assert resolve(routine, command_line(), None).settings.pace == "standard"
    chosen = resolve(routine, command_line(pace="slow"), None)
    assert chosen.settings.pace == "slow"
    row = next(r for r in chosen.rows if r.setting == "pace")
    assert (row.value, str(row.source)) == ("slow", "command line")
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('pace = "fast"\n')
    assert resolve(routine, command_line(), load_config()).settings.pace == "fast"
    keep(routine.name, {"pace": "slow"})  # the phone's form, above the config file
    kept = resolve(routine, command_line(), load_config(), load_kept(routine.name))
    assert kept.settings.pace == "slow"
    assert next(r for r in kept.rows if r.setting == "pace").source.kind == "phone"
    on_command = command_line(pace="standard")
    assert resolve(routine, on_command, load_config(), load_kept(routine.name)).settings.pace == (
        "standard"
    )


@pytest.mark.parametrize("raw", ["brisk", "", "Slow"])
def test_an_unknown_pace_is_refused_everywhere(raw: str) -> None:
    with pytest.raises(
        SettingsError, match=rf"--pace '{raw}': must be one of slow, standard, fast"
    ):
        command_line(pace=raw)
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(f'pace = "{raw}"\n')
    with pytest.raises(SettingsError, match=r"pace.*must be one of slow, standard, fast"):
        load_config()
    with pytest.raises(SettingsError, match=r"--pace"):
        Settings(pace=raw)  # type: ignore[arg-type]


def test_the_pace_is_in_the_plan_and_its_label(routine: Routine) -> None:
    slow = compile_routine(routine, Settings(pace="slow"), fake_measure)
    standard = compile_routine(routine, Settings(), fake_measure)
    assert slow.total_ms > standard.total_ms
    assert slow.described_settings()["pace"] == "slow"
    assert Settings(pace="fast").label() == "fast pace" and Settings().label() == ""


@pytest.mark.espeak
def test_plan_takes_pace_and_refuses_a_wrong_one_in_one_line() -> None:
    slow = run("plan", "--pace", "slow", "--voice", "gmw/en-us", "--json")
    standard = run("plan", "--voice", "gmw/en-us", "--json")
    assert slow.returncode == 0 and standard.returncode == 0, slow.stderr
    slow_plan, standard_plan = json.loads(slow.stdout), json.loads(standard.stdout)
    assert slow_plan["settings"]["pace"] == "slow"
    assert slow_plan["total_s"] > standard_plan["total_s"]
    assert [h["end_s"] - h["start_s"] for h in slow_plan["holds"]] == [
        h["end_s"] - h["start_s"] for h in standard_plan["holds"]
    ]
    wrong = run("plan", "--pace", "brisk")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "voiceguide: error: --pace 'brisk': must be one of slow, standard, fast"
    ]
