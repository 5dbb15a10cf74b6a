"""Security: what a routine file says never escapes the output folder, a planted manifest,
symlink or staging folder cannot make an export touch anything else, YAML builds no
objects, and external programs run from argument lists, never through a shell."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, FakeSynthesizer
from voiceguide import pipeline
from voiceguide.speech.cache import PhraseCache

HOSTILE_TITLES = [
    "../../../escaped",
    "/etc/passwd",
    "..",
    ".",
    "CON",
    "nul.txt",
    "x/../../y",
    "C:\\Windows\\evil",
    "a\u202egnp.exe",  # a right-to-left override: shows as "aexe.png"
    "zero\u200bwidth\u2028line",
    "🧘" * 100,  # 400 bytes of UTF-8
    "-rf --no-preserve-root",
    "$(touch pwned) `touch pwned` ; touch pwned",
]


def _routine_with_titles(folder: Path, title: str, exercise_title: str) -> Path:
    """A routine whose titles are these (with words added when they have none: a title is
    spoken, and the loader refuses one with nothing to speak)."""

    def spoken(text: str) -> str:
        return text if any(ch.isalnum() for ch in text) else f"{text} said aloud"

    folder.mkdir(parents=True)
    routine = {"title": spoken(title), "exercises": ["one"]}
    exercise = {"title": spoken(exercise_title), "hold_s": 5, "settle_s": 0, "setup": "Sit."}
    for name, data in (("r.routine.yaml", routine), ("one.yaml", exercise)):
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder / "r.routine.yaml"


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.ffmpeg
@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_titles_become_plain_file_names_inside_the_output_folder(
    tmp_path: Path, title: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    routine = pipeline.load(str(_routine_with_titles(tmp_path / "src", title, title)))
    cache = PhraseCache(FakeSynthesizer(), tmp_path / "cache")
    before = _tree(tmp_path) - {"cache"}
    out = tmp_path / "out" / "audio"
    pipeline.export(routine, pipeline.parse_settings([]), cache, out, as_zip=False)
    pipeline.export(routine, pipeline.parse_settings([]), cache, tmp_path / "zipped", as_zip=True)
    after = {p for p in _tree(tmp_path) if not p.startswith(("cache", "out", "zipped"))}
    assert after == {p for p in before if not p.startswith(("out", "zipped"))}  # nothing else
    assert not list(work.iterdir())  # no file made in the working folder ("pwned")
    for path in out.iterdir():
        name = path.name
        assert path.is_file() and path.parent == out
        assert name.isprintable() or "\u200d" in name, repr(name)
        assert "/" not in name and "\\" not in name and not name.startswith("..")
        assert len(name.encode("utf-8")) <= 255
    (archive,) = (tmp_path / "zipped").glob("*.zip")
    for member in zipfile.ZipFile(archive).namelist():
        parts = member.split("/")
        assert len(parts) == 2 and ".." not in parts and "" not in parts, member
        assert parts[0].isprintable() and not parts[0].startswith("."), member


@pytest.mark.ffmpeg
def test_a_planted_manifest_symlink_or_staging_folder_touches_nothing_outside(
    tmp_path: Path,
) -> None:
    routine = pipeline.load(str(_routine_with_titles(tmp_path / "src", "Plain", "One")))
    cache = PhraseCache(FakeSynthesizer(), tmp_path / "cache")
    out = tmp_path / "out"
    _, first = pipeline.export(routine, pipeline.parse_settings([]), cache, out)
    victims = tmp_path / "victims"
    victims.mkdir()
    for name in ("manifest-victim.txt", "link-victim.txt", "staging-victim.txt"):
        (victims / name).write_text("precious", encoding="utf-8")
    # a manifest naming files outside the folder, as a previous export's leftovers
    (out / ".voiceguide-export.json").write_text(
        '{"files": ["../victims/manifest-victim.txt", "%s", "..", ".", "/", ""]}'
        % (victims / "manifest-victim.txt"),
        encoding="utf-8",
    )
    # a track replaced by a symlink to a file outside; a "staging folder" that links outside
    (out / first.full.path.name).unlink()
    (out / first.full.path.name).symlink_to(victims / "link-victim.txt")
    (out / ".voiceguide-staging-999999999-planted").symlink_to(victims)  # a dead pid
    pipeline.export(routine, pipeline.parse_settings([("hold", "6")]), cache, out)
    for name in ("manifest-victim.txt", "link-victim.txt", "staging-victim.txt"):
        assert (victims / name).read_text(encoding="utf-8") == "precious", name
    assert not (out / first.full.path.name).is_symlink()  # the link was replaced, not followed


# ---------------------------------------------------------------- the code itself

SOURCES = sorted((REPO / "voiceguide").glob("*.py"))
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return f"{_name(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else "?"


@pytest.mark.parametrize("source", SOURCES, ids=[p.name for p in SOURCES])
def test_no_shell_no_unsafe_yaml_and_programs_run_from_argument_lists(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for call in _calls(tree):
        name = _name(call.func)
        where = f"{source.name}:{call.lineno} {name}"
        for keyword in call.keywords:
            assert keyword.arg != "shell", f"{where}: shell= is not allowed"
        assert name not in (
            "os.system",
            "os.popen",
            "subprocess.getoutput",
            "subprocess.getstatusoutput",
        ), where
        assert name not in (
            "yaml.load",
            "yaml.load_all",
            "yaml.unsafe_load",
            "yaml.full_load",
            "yaml.unsafe_load_all",
        ), where
        if name.startswith("subprocess.") and name.split(".")[1] in SUBPROCESS_CALLS:
            program = call.args[0] if call.args else None
            # a list (or a name bound to one), never a command line in a string
            assert not isinstance(program, ast.Constant | ast.JoinedStr | ast.BinOp), where
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in (
            "Loader",
            "FullLoader",
            "UnsafeLoader",
        ):
            assert _name(node) != f"yaml.{node.attr}", f"{source.name}:{node.lineno}"


@pytest.mark.espeak
def test_markup_in_a_phrase_is_spoken_or_dropped_never_obeyed(tmp_path: Path) -> None:
    """SSML and espeak's own phoneme brackets reach the engine as plain text: a 10 s break
    does not make a phrase 10 s longer, a slow prosody does not slow it down."""
    from voiceguide.speech.espeak import Pyttsx3Synthesizer

    cache = PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "cache")
    plain = "Hold still."
    marked = [
        '<speak>Hold <break time="10s"/> still.</speak>',
        '<prosody rate="x-slow">Hold still.</prosody>',
        "Hold <audio src='file:///dev/zero'/> still.",
        "Hold [[h@'loU]] still.",
    ]
    cache.ensure([plain, *marked])
    base_ms = cache.measure(plain)
    for text in marked[:3]:
        assert abs(cache.measure(text) - base_ms) < 150, text
    assert cache.measure(marked[3]) < base_ms + 2000  # the brackets' letters, spoken


@pytest.mark.parametrize("planted", ["a FIFO", "a link to /dev/zero"])
def test_a_planted_manifest_that_never_ends_is_never_waited_on(
    tmp_path: Path, planted: str
) -> None:
    """The output folder is the user's: a manifest there that is a FIFO (nobody writes to it)
    or a device is refused at once by the export's 'already exported?' check and by serve."""
    import os
    import threading

    from voiceguide.errors import ExportError
    from voiceguide.export import MANIFEST
    from voiceguide.pipeline.export import current_export
    from voiceguide.serve.snapshot import open_snapshot

    out = tmp_path / "out"
    out.mkdir()
    if planted == "a FIFO":
        os.mkfifo(out / MANIFEST)
    else:
        (out / MANIFEST).symlink_to("/dev/zero")
    results: list[object] = []

    def check() -> None:
        results.append(current_export(out, "fingerprint"))
        try:
            open_snapshot(out, 1)
        except ExportError as error:
            results.append(str(error))

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "blocked reading the planted manifest"
    assert results[0] is False
    assert isinstance(results[1], str) and "holds no complete export" in results[1]
