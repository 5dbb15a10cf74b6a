"""Bad input, tried for real: broken routine files and command-line values.

Every case must end in exit code 2 and one line naming the file, the exercise and the field
(or the option), never a traceback; nothing is rendered. ``tests/routine/test_loader.py`` and
``tests/cli/test_cli.py`` hold the first, simpler cases; these are the hostile ones.
"""

from __future__ import annotations

import re
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import voiceguide.cli.commands as cli
from tests.conftest import REPO
from voiceguide.errors import RoutineError
from voiceguide.routine.library import bundled_dir
from voiceguide.routine.loader import load_routine

ROUTINE = "outer-hip.routine.yaml"
SUPINE = "supine-hip-stretch.yaml"
SQUEEZE = "adductor-ball-squeeze.yaml"


def run_main(*args: str) -> tuple[int, str, str]:
    """The real console entry point, in this process (fast enough for many cases)."""
    return _run_main(list(args))


def _run_main(args: list[str]) -> tuple[int, str, str]:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    argv, sigint = sys.argv, signal.getsignal(signal.SIGINT)
    sys.argv = ["voiceguide", *args]
    cli._state["verbose"] = False
    try:
        with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as caught:
            cli.main()
    finally:
        sys.argv = argv
        signal.signal(signal.SIGINT, sigint)  # main() installs its own Ctrl-C handler
    code = caught.value.code
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def assert_one_clean_line(stderr: str) -> str:
    """One line, no traceback, no raw control characters (escape sequences, NUL...)."""
    assert stderr.endswith("\n") and stderr.count("\n") == 1, repr(stderr)
    assert "Traceback" not in stderr
    line = stderr.rstrip("\n")
    assert line.isprintable(), repr(line)
    assert line.startswith("voiceguide: error: "), line
    assert len(line) < 600, f"{len(line)} characters: {line[:200]}..."
    return line


# ---------------------------------------------------------------- routine and script files


@dataclass(frozen=True)
class Bad:
    """One broken file: ``edit`` turns the bundled file's bytes into the broken ones."""

    file: str
    edit: Callable[[bytes], bytes]
    message: str  # a regular expression the error must match
    exercise: str | None = None
    field: str | None = None
    line: bool = True  # the message gives the line


def sub(old: str | bytes, new: str | bytes) -> Callable[[bytes], bytes]:
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new

    def edit(data: bytes) -> bytes:
        assert old_b in data, old_b
        return data.replace(old_b, new_b, 1)

    return edit


def whole(content: str | bytes) -> Callable[[bytes], bytes]:
    data = content.encode() if isinstance(content, str) else content
    return lambda _old: data


def _alias_bomb() -> str:
    """A "billion laughs" value: 10^7 strings if expanded; YAML shares them instead."""
    levels = ["&a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    return "[" + ", ".join(levels) + "]"


SUP, SQU = "supine-hip-stretch", "adductor-ball-squeeze"
HOLD_30 = "hold_s: 30"

BAD_FILES: dict[str, Bad] = {
    # malformed YAML: the line is reported
    "tab indentation": Bad(SUPINE, sub(HOLD_30, "\thold_s: 30"), r"malformed YAML"),
    "TOML instead of YAML": Bad(SUPINE, sub(HOLD_30, "hold_s = 30"), r"malformed YAML"),
    "unterminated quote": Bad(
        SUPINE, sub("title: Supine hip stretch", 'title: "Supine hip'), r"malformed YAML"
    ),
    "bad indentation": Bad(
        ROUTINE,
        sub("author: voiceguide", "  author: voiceguide"),
        r":7: malformed YAML: mapping values are not allowed here",
    ),
    "NUL byte": Bad(
        SUPINE,
        sub(b"title: Supine", b"title: Sup\x00ine"),
        r":4: malformed YAML: character U\+0000 is not allowed",
    ),
    "escape character": Bad(
        SUPINE, sub(b"title: Supine", b"title: Sup\x1bine"), r"malformed YAML: character U\+001B"
    ),
    "a list, not a mapping": Bad(
        ROUTINE,
        whole("- title: x\n- exercises: []\n"),
        r"must be a YAML mapping of fields, got list",
        line=False,
    ),
    "a bare string": Bad(
        SUPINE, whole("just some words\n"), r"must be a YAML mapping of fields, got str", line=False
    ),
    "empty file": Bad(SUPINE, whole(b""), r"is empty; it must be a YAML mapping", line=False),
    "only comments": Bad(ROUTINE, whole("# nothing here\n"), r"is empty", line=False),
    "key given twice": Bad(
        SUPINE,
        sub(HOLD_30, "hold_s: 30\nhold_s: 45"),
        r":8, exercise 'supine-hip-stretch', field 'hold_s': is given twice",
        SUP,
        "hold_s",
    ),
    # wrong types
    "hold as a list": Bad(
        SUPINE, sub(HOLD_30, "hold_s: [30]"), r"must be a number, got \[30\]", SUP, "hold_s"
    ),
    "hold as yes": Bad(
        SUPINE, sub(HOLD_30, "hold_s: yes"), r"must be a number, got True", SUP, "hold_s"
    ),
    "hold as a quoted number": Bad(
        SUPINE, sub(HOLD_30, 'hold_s: "30"'), r"must be a number, got '30'", SUP, "hold_s"
    ),
    "a date for a number": Bad(
        SUPINE,
        sub("settle_s: 2 ", "settle_s: 2001-02-30 "),
        r"must be a number, got '2001-02-30'",
        SUP,
        "settle_s",
    ),
    "title as binary": Bad(
        SUPINE,
        sub("title: Supine hip stretch", "title: !!binary aGVsbG8="),
        r"has the tag !!binary, which voiceguide does not take",
        SUP,
        "title",
    ),
    "sides as text": Bad(
        SUPINE, sub("sides: [left, right]", "sides: left"), r"must be a list", SUP, "sides"
    ),
    "side named twice": Bad(
        SUPINE,
        sub("sides: [left, right]", "sides: [left, left]"),
        r"names 'left' twice",
        SUP,
        "sides",
    ),
    "kind as a list": Bad(
        SUPINE, sub("kind: hold", "kind: [hold]"), r"must be 'hold' or 'reps'", SUP, "kind"
    ),
    "id as a number": Bad(
        SUPINE, sub("id: supine-hip-stretch", "id: 42"), r"must be lower-case letters", field="id"
    ),
    "id with a path in it": Bad(
        ROUTINE,
        sub("  - supine-hip-stretch", "  - ../../etc/passwd"),
        r"'../../etc/passwd' is not an exercise id",
        field="exercises",
    ),
    "id with upper case": Bad(
        ROUTINE,
        sub("  - supine-hip-stretch", "  - Supine"),
        r"is not an exercise id",
        field="exercises",
    ),
    "exercises as a mapping": Bad(
        ROUTINE,
        sub("exercises:\n", "exercises: {a: 1}\nx_exercises:\n"),
        r"unknown field",
        field="x_exercises",
    ),
    "exercises empty": Bad(
        ROUTINE,
        sub(
            "  - supine-hip-stretch\n  - seated-twist-hip-release\n  - adductor-ball-squeeze\n",
            "  []\n",
        ),
        r"must be a non-empty list",
        field="exercises",
    ),
    "entry is a number": Bad(
        ROUTINE,
        sub("  - supine-hip-stretch", "  - 7"),
        r"entry 1 must be an exercise id",
        field="exercises",
    ),
    "entry without id": Bad(
        ROUTINE,
        sub("  - supine-hip-stretch", "  - {hold_s: 40}"),
        r"entry 1 must be an exercise id",
        field="exercises",
    ),
    "author as a list": Bad(
        ROUTINE,
        sub("author: voiceguide", "author: [a, b]"),
        r"must be text, got list",
        field="author",
    ),
    "gap as text": Bad(
        ROUTINE,
        sub("author: voiceguide", "author: voiceguide\nchapter_gap_s: two"),
        r"must be a number, got 'two'",
        field="chapter_gap_s",
    ),
    # missing required fields
    "script without a title": Bad(
        SUPINE, sub("title: Supine hip stretch\n", ""), r"is missing", SUP, "title", line=False
    ),
    "routine without a title": Bad(
        ROUTINE,
        sub("title: Outer hip release for low back pain\n", ""),
        r"is missing",
        field="title",
        line=False,
    ),
    "routine without exercises": Bad(
        ROUTINE,
        sub(
            "exercises:\n  - supine-hip-stretch\n  - seated-twist-hip-release\n  - adductor-ball-squeeze\n",
            "",
        ),
        r"must be a non-empty list",
        field="exercises",
        line=False,
    ),
    # unknown keys, with a "did you mean"
    "unknown script field": Bad(
        SUPINE,
        sub("rest_s: 5", "rest: 5"),
        r"unknown field \(did you mean 'rest_s'\?\)",
        SUP,
        "rest",
    ),
    "unknown routine field": Bad(
        ROUTINE,
        sub("closing:", "closng:"),
        r"unknown field \(did you mean 'closing'\?\)",
        field="closng",
    ),
    "unknown entry field": Bad(
        ROUTINE,
        sub("  - supine-hip-stretch", "  - {id: supine-hip-stretch, hold_sec: 40}"),
        r"unknown field \(did you mean 'hold_s'\?\)",
        SUP,
        "hold_sec",
    ),
    "a newline in a field name": Bad(
        SUPINE, sub(HOLD_30, '"hold\\ns": 30'), r"unknown field", SUP, r"hold\ns"
    ),
    "an escape sequence as a field name": Bad(
        SUPINE, sub(HOLD_30, '"\\e[2J": 30'), r"unknown field", SUP, r"\x1b[2J"
    ),
    "an entry number for the other kind": Bad(
        ROUTINE,
        sub("  - adductor-ball-squeeze", "  - {id: adductor-ball-squeeze, hold_s: 40}"),
        r"does not apply to 'adductor-ball-squeeze', a 'reps' exercise",
        SQU,
        "hold_s",
    ),
    # durations: negative, zero, absurd
    "zero hold": Bad(
        SUPINE, sub(HOLD_30, "hold_s: 0"), r"must be between 5 s and 600 s, got 0", SUP, "hold_s"
    ),
    "a hold over an hour": Bad(
        SUPINE, sub(HOLD_30, "hold_s: 3601"), r"between 5 s and 600 s, got 3601", SUP, "hold_s"
    ),
    "a hold of 10^400 s": Bad(
        SUPINE,
        sub(HOLD_30, "hold_s: " + "9" * 400),
        r"is a number 400 characters long",
        SUP,
        "hold_s",
    ),
    "an infinite hold": Bad(SUPINE, sub(HOLD_30, "hold_s: .inf"), r"got inf", SUP, "hold_s"),
    "a NaN hold": Bad(SUPINE, sub(HOLD_30, "hold_s: .nan"), r"got nan", SUP, "hold_s"),
    "negative rest": Bad(
        SUPINE, sub("rest_s: 5", "rest_s: -1"), r"between 0 s and 600 s, got -1", SUP, "rest_s"
    ),
    "a settle of a billion s": Bad(
        SUPINE, sub("settle_s: 2 ", "settle_s: 1e9 "), r"got '1e9'", SUP, "settle_s"
    ),
    "zero work": Bad(
        SQUEEZE, sub("work_s: 3", "work_s: 0"), r"between 1 s and 30 s", SQU, "work_s"
    ),
    "a tiny release": Bad(
        SQUEEZE, sub("release_s: 2", "release_s: 0.1"), r"between 0.5 s and 30 s", SQU, "release_s"
    ),
    "negative chapter gap": Bad(
        ROUTINE,
        sub("author: voiceguide", "author: voiceguide\nchapter_gap_s: -1"),
        r"between 0 s and 30 s",
        field="chapter_gap_s",
    ),
    # reps, sets and rounds out of range
    "101 reps": Bad(
        SQUEEZE, sub("reps: 12", "reps: 101"), r"between 1 and 100, got 101", SQU, "reps"
    ),
    "negative reps": Bad(SQUEEZE, sub("reps: 12", "reps: -3"), r"between 1 and 100", SQU, "reps"),
    "zero sets": Bad(SQUEEZE, sub("sets: 2", "sets: 0"), r"between 1 and 20, got 0", SQU, "sets"),
    "21 sets": Bad(SQUEEZE, sub("sets: 2", "sets: 21"), r"between 1 and 20", SQU, "sets"),
    "zero rounds": Bad(SUPINE, sub("rounds: 3", "rounds: 0"), r"between 1 and 20", SUP, "rounds"),
    "10^400 rounds": Bad(
        SUPINE,
        sub("rounds: 3", "rounds: 1" + "0" * 400),
        r"a number 401 characters long",
        SUP,
        "rounds",
    ),
    "sets in a routine entry": Bad(
        ROUTINE,
        sub("  - adductor-ball-squeeze", "  - {id: adductor-ball-squeeze, sets: 50}"),
        r"between 1 and 20, got 50",
        SQU,
        "sets",
    ),
    # empty, whitespace-only or wordless narration
    "empty setup": Bad(
        SUPINE, sub("setup:\n", 'setup: ""\nx_setup:\n'), r"unknown field|is empty", SUP
    ),
    "whitespace-only text": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: '   \t  '"),
        r"is empty",
        SUP,
        "hold_cue",
    ),
    "blank lines only": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", 'hold_cue: "\\n\\n\\n"'),
        r"is empty",
        SUP,
        "hold_cue",
    ),
    "punctuation only": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: '...'"),
        r"nothing to speak",
        SUP,
        "hold_cue",
    ),
    "markup only": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: '<break time=\"10s\"/>'"),
        r"nothing to speak",
        SUP,
        "hold_cue",
    ),
    "emoji-only title": Bad(
        SUPINE,
        sub("title: Supine hip stretch", "title: \U0001f9d8\U0001f9d8"),
        r"nothing to speak",
        SUP,
        "title",
    ),
    "a wordless paragraph": Bad(
        ROUTINE,
        sub("intro: |\n", "intro: |\n  ***\n\n"),
        r"paragraph 1 has nothing to speak",
        field="intro",
    ),
    "a bell character in text": Bad(
        SUPINE,
        sub("title: Supine hip stretch", 'title: "Supine \\a hip"'),
        r"control characters",
        SUP,
        "title",
    ),
    "an unpaired surrogate": Bad(
        SUPINE,
        sub("title: Supine hip stretch", 'title: "Supine \\ud800 hip"'),
        r"unpaired surrogate",
        SUP,
        "title",
    ),
    "a side named in an exercise without sides": Bad(
        SUPINE,
        lambda data: re.sub(rb"(?ms)^(sides|side_setup|side_again):.*?(?=^\w)", b"", data),
        r"unknown template variable \{side\}",
        SUP,
        "during",
    ),
    # the routine names scripts that are not there
    "a missing script": Bad(
        ROUTINE,
        sub("  - adductor-ball-squeeze", "  - adductor-ball-squeeze\n  - neck-roll"),
        r"no narration script neck-roll.yaml next to the routine",
        "neck-roll",
        "exercises",
    ),
    "an exercise listed twice": Bad(
        ROUTINE,
        sub(
            "  - adductor-ball-squeeze",
            "  - adductor-ball-squeeze\n  - {id: adductor-ball-squeeze, sets: 3}",
        ),
        r"exercise 'adductor-ball-squeeze' is listed twice",
        field="exercises",
    ),
    "a script whose id differs": Bad(
        SQUEEZE,
        sub("id: adductor-ball-squeeze", "id: supine-hip-stretch"),
        r"is 'supine-hip-stretch' but the routine and the file name say",
        field="id",
    ),
    # encodings and sizes
    "UTF-16": Bad(
        SUPINE,
        lambda data: data.decode().encode("utf-16"),
        r"is not UTF-8 text \(byte 0xff at offset 0\)",
    ),
    "Latin-1 accents": Bad(
        SUPINE,
        lambda data: data.replace(b"Supine hip stretch", "Étirement".encode("latin-1")),
        r"is not UTF-8 text \(byte 0xc9",
    ),
    "a 1 MB line": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: " + "w" * 1_000_000),
        r"is larger than 256 KiB",
        line=False,
    ),
    "a 200 kB paragraph": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: " + "word " * 40_000),
        r"the text is 199999 characters long; split it",
        SUP,
        "hold_cue",
    ),
    "5,000 nested lists": Bad(
        SUPINE,
        sub(HOLD_30, "hold_s: " + "[" * 5000 + "]" * 5000),
        r"malformed YAML: nested too deeply",
        line=False,
    ),
    "5,000 nested mappings": Bad(
        SUPINE,
        sub(HOLD_30, "hold_s: " + "{a: " * 5000 + "1" + "}" * 5000),
        r"nested too deeply",
        line=False,
    ),
    "a billion laughs": Bad(
        SUPINE,
        sub(HOLD_30, "hold_s: " + _alias_bomb()),
        r"must be a number, got \[\[",
        SUP,
        "hold_s",
    ),
    # templates that would reach into Python
    "attribute access in a template": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: Release {side.__class__}"),
        r"unknown template variable \{side.__class__\}",
        SUP,
        "hold_cue",
    ),
    "indexing in a template": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: Release {side[0]}"),
        r"unknown template variable",
        SUP,
        "hold_cue",
    ),
    "a conversion in a template": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: Release {side!r}"),
        r"may not carry a format spec or conversion",
        SUP,
        "hold_cue",
    ),
    "a positional field": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: Release {0} {}"),
        r"unknown template variable",
        SUP,
        "hold_cue",
    ),
    "an unclosed brace": Bad(
        SUPINE,
        sub("hold_cue: Stay in the stretch.", "hold_cue: Release {side"),
        r"bad template",
        SUP,
        "hold_cue",
    ),
    # unsafe YAML is refused, never run
    "python object tag": Bad(
        ROUTINE,
        sub("author: voiceguide", "author: !!python/object/apply:os.system ['touch PWNED']"),
        r"has the tag !!python/object/apply:os.system, which voiceguide does not take",
        field="author",
    ),
    "python name tag": Bad(
        ROUTINE,
        sub("author: voiceguide", "author: !!python/name:os.system"),
        r"has the tag !!python/name:os.system",
        field="author",
    ),
    # values PyYAML cannot build, or builds into types no field takes (issue 11, point 3)
    "a !!bool that is not": Bad(
        SUPINE,
        sub("settle_s: 2 ", "settle_s: !!bool maybe "),
        r":14, exercise '[a-z-]+', field 'settle_s': is tagged !!bool but is not true or false$",
        SUP,
        "settle_s",
    ),
    "a !!float of letters": Bad(
        SUPINE,
        sub("settle_s: 2 ", 'settle_s: !!float "abc" '),
        r"is tagged !!float \(a number\) but is not one$",
        SUP,
        "settle_s",
    ),
    "a !!int of letters": Bad(
        SUPINE,
        sub("settle_s: 2 ", 'settle_s: !!int "abc" '),
        r"is tagged !!int \(a whole number\) but is not one$",
        SUP,
        "settle_s",
    ),
    "a !!int in base 8 with a 9": Bad(
        SUPINE, sub("settle_s: 2 ", "settle_s: !!int 0o99 "), r"is tagged !!int", SUP, "settle_s"
    ),
    "an impossible !!timestamp": Bad(
        SUPINE,
        sub("settle_s: 2 ", "settle_s: !!timestamp 2001-13-01 "),
        r"has the tag !!timestamp, which voiceguide does not take \(only text, numbers, lists and mappings\)$",
        SUP,
        "settle_s",
    ),
    "a 4,401-digit number": Bad(
        SUPINE,
        sub("settle_s: 2 ", "settle_s: " + "9" * 4401 + " "),
        r"is a number 4,401 characters long",
        SUP,
        "settle_s",
    ),
    "a hex number of 5,000 digits": Bad(
        SUPINE,
        sub("settle_s: 2 ", "settle_s: 0x" + "f" * 5000 + " "),
        r"is a number 5,002 characters long",
        SUP,
        "settle_s",
    ),
    "a set inside a list": Bad(
        SUPINE,
        sub("sides: [left, right]", "sides: [left, !!set {right}]"),
        r"has the tag !!set",
        SUP,
        "sides",
    ),
    "a tag of one's own": Bad(
        ROUTINE,
        sub("author: voiceguide", "author: !secret x"),
        r"has the tag !secret",
        field="author",
    ),
    "a tagged field name": Bad(
        SUPINE, sub("settle_s: 2 ", "!!binary c2V0dGxl: 2 "), r":14: has the tag !!binary"
    ),
    "a whole file that is a tag": Bad(
        SUPINE, whole("!!binary aGVsbG8=\n"), r":1: has the tag !!binary"
    ),
    # where the routine file names a missing script, that entry's own line (point 13)
    "a script missing, on its entry's line": Bad(
        ROUTINE,
        lambda data: data.replace(b"  - adductor-ball-squeeze", b"  - neck-roll"),
        r"outer-hip\.routine\.yaml:44, exercise 'neck-roll', field 'exercises': no narration script",
        "neck-roll",
        "exercises",
    ),
}


def _broken_copy(tmp_path: Path, bad: Bad) -> Path:
    folder = tmp_path / "routine"
    shutil.copytree(bundled_dir(), folder)
    target = folder / bad.file
    target.write_bytes(bad.edit(target.read_bytes()))
    return folder / ROUTINE


def _check_message(message: str, bad: Bad, folder: Path) -> None:
    assert re.search(bad.message, message), message
    assert message.startswith(str(folder / bad.file) + (":" if bad.line else "")), message
    if bad.line:
        assert re.match(re.escape(str(folder / bad.file)) + r":\d+[:,]", message), message
    if bad.exercise is not None:
        assert f"exercise '{bad.exercise}'" in message, message
    if bad.field is not None:
        assert f"field '{bad.field}'" in message, message


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_one_line_naming_file_exercise_and_field(tmp_path: Path, case: str) -> None:
    bad = BAD_FILES[case]
    routine_path = _broken_copy(tmp_path, bad)
    with pytest.raises(RoutineError) as caught:
        load_routine(routine_path)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 500, message[:300]
    _check_message(message, bad, routine_path.parent)
    # the command line: exit 2, one line, no traceback; nothing escapes (no file is created)
    code, stdout, stderr = run_main("plan", str(routine_path))
    assert code == 2, stderr
    line = assert_one_clean_line(stderr)
    assert stdout == ""
    assert str(routine_path.parent / bad.file) in line.encode("ascii", "backslashreplace").decode()
    assert not (REPO / "PWNED").exists() and not Path("PWNED").exists()


@pytest.mark.parametrize(
    "case",
    ["NUL byte", "a 1 MB line", "5,000 nested lists", "a billion laughs", "emoji-only title"],
)
def test_the_worst_files_through_a_real_process(tmp_path: Path, case: str) -> None:
    from tests.helpers.cli import run

    routine_path = _broken_copy(tmp_path, BAD_FILES[case])
    result = run("plan", str(routine_path))
    assert result.returncode == 2
    assert_one_clean_line(result.stderr)


def test_accented_text_and_emoji_are_spoken_and_named(tmp_path: Path) -> None:
    from tests.conftest import fake_measure
    from voiceguide.plan.compiler import compile_routine
    from voiceguide.plan.settings import Settings
    from voiceguide.plan.timeline import Speech

    folder = tmp_path / "routine"
    shutil.copytree(bundled_dir(), folder)
    script = folder / SUPINE
    text = script.read_text(encoding="utf-8")
    text = text.replace("title: Supine hip stretch", "title: Étirement de la hanche 🧘‍♀️")
    text = text.replace("hold_cue: Stay in the stretch.", "hold_cue: Relâchez, {side} — ça va ? 👍")
    script.write_text(text, encoding="utf-8")
    routine = load_routine(folder / ROUTINE)
    assert routine.exercises[0].title == "Étirement de la hanche 🧘‍♀️"
    timeline = compile_routine(routine, Settings(), fake_measure)
    spoken = [e.text for e in timeline.events if isinstance(e, Speech)]
    assert "Étirement de la hanche 🧘‍♀️." in spoken
    assert "Relâchez, left — ça va ? 👍" in spoken


# ---------------------------------------------------------------- command-line values

BAD_OPTIONS: dict[str, tuple[list[str], str]] = {
    "empty hold": (["--hold", ""], r"--hold '': '' is not a number"),
    "only '='": (["--hold", "="], r"the exercise id before '=' is empty"),
    "no value after '='": (["--hold", "supine-hip-stretch="], r"'' is not a number"),
    "hold nan": (["--hold", "nan"], r"must be between 5 s and 600 s"),
    "hold inf": (["--hold", "inf"], r"must be between 5 s and 600 s"),
    "hold 1e999": (["--hold", "1e999"], r"must be between 5 s and 600 s"),
    "hold of an hour": (["--hold", "3600"], r"must be between 5 s and 600 s"),
    "hold negative": (["--hold", "-30"], r"must be between 5 s and 600 s"),
    "a newline in a value": (["--hold", "4\n5"], r"is not a number"),
    "an escape sequence": (["--hold", "\x1b[2J"], r"is not a number"),
    "misspelt exercise": (["--hold", "supine-hip-strech=40"], r"did you mean 'supine-hip-stretch'"),
    "hold of a reps exercise": (
        ["--hold", "adductor-ball-squeeze=40"],
        r"'reps' exercise, which has no hold_s",
    ),
    "rounds 0": (["--rounds", "0"], r"--rounds '0': must be between 1 and 20"),
    "rounds 2.5": (["--rounds", "2.5"], r"must be a whole number"),
    "reps 101": (["--reps", "101"], r"--reps '101': must be between 1 and 100"),
    "sets 21": (["--sets", "21"], r"--sets '21': must be between 1 and 20"),
    "rest 601": (["--rest", "601"], r"--rest '601': must be between 0 s and 600 s"),
    "rest of an unknown exercise": (["--rest", "x=5"], r"no exercise 'x' in routine 'outer-hip'"),
    "rate abc": (["--rate", "abc"], r"Invalid value for '--rate'.*\(see '.*plan --help'\)"),
    "rate 0": (["--rate", "0"], r"--rate 0: must be between 80 and 450 words per minute"),
    "rate 100000": (["--rate", "100000"], r"--rate 100000: must be between 80 and 450"),
    "empty voice": (["--voice", ""], r"--voice '': not a voice id"),
    "voice with a newline": (
        ["--voice", "en\nus"],
        r"--voice 'en\\nus': not a voice id",
    ),
    "unknown option": (["--hodl", "40"], r"No such option: --hodl"),
    "an extra argument": (["outer-hip", "extra"], r"unexpected extra argument"),
    "a routine that is not there": (
        ["no/such/file.routine.yaml"],
        r"no/such/file.routine.yaml: no such routine file",
    ),
    "a device as the routine": (["/dev/zero"], r"/dev/zero: no such routine file"),
    "a folder as the routine": (["scripts/"], r"scripts: no such routine file"),
    "a misspelt routine": (["outer-hips"], r"did you mean 'outer-hip'"),
    # digits of other scripts (float() and \\d take them), numbers too long to show whole
    "Arabic-Indic digits": (["--hold", "٤٥"], r"--hold '٤٥': '٤٥' is not a number"),
    "a superscript digit": (["--hold", "supine-hip-stretch=³⁰"], r"'³⁰' is not a number"),
    "underscores in a number": (["--rest", "1_0"], r"'1_0' is not a number"),
    "5,000 digits": (
        ["--hold", "9" * 5000],
        r"^voiceguide: error: --hold '9{40}\.\.\.': '9{40}\.\.\.' is not a number",
    ),
    "a fit in Devanagari digits": (["--fit", "१५m"], r"--fit '१५m': give a duration such as 15m"),
    "a breath in fullwidth digits": (
        ["--breath", "４-６"],
        r"--breath '４-６': give inhale-exhale seconds",
    ),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_a_bad_command_line_value_is_one_line_and_exit_2(case: str) -> None:
    args, message = BAD_OPTIONS[case]
    code, stdout, stderr = run_main("plan", *args)
    assert code == 2, stderr
    line = assert_one_clean_line(stderr)
    assert re.search(message, line), line
    assert stdout == ""


def test_export_options_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for args in (["--bitrate", "abc"], ["--hold", "0"], ["--rate", "5"]):
        code, _, stderr = run_main("export", "--out", str(out), *args)
        assert code == 2, stderr
        assert_one_clean_line(stderr)
    assert not out.exists()


@pytest.mark.espeak
def test_an_unknown_voice_is_bad_input_with_suggestions() -> None:
    code, _, stderr = run_main("plan", "--voice", "gmw/en-uz")
    assert code == 2, stderr
    line = assert_one_clean_line(stderr)
    assert "--voice 'gmw/en-uz': espeak-ng has no such voice (did you mean 'gmw/en-us'" in line


def test_help_is_not_an_error_and_a_closed_pipe_is_quiet() -> None:
    import os
    import subprocess

    assert run_main("--help")[0] == 0
    # `voiceguide list | head -0`: the reader is gone before anything is written
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "voiceguide", "list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""


# ---------------------------------------------------------------- names, links and lengths


def test_a_name_or_an_exercise_id_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    code, _stdout, stderr = run_main("init", "nl-test\n")
    assert code == 2, stderr
    assert "init 'nl-test\\n': a routine name is lower-case" in assert_one_clean_line(stderr)
    assert not (tmp_path / "data").exists()  # nothing created
    folder = _broken_copy(
        tmp_path, Bad(SUPINE, sub("id: supine-hip-stretch", 'id: "supine-hip-stretch\\n"'), "")
    )
    with pytest.raises(
        RoutineError,
        match=r"field 'id': must be lower-case letters, digits and "
        r"dashes \(at most 64\), got 'supine-hip-stretch\\n'",
    ):
        load_routine(folder)
    from voiceguide.routine.loader import load_exercise

    with pytest.raises(RoutineError, match="field 'id': must be lower-case letters"):
        load_exercise(folder.parent / SUPINE)
    listed = _broken_copy(
        tmp_path / "2",
        Bad(ROUTINE, sub("  - supine-hip-stretch", '  - "supine-hip-stretch\\n"'), ""),
    )
    with pytest.raises(
        RoutineError, match=r"entry 1: 'supine-hip-stretch\\n' is not an exercise id"
    ):
        load_routine(listed)


@pytest.mark.parametrize("command", ["plan", "validate", "config", "export"])
def test_a_routine_argument_longer_than_a_file_name_can_be_is_one_line(command: str) -> None:
    for argument in ("a" * 256, "a" * 300 + ".routine.yaml", "x/" + "b" * 300 + "/y", "c" * 5000):
        code, _stdout, stderr = run_main(command, argument)
        assert code == 2, stderr
        line = assert_one_clean_line(stderr)
        assert line.startswith(
            f"voiceguide: error: ROUTINE {argument[:40] + '...'!r} has a name of "
        )
        assert line.endswith(" bytes; file names have at most 255"), line
    code, _, stderr = run_main("init", "mine", "--from", "d" * 256)
    assert code == 2 and "ROUTINE 'dddd" in assert_one_clean_line(stderr)
    code, _, stderr = run_main("plan", "a" * 255)  # long but possible: simply not there
    assert code == 2 and "no bundled routine named" in assert_one_clean_line(stderr)


SECRET = "root:$y$j9T$TOP-SECRET-HASH:20228:0:99999:7:::\ntitle: TOP-SECRET-TITLE\n"


def test_a_script_that_leads_outside_the_routine_folder_is_refused_unread(tmp_path: Path) -> None:
    """A shared routine folder whose script is a link to a private file (as /etc/shadow would
    be): refused before it is read, and nothing of it is shown."""
    secret = tmp_path / "private" / "shadow"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    routine_path = _broken_copy(tmp_path, Bad(SUPINE, lambda data: data, ""))
    script = routine_path.parent / SUPINE
    script.unlink()
    script.symlink_to(secret)
    for command in ("validate", "plan", "config"):
        code, stdout, stderr = run_main(command, str(routine_path))
        assert code == 2, stderr
        assert "TOP-SECRET" not in stdout + stderr and "20228" not in stdout + stderr
    code, stdout, stderr = run_main("validate", str(routine_path))
    assert stdout.splitlines()[0] == (
        f"{routine_path}:42, exercise 'supine-hip-stretch', field 'exercises': supine-hip-stretch"
        ".yaml leads outside the routine's folder (a link); narration scripts are read only "
        "from inside it: copy the file there instead"
    )
    script.unlink()  # a link to a file inside the folder (or a linked folder) is fine
    (routine_path.parent / "drafts").mkdir()
    shutil.copy(bundled_dir() / SUPINE, routine_path.parent / "drafts" / SUPINE)
    script.symlink_to(Path("drafts") / SUPINE)
    (tmp_path / "linked").symlink_to(routine_path.parent)
    for path in (routine_path, tmp_path / "linked" / ROUTINE):
        assert next(e.id for e in load_routine(path).exercises) == "supine-hip-stretch"


def test_a_yaml_error_quotes_at_most_a_short_piece_of_the_file(tmp_path: Path) -> None:
    routine_path = _broken_copy(
        tmp_path,
        Bad(SUPINE, sub("settle_s: 2 ", "settle_s: *TOP-SECRET-ALIAS-NAME-THAT-GOES-ON "), ""),
    )
    with pytest.raises(RoutineError) as caught:
        load_routine(routine_path)
    assert str(caught.value).endswith(
        ":14: malformed YAML: found undefined alias 'TOP-SECRET-ALIAS-NAM...'"
    ), str(caught.value)


def test_validate_counts_one_exercise_as_one(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "one.routine.yaml").write_text("title: One\nexercises: [supine-hip-stretch]\n")
    shutil.copy(bundled_dir() / SUPINE, folder / SUPINE)
    code, stdout, stderr = run_main("validate", str(folder / "one.routine.yaml"))
    assert code == 0, stderr
    assert stdout.startswith("ok: 1 exercise, total "), stdout


@pytest.mark.parametrize("value", ["²", "①", "³²", "9" * 5000, "٩٦k", "９６", "96 k"])
def test_a_bitrate_of_other_digits_is_one_line_and_exit_2(value: str) -> None:
    for command in ("config", "export", "cues"):
        code, stdout, stderr = run_main(command, "--bitrate", value)
        assert code == 2, stderr
        line = assert_one_clean_line(stderr)
        assert re.fullmatch(
            r"voiceguide: error: --bitrate '.{1,40}(\.\.\.)?': MP3 bitrates are 32k, .*", line
        )
        assert stdout == ""
