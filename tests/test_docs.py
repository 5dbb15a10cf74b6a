"""The README and docs/ say what works: every ``voiceguide`` command line in them parses with
its options, and its routine options pass the same checks as on the command line; the cheap
ones (no speech, no sound) are run for real; every link between the pages leads to a file."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shlex
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest
import typer

from tests.conftest import REPO
from voiceguide.cli import app
from voiceguide.cli.commands import _usage_message
from voiceguide.cli.options import RoutineOptions

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MAX_README_LINES = 300
# commands that neither speak nor play nor write outside their test folders
CHEAP = {"list", "init", "validate", "config", "history"}
# a span naming a placeholder (ROUTINE, FILE.mp3, COMMAND) describes a command, not one to run
PLACEHOLDER = re.compile(r"\b[A-Z]{2,}\b")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`(voiceguide\s[^`]*)`")


def _command_lines(page: Path) -> list[str]:
    """The command lines of a page: lines of its code blocks that start with ``voiceguide``
    (or ``$ voiceguide``), and inline code that is a whole command without placeholders."""
    text = page.read_text(encoding="utf-8")
    found = []
    for language, body in FENCE.findall(text):
        if language not in ("", "sh", "console", "bash"):
            continue
        for line in body.splitlines():
            line = line.removeprefix("$ ")
            if line.startswith("voiceguide "):
                found.append(line)
    prose = FENCE.sub("", text)
    for span in INLINE.findall(prose):
        span = " ".join(span.split())
        if not PLACEHOLDER.search(span):
            found.append(span)
    return found


def _all_command_lines() -> list[tuple[str, str]]:
    return [(page.name, line) for page in PAGES for line in _command_lines(page)]


COMMAND_LINES = _all_command_lines()


def test_the_pages_have_command_lines_to_check() -> None:
    assert len(COMMAND_LINES) > 40
    assert {page for page, _ in COMMAND_LINES} >= {"README.md", "options.md", "routines.md"}


def test_the_readme_is_a_users_guide_of_at_most_300_lines() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES
    assert "./dev.sh export" in lines[lines.index("```sh") + 1]  # the quick start comes first


def _parse(argv: list[str]) -> tuple[str, dict[str, object]]:
    """The subcommand and its parsed parameters, by the command line's own parser; a usage
    error fails with the message the user would see."""
    group = typer.main.get_command(app)
    root_options = {"--help"} | {opt for param in group.params for opt in param.opts}
    while argv and argv[0] in root_options:
        option = argv.pop(0)
        if option not in ("-v", "--verbose"):  # --version, --help, completion: no command
            assert not argv, f"{option} takes no command"
            return option, {}
    assert argv, "no command"
    name, *args = argv
    command = group.commands.get(name)
    assert command is not None, f"no command {name!r}"
    root = group.context_class(group, info_name="voiceguide")
    try:
        with command.make_context(name, args, parent=root) as context:
            return name, dict(context.params)
    except typer.Exit:  # --help
        return name, {}
    except Exception as error:
        usage = _usage_message(error)
        if usage is None:
            raise
        pytest.fail(f"voiceguide: error: {usage}")


@pytest.mark.parametrize(
    ("page", "line"),
    [
        pytest.param(p, line, id=f"{p}: {shlex.join(shlex.split(line, True))}")
        for p, line in COMMAND_LINES
    ],
)
def test_every_command_line_in_the_docs_parses_and_its_settings_pass_the_checks(
    page: str, line: str, tmp_path: Path
) -> None:
    _command, params = _parse(shlex.split(line, comments=True)[1:])
    names = [field.name for field in dataclasses.fields(RoutineOptions)]
    if not set(names) <= set(params):
        return
    options = RoutineOptions(**{n: params[n] for n in names})
    if options.routine == "my-hips":  # the docs make it first with 'voiceguide init my-hips'
        _run("init", "my-hips")
    if options.bed is not None and options.bed.startswith("~"):  # the reader's own music
        options = dataclasses.replace(options, bed=_music(tmp_path))
    bitrate = params.get("bitrate")
    options.prepare(bitrate if isinstance(bitrate, str) else None)


def _music(folder: Path) -> str:
    """Six seconds of a soft tone, standing in for the reader's music."""
    path = folder / "calm.wav"
    rate = 44_100
    samples = (int(3000 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(6 * rate))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return str(path)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def test_the_cheap_command_lines_in_the_docs_run() -> None:
    ran = []
    _run("init", "my-hips")  # what the other lines about 'my-hips' refer to
    for _page, line in COMMAND_LINES:
        argv = shlex.split(line, comments=True)[1:]
        command = next((arg for arg in argv if not arg.startswith("-")), None)
        if command not in CHEAP or "--forget" in argv or argv[:2] == ["init", "my-hips"]:
            continue
        _run(*argv)
        ran.append(command)
    assert {"list", "validate", "config", "history"} <= set(ran)


LINK = re.compile(r"\]\(([^)#]*)(#[^)]*)?\)|src=\"([^\"]+)\"")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_between_the_pages_leads_to_a_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target, _anchor, source in LINK.findall(text):
        target = target or source
        if not target or re.match(r"\w+:", target):
            continue
        assert (page.parent / target).exists(), f"{page.name}: {target}"


# what a lab notebook writes: a date, a time of day, a before/after figure, a cost measured
NOTEBOOK = re.compile(
    r"\b20\d\d-\d\d-\d\d\b|\d\d:\d\d UTC\b|\bthis morning\b"
    r"|\binstead of [0-9]|\bwas [0-9.]+ ?(?:ms|s|MB)\b"
    r"|[0-9.]+ ?(?:ms|s|MB) (?:here|to import|of CPU)\b"
    r"|\btakes? (?:about )?(?:a second|[0-9.]+ ?(?:ms|s|seconds?))\b"
)
# an example of input, such as ``2026-03-01`` or '2001-02-30', is no lab note
EXAMPLE = re.compile(r"``[^`]*``|'[^'\n]*'")


def _comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    import ast
    import io
    import tokenize

    source = path.read_text(encoding="utf-8")
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                found.append((getattr(node, "lineno", 1), docstring))
    return found


def test_code_comments_say_why_without_dates_or_timings() -> None:
    """Figures and their dates live in docs/performance.md and the changelog; a comment or
    docstring says why. (Dates as input examples, such as ``--since 2026-03-01``, are
    strings in the code, not comments.)"""
    found = [
        f"{path.relative_to(REPO)}:{line}: {match.group(0)!r}"
        for path in sorted((REPO / "voiceguide").rglob("*.py"))
        for line, text in _comments_and_docstrings(path)
        for match in NOTEBOOK.finditer(EXAMPLE.sub("", text))
    ]
    assert found == []
