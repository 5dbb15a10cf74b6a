"""Loading narration scripts: the bundled routine is the article, and bad files are
reported naming the file, the exercise and the field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from voiceguide.errors import RoutineError
from voiceguide.routine.library import bundled_dir, bundled_routines, resolve_routine
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import ExerciseKind, Routine


def spoken_text(routine: Routine) -> str:
    parts = [routine.intro, routine.safety, routine.closing]
    for e in routine.exercises:
        parts += [
            e.intro,
            e.caution,
            e.setup,
            e.side_setup,
            e.side_again,
            e.hold_cue,
            e.during,
            e.after,
            e.set_intro,
            e.rep_cue,
            e.set_end,
            e.closing,
        ]
    return " ".join(" ".join(parts).split()).lower()


def test_the_bundled_routine_is_listed_and_loads(routine: Routine) -> None:
    assert "outer-hip" in bundled_routines()
    assert [e.id for e in routine.exercises] == [
        "supine-hip-stretch",
        "seated-twist-hip-release",
        "adductor-ball-squeeze",
    ]
    assert routine.exercise("adductor-ball-squeeze").kind is ExerciseKind.REPS


@pytest.mark.parametrize(
    "phrase",
    [
        # why
        "gluteus medius, the piriformis and the rotator muscles",
        "pull on the pelvis",
        "alignment of your spine",
        "stretch the area",
        # supine stretch
        "lie on your back with your knees bent and your feet flat on the floor",
        "up toward your chest",
        "ankle onto your {other_side} thigh, just above the knee",
        "inching its way toward the center of your body",
        "cheating",
        "without unduly forcing it",
        "focuses the stretch in the hip",
        # seated twist
        "ask your doctor or physical therapist",
        "rotate your spine",
        "both legs extended straight in front of you",
        "putting your hands on the floor",
        "against a wall",
        "near the knee",
        "same side as your outstretched leg",
        "elbow presses against the outside of your bent {side} knee",
        "parallel to your lower leg",
        "across your body",
        "turn your upper body toward your bent {side} knee",
        "ease off, or come out of it",
        "dropping your {side} hip back down to the floor",
        "both sitting bones",
        "stretch in your low back",
        "unless the position brings on pain",
        # adductors
        "strong inner thigh muscles, called adductors",
        "small, soft ball between your knees",
        "up to 3 sets",
        "once or twice a day",
    ],
)
def test_every_instruction_tip_and_note_of_the_article_is_spoken(
    routine: Routine, phrase: str
) -> None:
    assert phrase in spoken_text(routine)


def test_defaults_stay_inside_the_articles_ranges(routine: Routine) -> None:
    supine = routine.exercise("supine-hip-stretch")
    twist = routine.exercise("seated-twist-hip-release")
    squeeze = routine.exercise("adductor-ball-squeeze")
    assert supine.hold_s == 30 and 2 <= supine.rounds <= 4  # "about 30 seconds", "a few times"
    assert twist.hold_s >= 30 and set(twist.sides) == {"left", "right"}  # "at least 30 seconds"
    assert 10 <= squeeze.reps <= 15 and 1 <= squeeze.sets <= 3  # "10-15 times", "up to 3 sets"


def test_the_spinal_rotation_note_comes_before_the_twist_is_described(routine: Routine) -> None:
    twist = routine.exercise("seated-twist-hip-release")
    assert "physical therapist" in twist.caution and "physical therapist" not in twist.setup


def _copy_bundled(tmp_path: Path) -> Path:
    target = tmp_path / "routine"
    shutil.copytree(bundled_dir(), target)
    return target / "outer-hip.routine.yaml"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "supine-hip-stretch.yaml",
            "hold_s: 30",
            "hold_s: -5",
            r"supine-hip-stretch.yaml:\d+, exercise 'supine-hip-stretch', field 'hold_s': must be "
            r"between 5 s and 600 s, got -5",
        ),
        (
            "supine-hip-stretch.yaml",
            "hold_s: 30",
            "hold_s: 7200",
            r"field 'hold_s': must be between 5 s and 600 s, got 7200",
        ),
        (
            "supine-hip-stretch.yaml",
            "hold_s: 30",
            "hold_s: thirty",
            r"field 'hold_s': must be a number, got 'thirty'",
        ),
        ("supine-hip-stretch.yaml", "rounds: 3", "rounds: 2.5", r"field 'rounds': must be a whole"),
        (
            "supine-hip-stretch.yaml",
            "hold_s: 30",
            "hold_sec: 30",
            r"field 'hold_sec': unknown field \(did you mean 'hold_s'\?\)",
        ),
        ("supine-hip-stretch.yaml", "kind: hold", "kind: stretch", r"field 'kind': must be 'hold'"),
        (
            "supine-hip-stretch.yaml",
            "sides: [left, right]",
            "sides: [left, middle]",
            r"field 'sides': must hold only 'left' and 'right'",
        ),
        (
            "supine-hip-stretch.yaml",
            "hold_cue: Stay in the stretch.",
            "hold_cue: Stay in the {sied} stretch.",
            r"field 'hold_cue': unknown template variable \{sied\}",
        ),
        (
            "supine-hip-stretch.yaml",
            "    then_s: 3\n  - Next",
            "    then_s: 99\n  - Next",
            r"supine-hip-stretch.yaml:80, exercise 'supine-hip-stretch', field 'closing\[1\]"
            r"\.then_s': must be between 0 s and 60 s, got 99",
        ),
        (
            "supine-hip-stretch.yaml",
            "  - say: Bend one knee",
            "  - sya: Bend one knee",
            r"field 'setup\[2\]': unknown field 'sya' in a step",
        ),
        (
            "outer-hip.routine.yaml",
            "piriformis: pirri-formiss",
            "piriformis: <phoneme>",
            r"outer-hip.routine.yaml:\d+, field 'lexicon': 'piriformis': the respelling must be",
        ),
        (
            "adductor-ball-squeeze.yaml",
            "  reps: [10, 15]",
            "  reps: [10, 15.5]",
            r"field 'fit.reps': must be a whole number",
        ),
        (
            "supine-hip-stretch.yaml",
            "hold_cue: Stay in the stretch.",
            "hold_cue: '   '",
            r"field 'hold_cue': is empty",
        ),
        ("adductor-ball-squeeze.yaml", "reps: 12 ", "reps: 0 ", r"field 'reps': must be between 1"),
        (
            "adductor-ball-squeeze.yaml",
            "sets: 2 ",
            "hold_s: 30\nsets: 2 ",
            r"field 'hold_s': does not apply to a 'reps' exercise",
        ),
        (
            "supine-hip-stretch.yaml",
            "title: Supine hip stretch",
            "title: [a, b]",
            r"field 'title': must be text, got list",
        ),
        (
            "supine-hip-stretch.yaml",
            "id: supine-hip-stretch",
            "id: other-id",
            r"field 'id': is 'other-id' but the routine and the file name say 'supine-hip-stretch'",
        ),
        (
            "outer-hip.routine.yaml",
            "  - adductor-ball-squeeze",
            "  - adductor-ball-squeeze\n  - neck-roll",
            r"outer-hip.routine.yaml:\d+, exercise 'neck-roll', field 'exercises': no narration script",
        ),
        (
            "outer-hip.routine.yaml",
            "  - adductor-ball-squeeze",
            "  - adductor-ball-squeeze\n  - supine-hip-stretch",
            r"field 'exercises': exercise 'supine-hip-stretch' is listed twice",
        ),
        (
            "outer-hip.routine.yaml",
            "title: Outer",
            "titel: Outer",
            r"field 'titel': unknown field \(did you mean 'title'\?\)",
        ),
        (
            "outer-hip.routine.yaml",
            "exercises:\n",
            "exercises: [\n",
            r"outer-hip.routine.yaml:\d+: malformed YAML",
        ),
    ],
)
def test_bad_scripts_name_the_file_exercise_and_field(
    tmp_path: Path, file: str, old: str, new: str, expected: str
) -> None:
    routine_path = _copy_bundled(tmp_path)
    _edit(routine_path.parent / file, old, new)
    with pytest.raises(RoutineError) as caught:
        load_routine(routine_path)
    assert re.search(expected, str(caught.value)), str(caught.value)
    assert "\n" not in str(caught.value)


def test_non_utf8_bytes_are_reported_with_their_line(tmp_path: Path) -> None:
    routine_path = _copy_bundled(tmp_path)
    script = routine_path.parent / "supine-hip-stretch.yaml"
    script.write_bytes(script.read_bytes().replace(b"Supine hip stretch", b"Supine \xff hip", 1))
    with pytest.raises(RoutineError, match=r"supine-hip-stretch.yaml:\d+: is not UTF-8"):
        load_routine(routine_path)


def test_accented_text_and_emoji_load_as_text(tmp_path: Path) -> None:
    routine_path = _copy_bundled(tmp_path)
    _edit(routine_path, "title: Outer hip release for low back pain", "title: Hüfte entspannen 🧘")
    assert load_routine(routine_path).title == "Hüfte entspannen 🧘"


def test_unsafe_yaml_tags_are_refused_not_executed(tmp_path: Path) -> None:
    routine_path = _copy_bundled(tmp_path)
    _edit(routine_path, "author: voiceguide", "author: !!python/object/apply:os.system ['true']")
    with pytest.raises(
        RoutineError,
        match=r":7, field 'author': has the tag "
        r"!!python/object/apply:os.system, which voiceguide does not take",
    ):
        load_routine(routine_path)


def test_routines_are_found_by_name_or_path(tmp_path: Path) -> None:
    assert resolve_routine("outer-hip") == bundled_dir() / "outer-hip.routine.yaml"
    routine_path = _copy_bundled(tmp_path)
    assert resolve_routine(str(routine_path)) == routine_path
    with pytest.raises(
        RoutineError, match=r"no bundled routine named 'outer-hips' .*did you mean 'outer-hip'"
    ):
        resolve_routine("outer-hips")
    with pytest.raises(RoutineError, match="no such routine file"):
        resolve_routine(str(tmp_path / "missing.routine.yaml"))


def test_a_file_is_composed_once_and_merge_keys_leave_its_tree_as_written() -> None:
    """parse() builds from compose()'s tree (one scan of the file for its data and its
    lines); building flattens merge keys in place, so it works on a copy of that tree."""
    from voiceguide.routine import plain_yaml

    text = "base: &b {hold_s: 30, reps: 5}\nsupine: {<<: *b, hold_s: 45}\n"
    tree = plain_yaml.compose(text)
    assert plain_yaml.compose(text) is tree  # composed once
    first = plain_yaml.parse(text)
    assert first["supine"] == {"hold_s": 45, "reps": 5}  # the merge, overridden locally
    assert plain_yaml.parse(text) == first
    assert tree is not None and [k.value for k, _ in tree.value[1][1].value] == ["<<", "hold_s"]
    plain = "supine: {hold_s: 45, reps: 5}\n"
    assert (
        plain_yaml.parse(plain) == plain_yaml.parse(plain) == {"supine": {"hold_s": 45, "reps": 5}}
    )
