"""Saved preferences: the config file, the precedence of every source, bad values, and what
``voiceguide config`` shows."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.routine.test_bad_input import assert_one_clean_line, run_main
from tests.routine.test_fuzz import FUZZ
from voiceguide.errors import SettingsError
from voiceguide.pipeline.saved import config_dir, config_path, load_config
from voiceguide.plan.parsing import DEFAULT_VOICE
from voiceguide.plan.preferences import (
    CONFIG_KEYS,
    Resolved,
    SettingSource,
    command_line,
    resolve,
)
from voiceguide.plan.settings import Override, Settings, apply_settings
from voiceguide.routine.library import resolve_routine
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import Routine

SUPINE, TWIST, SQUEEZE = "supine-hip-stretch", "seated-twist-hip-release", "adductor-ball-squeeze"


def write_config(text: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def resolved(routine: Routine, *args: tuple[str, str], **options: str | int) -> Resolved:
    return resolve(routine, command_line(args, **options), load_config())  # type: ignore[arg-type]


def value(result: Resolved, setting: str, exercise: str | None = None) -> tuple[str, SettingSource]:
    row = next(r for r in result.rows if r.setting == setting and r.exercise == exercise)
    return row.value, row.source


def test_the_config_folder_is_the_platforms_unless_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert config_path() == Path(os.environ["VOICEGUIDE_CONFIG_DIR"]) / "config.toml"
    monkeypatch.delenv("VOICEGUIDE_CONFIG_DIR")
    import platformdirs

    assert config_dir() == Path(platformdirs.user_config_dir("voiceguide", appauthor=False))
    assert load_config(Path("/nonexistent/voiceguide/config.toml")) is None


def test_without_a_config_file_defaults_and_the_routine_apply(routine: Routine) -> None:
    result = resolved(routine)
    assert result.settings == Settings(lexicon=routine.lexicon) and result.bitrate == "96k"
    assert not result.config_found
    assert value(result, "hold", SUPINE) == (
        "30 s",
        SettingSource("routine", routine.exercises[0].source),
    )
    assert value(result, "voice") == (DEFAULT_VOICE, SettingSource("default"))
    assert value(result, "breath")[0] == "off"


def test_each_level_overrides_the_one_below(routine: Routine) -> None:
    path = write_config(
        'voice = "gmw/en-gb-x-rp"\nrate = 150\nhold = 40\nverbosity = "coach"\n'
        'breath = "4-6"\nbitrate = "128k"\n'
        '[routines.outer-hip]\nrate = 170\nhold = 50\nfit = "15m"\n'
        "[routines.another]\nrate = 200\nhold = 90\n"
    )
    top, table = SettingSource("config", path), SettingSource("config", path, "routines.outer-hip")
    # routine < config top level < routine table
    result = resolved(routine)
    assert value(result, "hold", SUPINE) == ("50 s", table)
    assert value(result, "rounds", SUPINE) == (
        "3",
        SettingSource("routine", routine.exercises[0].source),
    )
    assert value(result, "voice") == ("gmw/en-gb-x-rp", top)
    assert value(result, "rate") == ("170", table)
    assert value(result, "fit") == ("15:00", table)
    assert result.settings.voice == "gmw/en-gb-x-rp" and result.settings.rate_wpm == 170
    assert result.settings.verbosity == "coach" and result.settings.breath_s == (4, 6)
    assert result.settings.fit_s == 900 and result.bitrate == "128k"
    # < command line
    result = resolved(
        routine,
        ("hold", "45"),
        rate_wpm=120,
        verbosity="minimal",
        breath="off",
        fit="off",
        bitrate="64k",
    )
    assert value(result, "hold", TWIST) == ("45 s", SettingSource("command line"))
    assert value(result, "rate") == ("120", SettingSource("command line"))
    assert value(result, "breath") == ("off", SettingSource("command line"))
    assert result.settings.breath_s is None and result.settings.fit_s is None
    assert result.settings.verbosity == "minimal" and result.bitrate == "64k"
    assert value(result, "voice") == ("gmw/en-gb-x-rp", top)  # not given: the config's


def test_a_global_value_replaces_per_exercise_ones_from_below_and_not_beside(
    routine: Routine,
) -> None:
    path = write_config(
        f'hold = ["{SUPINE}=60", 40]\nrest = 8\n'
        f'[routines.outer-hip]\nhold = ["{TWIST}=35"]\nrest = ["{SQUEEZE}=30"]\n'
    )
    top, table = SettingSource("config", path), SettingSource("config", path, "routines.outer-hip")
    result = resolved(routine)
    assert value(result, "hold", SUPINE) == ("60 s", top)  # per exercise wins beside a global
    assert value(result, "hold", TWIST) == ("35 s", table)
    assert value(result, "rest", SUPINE) == ("8 s", top)
    assert value(result, "rest", SQUEEZE) == ("30 s", table)
    result = resolved(routine, ("hold", "45"))  # a global on the command line: every hold
    assert {value(result, "hold", e)[0] for e in (SUPINE, TWIST)} == {"45 s"}
    result = resolved(routine, ("hold", f"{TWIST}=20"))  # one exercise: the rest stay
    assert value(result, "hold", TWIST) == ("20 s", SettingSource("command line"))
    assert value(result, "hold", SUPINE) == ("60 s", top)
    applied = Settings(overrides=result.settings.overrides)
    assert Override("hold", 20.0, TWIST) in applied.overrides


def test_top_level_values_that_do_not_fit_a_routine_are_left_out_for_it(tmp_path: Path) -> None:
    from voiceguide.routine.loader import load_routine

    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "only-holds.routine.yaml").write_text(
        "title: Only holds\nexercises: [stretch]\n", encoding="utf-8"
    )
    (folder / "stretch.yaml").write_text("title: A stretch\nkind: hold\n", encoding="utf-8")
    only_holds = load_routine(folder / "only-holds.routine.yaml")
    write_config(f'sets = 3\nhold = ["{SUPINE}=60", "stretch=25"]\n')
    result = resolved(only_holds)
    assert result.settings.overrides == (Override("hold", 25.0, "stretch"),)
    write_config("[routines.only-holds]\nsets = 3\n")  # in the routine's own table: a mistake
    with pytest.raises(
        SettingsError,
        match=r"table \[routines.only-holds\], key 'sets' = 3: "
        r"routine 'only-holds' has no exercise with sets",
    ):
        resolved(only_holds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('hold = "abc"', "top level, key 'hold' = \"abc\": 'abc' is not a number"),
        ("hold = 3", "top level, key 'hold' = 3: must be between 5 s and 600 s"),
        ("hodl = 40", "top level, key 'hodl' = 40: unknown setting (did you mean 'hold'?)"),
        ("rounds = 2.5", "top level, key 'rounds' = 2.5: must be a whole number"),
        ("rest = [true]", "key 'rest' = [true]: must be a number, \"EXERCISE=N\" text"),
        ('rate = "fast"', "key 'rate' = \"fast\": must be a whole number of words per minute"),
        ("rate = 9000", "key 'rate' = 9000: must be between 80 and 450 words per minute"),
        ("voice = 7", "key 'voice' = 7: must be a voice id"),
        ('verbosity = "loud"', "key 'verbosity' = \"loud\": must be one of minimal, standard"),
        ('breath = "4"', "key 'breath' = \"4\": give inhale-exhale seconds, such as 4-6"),
        ('fit = "15x"', "key 'fit' = \"15x\": give a duration such as 15m"),
        ("bitrate = 100", "key 'bitrate' = 100: MP3 bitrates are 32k"),
        ("routines = 3", "top level, key 'routines' = 3: must hold one table per routine"),
        ("[routines]\nouter-hip = 3", "table [routines], key 'outer-hip' = 3: must be a table"),
        ("[routines.outer-hip]\nhold = 2", "table [routines.outer-hip], key 'hold' = 2: must be"),
        (
            '[routines.outer-hip]\nhold = ["nope=40"]',
            "table [routines.outer-hip], key 'hold' = \"nope=40\": no exercise 'nope' in routine",
        ),
        (
            f'[routines.outer-hip]\nsets = ["{SUPINE}=2"]',
            f"key 'sets' = \"{SUPINE}=2\": exercise '{SUPINE}' is a 'hold' exercise, which has no",
        ),
        ("[routines.another-one]\nrate = 5", "table [routines.another-one], key 'rate' = 5:"),
        ("hold = x", "the config file is not valid TOML: Invalid value (at line 1, column 8)"),
        ('voice = "a\\u001b[2Jb"', "key 'voice' = \"a\\u001b[2Jb\": not a voice id"),
        # digits of other scripts, numbers too long for Python, nesting 5,000-10,000 deep
        ('hold = "٤٥"', "key 'hold' = \"٤٥\": '٤٥' is not a number"),
        ('bitrate = "²"', "key 'bitrate' = \"²\": MP3 bitrates are 32k"),
        ('fit = "١٥m"', "key 'fit' = \"١٥m\": give a duration such as 15m"),
        (
            "rate = " + "9" * 4401,
            "the config file is not valid TOML: a number is too long (line 1)",
        ),
        ("rate = 0x" + "f" * 5000, "key 'rate': the integer is larger than TOML allows"),
        (
            "hold = " + "[" * 5000 + "]" * 5000,
            "the config file is not valid TOML: nested too deeply",
        ),
        (
            "hold = " + "[" * 10000 + "]" * 10000,
            "the config file is not valid TOML: nested too deeply",
        ),
        ("hold = " + "{a = " * 5000 + "1" + "}" * 5000, "not valid TOML: nested too deeply"),
        (
            ".".join(["hold"] * 5000) + " = 1",
            "key 'hold.hold.hold.hold.hold.hold.hold.ho...': nested too deeply",
        ),
        (
            "[routines." + ".".join(["x"] * 10000) + "]",
            "key 'routines.x.x.x.x.x.x.x.x': nested too deeply",
        ),
    ],
)
def test_a_bad_config_value_is_one_line_naming_file_table_and_key(text: str, message: str) -> None:
    path = write_config(text + "\n")
    for command in (["config"], ["plan", "--json"], ["export", "--out", "/nonexistent/x"]):
        code, out, err = run_main(*command)
        assert code == 2, (command, err)
        assert out == ""
        line = assert_one_clean_line(err)
        assert line.startswith(f"voiceguide: error: {path}: ") and message in line, line


def test_a_config_file_that_is_not_utf8_or_not_a_file_is_one_line() -> None:
    path = write_config("")
    path.write_bytes(b"hold = 40 # \xff\n")
    code, _, err = run_main("config")
    assert code == 2 and assert_one_clean_line(err).endswith(
        f"{path}: the config file is not UTF-8 text"
    )
    path.unlink()
    path.mkdir()
    code, _, err = run_main("config")
    assert code == 2 and assert_one_clean_line(err).endswith(
        f"{path}: the config file is not a regular file (a folder, a device or a pipe)"
    )


@pytest.mark.parametrize("kind", ["a FIFO", "a link to /dev/zero", "80 KB of comments"])
def test_a_config_file_that_never_ends_is_refused_at_once(kind: str) -> None:
    """Real processes: a FIFO nobody writes to used to hang every command, /dev/zero to grow
    to 1.9 GB before a MemoryError."""
    path = write_config("")
    path.unlink()
    if kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a link to /dev/zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_bytes(b"# a comment\n" * 7000)
    reason = "is larger than 64 KiB" if kind.startswith("80") else "is not a regular file"
    for command in (["config"], ["plan", "--json"], ["voices"]):
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", *command],
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ.copy(),
        )
        assert time.monotonic() - started < 20
        assert result.returncode == 2, result.stderr
        line = assert_one_clean_line(result.stderr)
        assert line.startswith(f"voiceguide: error: {path}: the config file {reason}"), line


def test_command_line_values_are_checked_as_before() -> None:
    with pytest.raises(SettingsError, match="--verbosity 'loud': must be one of"):
        command_line(verbosity="loud")
    with pytest.raises(SettingsError, match="--breath 'x': give inhale-exhale"):
        command_line(breath="x")
    with pytest.raises(SettingsError, match="--bitrate '100': MP3 bitrates"):
        command_line(bitrate="100")
    assert command_line(breath="OFF").breath_s == "off"
    assert command_line(fit="off").fit_s == "off"


def test_config_shows_every_setting_and_where_it_comes_from() -> None:
    path = write_config(f'rate = 150\n[routines.outer-hip]\nhold = ["{SUPINE}=60"]\n')
    code, out, err = run_main("config", "--rest", "12", "--voice", "gmw/en")
    assert code == 0, err
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[0] == "outer-hip: Outer hip release for low back pain"
    assert lines[1] == f"config file: {path}"
    expected = [
        f"hold {SUPINE} 60 s config file [routines.outer-hip]",
        f"hold {TWIST} 30 s routine",
        f"rounds {SUPINE} 3 routine",
        f"reps {SQUEEZE} 12 routine",
        f"rest {SQUEEZE} 12 s command line",
        "voice gmw/en command line",
        "rate 150 config file (top level)",
        "verbosity standard default",
        "breath off default",
        "fit off default",
        "bitrate 96k default",
    ]
    for line in expected:
        assert line in lines, (line, out)
    code, out, _ = run_main("config", "--json")
    shown = json.loads(out)
    assert shown["routine"] == "outer-hip" and shown["config_file"] == str(path)
    assert shown["config_file_found"] is True
    assert {
        "setting": "hold",
        "exercise": SUPINE,
        "value": "60 s",
        "from": "config",
        "path": str(path),
        "table": "routines.outer-hip",
    } in shown["settings"]
    assert {
        "setting": "rate",
        "exercise": None,
        "value": "150",
        "from": "config",
        "path": str(path),
        "table": None,
    } in shown["settings"]


def test_config_without_a_file_says_so_and_a_routine_of_yours_gets_its_table() -> None:
    code, out, _ = run_main("config")
    assert code == 0 and f"config file: {config_path()} (none yet)" in out
    assert run_main("init", "mine")[0] == 0
    write_config("[routines.mine]\nhold = 45\n")
    code, out, err = run_main("config", "mine", "--json")
    assert code == 0, err
    holds = [s for s in json.loads(out)["settings"] if s["setting"] == "hold"]
    assert {s["value"] for s in holds} == {"45 s"}
    assert {s["table"] for s in holds} == {"routines.mine"}
    code, out, _ = run_main("config", "--json")  # another routine: not its table
    assert {s["value"] for s in json.loads(out)["settings"] if s["setting"] == "hold"} == {"30 s"}


@pytest.mark.espeak
def test_plan_and_export_use_the_saved_preferences(tmp_path: Path) -> None:
    from tests.helpers.cli import run

    write_config(f'hold = 45\n[routines.outer-hip]\nhold = ["{SUPINE}=50"]\nbitrate = "64k"\n')
    saved = run("plan", "--json")
    assert saved.returncode == 0, saved.stderr
    typed = run("plan", "--hold", "45", "--hold", f"{SUPINE}=50", "--json")
    assert json.loads(saved.stdout)["total_s"] == json.loads(typed.stdout)["total_s"]
    holds = {h["exercise"]: h["end_s"] - h["start_s"] for h in json.loads(saved.stdout)["holds"]}
    assert holds == pytest.approx({SUPINE: 50, TWIST: 45})
    assert json.loads(saved.stdout)["settings"]["overrides"] == ["--hold 45", f"--hold {SUPINE}=50"]


def _toml(value: object) -> str:
    """A TOML literal (JSON's escapes are TOML's; floats as TOML spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(str(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


_SCALARS = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "45",
            "supine-hip-stretch=40",
            "4-6",
            "15m",
            "96k",
            "off",
            "coach",
            "gmw/en",
            "x=",
            "=5",
            "nope=40",
        ]
    )
)


@functools.cache
def _bundled() -> Routine:
    return load_routine(resolve_routine(None))


@FUZZ
@given(
    top=st.dictionaries(
        st.sampled_from([*CONFIG_KEYS, "holds", "routine"]),
        _SCALARS | st.lists(_SCALARS, max_size=3),
        max_size=4,
    ),
    table=st.dictionaries(
        st.sampled_from(CONFIG_KEYS), _SCALARS | st.lists(_SCALARS, max_size=3), max_size=3
    ),
)
def test_any_config_file_is_settings_or_one_line_naming_the_file(
    top: dict[str, object], table: dict[str, object]
) -> None:
    text = "".join(f"{k} = {_toml(v)}\n" for k, v in top.items())
    text += "[routines.outer-hip]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(text, encoding="utf-8")
        routine = _bundled()
        try:
            config = load_config(path)
            assert config is not None
            result = resolve(routine, command_line(), config)
        except SettingsError as error:
            message = str(error)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            return
    apply_settings(routine, result.settings)  # every value kept applies to the routine
    assert result.bitrate.endswith("k") and len(result.rows) > 6


def test_off_turns_off_only_a_setting_that_can_be_off(tmp_path: Path) -> None:
    """A config's "off" for the voice used to become no voice at all (a crash, not a line)."""
    path = tmp_path / "config.toml"
    path.write_text('voice = "off"\nbed = "off"\n', encoding="utf-8")
    config = load_config(path)
    assert config is not None
    settings = resolve(_bundled(), command_line(), config).settings
    assert settings.voice == "off" and settings.bed is None
