"""Settings kept from the phone (phone.toml beside the config file): written all at once,
read forgivingly (one bad value is left out alone), one level of the preferences between
the config file and the command line, shown by ``voiceguide config``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.routine.test_bad_input import run_main
from voiceguide.pipeline.saved import config_path, keep, kept_path, load_config, load_kept
from voiceguide.pipeline.setup import prepare
from voiceguide.plan.preferences import SettingSource, command_line, resolve
from voiceguide.routine.model import Routine

SUPINE, TWIST, SQUEEZE = "supine-hip-stretch", "seated-twist-hip-release", "adductor-ball-squeeze"


def _hold(routine: Routine, exercise: str, *args: tuple[str, str]) -> float:
    result = resolve(routine, command_line(args), load_config(), load_kept(routine.name))
    from voiceguide.plan.settings import apply_settings

    applied = apply_settings(routine, result.settings)
    return next(e.hold_s for e in applied.exercises if e.id == exercise)


def test_kept_fields_are_written_as_the_config_files_keys_and_read_back(routine: Routine) -> None:
    path = keep(routine.name, {f"hold:{SUPINE}": "60", "rate": "150", "breath": "4-6"})
    assert path == kept_path() and path.parent == config_path().parent
    keep(routine.name, {f"hold:{SUPINE}": "70", f"hold:{TWIST}": "45", "fit": "off"})
    keep("another-routine", {"verbosity": "coach"})  # other routines' tables stay
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["routines"][routine.name] == {
        "hold": [f"{SUPINE}=70", f"{TWIST}=45"],  # a field's later value replaces its earlier
        "rate": 150,
        "breath": "4-6",
        "fit": "off",
    }
    assert data["routines"]["another-routine"] == {"verbosity": "coach"}
    assert not list(path.parent.glob(".tmp-*"))  # written whole, renamed into place
    kept = load_kept(routine.name)
    assert kept is not None and kept.source == SettingSource(
        "phone", path, f"routines.{routine.name}"
    )
    assert kept.rate_wpm == 150 and kept.breath_s == (4.0, 6.0) and kept.fit_s == "off"
    assert load_kept("no-such-routine") is None


def test_the_kept_level_is_above_the_config_file_and_below_the_command_line(
    routine: Routine,
) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(f'[routines.{routine.name}]\nhold = ["{SUPINE}=40"]\n')
    assert _hold(routine, SUPINE) == 40
    keep(routine.name, {f"hold:{SUPINE}": "60"})
    assert _hold(routine, SUPINE) == 60
    assert _hold(routine, SUPINE, ("hold", "50")) == 50
    _, resolved = prepare(None, command_line())  # what export, play and serve get
    row = next(r for r in resolved.rows if r.setting == "hold" and r.exercise == SUPINE)
    assert row.value == "60 s" and row.source.kind == "phone"
    assert "# voiceguide writes this file" in kept_path().read_text(encoding="utf-8")
    assert config_path().read_text() == f'[routines.{routine.name}]\nhold = ["{SUPINE}=40"]\n'


def test_one_bad_value_is_left_out_alone_and_a_damaged_file_counts_as_empty(
    routine: Routine,
) -> None:
    path = kept_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"[routines.{routine.name}]\n"
        f'hold = ["{SUPINE}=3", "{TWIST}=45", "no-such-exercise=50", 2]\n'  # 3 s, 2 s: too short
        'rate = "fast"\nverbosity = "coach"\nunknown = 1\nbreath = "4-6"\n',
        encoding="utf-8",
    )
    result = resolve(routine, command_line(), None, load_kept(routine.name))
    assert result.settings.verbosity == "coach" and result.settings.breath_s == (4.0, 6.0)
    assert _hold(routine, TWIST) == 45 and _hold(routine, SUPINE) == 30  # the routine's own
    code, out, err = run_main("config", "--json")
    assert code == 0, err
    rows = json.loads(out)["settings"]
    assert {"setting": "verbosity", "exercise": None, "value": "coach", "from": "phone"} in [
        {k: r[k] for k in ("setting", "exercise", "value", "from")} for r in rows
    ]
    keep(routine.name, {"rate": "150"})  # writing over it keeps what it could read
    assert load_kept(routine.name) is not None
    for damaged in (b"[routines\n", b"\xff\xfe", b'routines = "x"', b"[[routines]]\na = 1"):
        path.write_bytes(damaged)
        assert load_kept(routine.name) is None
        code, out, err = run_main("config")
        assert code == 0 and "saved from the phone" not in out, err
    path.unlink()
    path.mkdir()  # not a file at all
    assert load_kept(routine.name) is None


def test_config_shows_the_phones_values_and_where_they_came_from(routine: Routine) -> None:
    keep(routine.name, {f"rest:{SQUEEZE}": "25"})
    code, out, err = run_main("config")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("rest") and SQUEEZE in x)
    assert "25 s" in line and "saved from the phone" in line


def test_a_folder_that_cannot_be_written_raises_oserror(tmp_path: Path, routine: Routine) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    try:
        keep(routine.name, {"rate": "150"}, blocked / "phone.toml")
    except OSError:
        pass
    else:
        raise AssertionError("no OSError")
