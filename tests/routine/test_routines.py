"""Your own routines: init copies the bundled one, list shows every routine, names find
yours, and validate reports every problem of a routine at once."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.routine.test_bad_input import assert_one_clean_line, run_main
from tests.routine.test_fuzz import FUZZ, script_mapping, write_fuzzed_routine
from voiceguide.errors import RoutineError
from voiceguide.pipeline import load
from voiceguide.plan.validate import estimate_ms, validate_routine
from voiceguide.routine.library import bundled_dir, init_routine, resolve_routine, user_routines_dir
from voiceguide.routine.loader import check_routine, load_routine
from voiceguide.routine.text import clock

BUNDLED = ("supine-hip-stretch.yaml", "seated-twist-hip-release.yaml", "adductor-ball-squeeze.yaml")


def test_init_copies_the_bundled_scripts_into_your_routines_and_names_find_it() -> None:
    code, out, err = run_main("init", "my-hips")
    assert code == 0, err
    folder = user_routines_dir() / "my-hips"
    assert folder.parent == Path(os.environ["VOICEGUIDE_DATA_DIR"]) / "routines"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["my-hips.routine.yaml", *BUNDLED])
    original = bundled_dir() / "outer-hip.routine.yaml"
    assert (folder / "my-hips.routine.yaml").read_bytes() == original.read_bytes()
    for name in BUNDLED:
        assert (folder / name).read_bytes() == (bundled_dir() / name).read_bytes()
    assert "voiceguide validate my-hips" in out
    assert resolve_routine("my-hips") == folder / "my-hips.routine.yaml"
    routine = load("my-hips")
    assert routine.name == "my-hips" and len(routine.exercises) == 3
    code, listed, _ = run_main("list")
    lines = [line.split("\t") for line in listed.splitlines()]
    assert lines[0][:2] == ["outer-hip", "bundled"]
    assert lines[1][:3] == ["my-hips", "yours", "Outer hip release for low back pain"]


def test_init_never_overwrites_and_writes_nothing_when_any_file_exists(tmp_path: Path) -> None:
    assert run_main("init", "mine", "--path", str(tmp_path / "a"))[0] == 0
    routine_file = tmp_path / "a" / "mine.routine.yaml"
    routine_file.write_text("title: edited\n", encoding="utf-8")
    code, _, err = run_main("init", "mine", "--path", str(tmp_path / "a"))
    assert code == 2
    line = assert_one_clean_line(err)
    assert f"{routine_file}: already exists; nothing was written" in line
    assert routine_file.read_text(encoding="utf-8") == "title: edited\n"
    # another name into the same folder: the scripts would be overwritten, so nothing is
    code, _, err = run_main("init", "other", "--path", str(tmp_path / "a"))
    assert code == 2 and "supine-hip-stretch.yaml: already exists" in err
    assert not (tmp_path / "a" / "other.routine.yaml").exists()
    # the same name twice in the user folder
    assert run_main("init", "twice")[0] == 0
    code, _, err = run_main("init", "twice")
    assert code == 2 and "twice.routine.yaml: already exists" in assert_one_clean_line(err)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("outer-hip", "init 'outer-hip': that is a bundled routine's name; choose another"),
        ("My Hips", "init 'My Hips': a routine name is lower-case letters, digits and dashes"),
        ("../escape", "a routine name is lower-case letters"),
    ],
)
def test_init_refuses_names_that_cannot_be_found_by_name(name: str, message: str) -> None:
    code, _, err = run_main("init", name)
    assert code == 2 and message in assert_one_clean_line(err)
    assert not user_routines_dir().exists()


def test_init_path_and_from_copy_any_routine_to_any_folder(tmp_path: Path) -> None:
    assert run_main("init", "first", "--path", str(tmp_path / "one"))[0] == 0
    source = str(tmp_path / "one" / "first.routine.yaml")
    code, out, err = run_main("init", "second", "--path", str(tmp_path / "two"), "--from", source)
    assert code == 0, err
    assert f"voiceguide validate {tmp_path / 'two' / 'second.routine.yaml'}" in out
    routine = load_routine(tmp_path / "two" / "second.routine.yaml")
    assert [e.source.parent for e in routine.exercises] == [tmp_path / "two"] * 3
    with pytest.raises(RoutineError, match="no bundled routine named 'second'"):
        resolve_routine("second")  # only the user routines folder is found by name


def test_list_shows_a_broken_routine_of_yours_without_failing() -> None:
    created = init_routine("broken")
    created.scripts[0].write_text("title: [\n", encoding="utf-8")
    code, out, err = run_main("list")
    assert code == 0, err
    assert "broken\tyours\t(has problems: 'voiceguide validate broken' lists them)" in out


def _break(folder: Path) -> None:
    """Five mistakes in four files."""

    def edit(name: str, old: str, new: str) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    edit("mine.routine.yaml", "author: voiceguide", "autor: voiceguide")
    edit("supine-hip-stretch.yaml", "hold_s: 30", "hold_s: -5")
    edit(
        "supine-hip-stretch.yaml",
        "hold_cue: Stay in the stretch.",
        "hold_cue: Stay in the {sied} stretch.",
    )
    edit("seated-twist-hip-release.yaml", "kind: hold", "kind: stretch")
    edit("adductor-ball-squeeze.yaml", "sets: 2", "sets: many")


def test_validate_reports_every_problem_naming_file_line_exercise_and_field(
    tmp_path: Path,
) -> None:
    init_routine("mine", tmp_path)
    _break(tmp_path)
    code, out, err = run_main("validate", str(tmp_path / "mine.routine.yaml"))
    assert code == 2
    assert assert_one_clean_line(err).endswith("mine.routine.yaml: 5 problems")
    lines = out.splitlines()
    expected = [
        r"mine.routine.yaml:\d+, field 'autor': unknown field \(did you mean 'author'\?\)",
        r"supine-hip-stretch.yaml:\d+, exercise 'supine-hip-stretch', field 'hold_s': must be "
        r"between 5 s and 600 s, got -5",
        r"supine-hip-stretch.yaml:\d+, exercise 'supine-hip-stretch', field 'hold_cue': unknown "
        r"template variable \{sied\}",
        r"seated-twist-hip-release.yaml:\d+, exercise 'seated-twist-hip-release', field 'kind': "
        r"must be 'hold' or 'reps', got 'stretch'",
        r"adductor-ball-squeeze.yaml:\d+, exercise 'adductor-ball-squeeze', field 'sets': must "
        r"be a number, got 'many'",
    ]
    assert len(lines) == len(expected), out
    for line, pattern in zip(lines, expected, strict=True):
        assert line.startswith(str(tmp_path)) and re.search(pattern, line), (line, pattern)
    # loading stops at the first of them, and it is the same
    with pytest.raises(RoutineError) as caught:
        load_routine(tmp_path / "mine.routine.yaml")
    assert str(caught.value) == lines[0]


def test_validate_a_good_routine_says_ok_with_exercises_and_total() -> None:
    code, out, err = run_main("validate", "outer-hip")
    assert code == 0, err
    assert re.fullmatch(
        r"ok: 3 exercises, total 1[5-9]:\d\d, as 'voiceguide plan' gives it\n", out
    ), out
    result = validate_routine(str(bundled_dir() / "outer-hip.routine.yaml"))
    assert result.problems == () and result.exercises == 3


def test_validate_of_a_missing_routine_is_one_line() -> None:
    code, _, err = run_main("validate", "no-such-one")
    assert code == 2 and "no bundled routine named 'no-such-one'" in assert_one_clean_line(err)


@pytest.mark.espeak
def test_the_estimate_is_within_a_tenth_of_the_real_plan() -> None:
    from tests.helpers.cli import run

    real = json.loads(run("plan", "--json").stdout)["total_s"] * 1000
    said = run("validate", "outer-hip").stdout  # validate says plan's own total
    assert f"total {clock(round(real))}," in said, (said, real)
    estimated = validate_routine("outer-hip").total_ms
    assert abs(estimated - real) < 0.1 * real, (estimated, real)
    assert estimate_ms("Hold.") < estimate_ms("Hold.", rate_wpm=100)


@FUZZ
@given(
    scripts=st.lists(script_mapping(), min_size=1, max_size=3),
    edits=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.integers(0, 4),
            st.sampled_from([":", "-", " ", "\n", "{", "[", "'", "&a", "*a", "\t", "\x00", "#"]),
        ),
        max_size=2,
    ),
)
def test_checking_finds_what_loading_finds_first_and_never_fails_otherwise(
    scripts: list[dict[str, Any]], edits: list[tuple[int, int, str]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="voiceguide-fuzz-") as tmp:
        path = write_fuzzed_routine(Path(tmp), scripts, edits)
        routine, problems = check_routine(path)
        try:
            loaded = load_routine(path)
        except RoutineError as error:
            assert routine is None and problems, str(error)
            assert str(problems[0]) == str(error)
            assert all("\n" not in str(p) and p.path is not None for p in problems)
            assert len({str(p) for p in problems}) == len(problems)  # each problem once
            return
        assert problems == [] and routine == loaded
