"""Publishing is all or nothing: a failure, Ctrl-C or SIGKILL at every step of it leaves the
folder holding exactly the previous export or exactly the new one (every file's SHA-256
compared), at once or after the next export's recovery. Real faults too: an immutable old
track, a folder where a new file goes, a folder appearing in the middle, planted journals.

The old and new exports are real (the tiny routine, fake speech, real ffmpeg); each case
publishes a copy of the new export's files over a copy of the old export.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, FakeSynthesizer, require
from tests.helpers.routines import write_one_hold_routine
from voiceguide import pipeline
from voiceguide.errors import ExportError
from voiceguide.export import publish as pub
from voiceguide.speech.cache import PhraseCache

pytestmark = pytest.mark.ffmpeg

STEPS = ("_rename", "_write_journal", "_remove_journal", "_remove_folder")
USER_FILE = "my notes.txt"  # not the export's: never touched


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry but the manifest (whose id differs per export) and publishing's own
    bookkeeping: files by their bytes' SHA-256, links by target, anything else by kind."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name in (pub.MANIFEST, pub.JOURNAL) or path.name.startswith(pub.STAGING_PREFIX):
            continue
        if path.is_symlink():
            found[path.name] = "link to " + os.readlink(path)
        elif path.is_file():
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[path.name] = "folder"
    return found


class Exports:
    """The old and the new export (made once), and fresh copies of them to publish."""

    def __init__(self, root: Path) -> None:
        self.routine = write_one_hold_routine(root / "routine", title="Tiny publish routine")
        self.cache = PhraseCache(FakeSynthesizer(), root / "cache")
        self.old_dir, self.new_dir = root / "old", root / "new"
        self.export(self.old_dir)
        self.export(self.new_dir, ("hold", "6"))  # other audio, and other names (the album)
        (self.old_dir / USER_FILE).write_text("mine", encoding="utf-8")
        self.new_names = self.manifest(self.new_dir)
        self.old = snapshot(self.old_dir)
        self.new = {**snapshot(self.new_dir), USER_FILE: self.old[USER_FILE]}
        assert set(self.old) - set(self.new) and set(self.new) - set(self.old)
        assert self.old.keys() & self.new.keys()  # names in both, with other contents
        self.scenes = root / "scenes"

    def export(self, out: Path, *overrides: tuple[str, str]) -> object:
        routine = pipeline.load(str(self.routine))
        return pipeline.export(routine, pipeline.parse_settings(overrides), self.cache, out)

    @staticmethod
    def manifest(folder: Path) -> list[str]:
        files = json.loads((folder / pub.MANIFEST).read_text(encoding="utf-8"))["files"]
        return list(files)

    def scene(self, name: str, root: Path | None = None) -> tuple[Path, Path]:
        """A copy of the old export, and in it a staging folder with the new export's files."""
        out = (root or self.scenes) / name
        shutil.copytree(self.old_dir, out, symlinks=True)
        staging = pub.make_staging(out)
        for file in self.new_names:
            shutil.copy2(self.new_dir / file, staging / file)
        return out, staging

    def publish(self, out: Path, staging: Path) -> None:
        try:
            pub.publish(staging, out, list(self.new_names))
        finally:
            pub.discard_staging(out, staging)

    def state(self, out: Path) -> str:
        """ "old" or "new": which whole export the folder holds (else the test fails)."""
        now = snapshot(out)
        listed = set(self.manifest(out))
        if now == self.old and listed == set(self.manifest(self.old_dir)):
            return "old"
        if now == self.new and listed == set(self.new_names):
            return "new"
        raise AssertionError(f"neither the old nor the new export: {sorted(now)}")

    def clean(self, out: Path) -> bool:
        return not (out / pub.JOURNAL).exists() and not list(out.glob(pub.STAGING_PREFIX + "*"))


def next_export_starts(out: Path) -> None:
    """What the next export into the folder does first (then it would encode into staging)."""
    pub.make_staging(out).rmdir()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Exports:
    return Exports(tmp_path_factory.mktemp("exports"))


@pytest.fixture(scope="module")
def steps(exports: Exports) -> list[str]:
    """The steps of one publish, in order (one rename, write or removal each)."""
    out, staging = exports.scene("count")
    done: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in STEPS:
            original = getattr(pub, name)

            def step(*args: object, _f: Callable[..., None] = original, _n: str = name) -> None:
                done.append(_n)
                _f(*args)

            patch.setattr(pub, name, step)
        exports.publish(out, staging)
    assert exports.state(out) == "new" and exports.clean(out)
    return done


def commit_step(steps: list[str]) -> int:
    """The index of the commit: the manifest's rename, the last rename."""
    return max(k for k, name in enumerate(steps) if name == "_rename")


def at_step(patch: pytest.MonkeyPatch, k: int, fault: Callable[[], None]) -> None:
    """``fault()`` runs just before step ``k`` of the publish (counting from 0)."""
    counter = [0]
    for name in STEPS:
        original = getattr(pub, name)

        def step(*args: object, _f: Callable[..., None] = original) -> None:
            counter[0] += 1
            if counter[0] - 1 == k:
                fault()
            _f(*args)

        patch.setattr(pub, name, step)


def test_the_publish_has_the_steps_it_says(exports: Exports, steps: list[str]) -> None:
    old_files = len(exports.manifest(exports.old_dir)) + 1  # and the old manifest
    assert steps == [
        "_write_journal",
        *["_rename"] * old_files,  # every old file aside (the new names have none)
        *["_rename"] * len(exports.new_names),  # every new file in
        "_rename",  # the commit: the manifest
        "_remove_journal",
        "_remove_folder",
    ]


def test_a_failure_at_every_step_leaves_the_old_export_or_else_the_new(
    exports: Exports, steps: list[str]
) -> None:
    commit = commit_step(steps)
    for k in range(len(steps)):
        out, staging = exports.scene(f"fail-{k}")

        def fail() -> None:
            raise OSError(5, "Input/output error", "injected")

        with pytest.MonkeyPatch.context() as patch:
            at_step(patch, k, fail)
            try:
                exports.publish(out, staging)
                outcome = "done"
            except OSError:
                outcome = "failed"
        if k <= commit:  # rolled back at once: the old export, nothing left over
            assert (outcome, exports.state(out), exports.clean(out)) == ("failed", "old", True), k
        else:  # after the commit: the new export; the next export tidies up
            assert (outcome, exports.state(out)) == ("done", "new"), k
        next_export_starts(out)
        assert exports.state(out) == ("old" if k <= commit else "new") and exports.clean(out)


def test_ctrl_c_at_every_step_keeps_the_old_export_or_comes_too_late(
    exports: Exports, steps: list[str]
) -> None:
    commit = commit_step(steps)
    for k in range(len(steps)):
        out, staging = exports.scene(f"ctrl-c-{k}")
        with pytest.MonkeyPatch.context() as patch:
            at_step(patch, k, lambda: os.kill(os.getpid(), signal.SIGINT))
            try:
                exports.publish(out, staging)
                outcome = "done"
            except KeyboardInterrupt:
                outcome = "interrupted"
        # interrupted: always the old export; a Ctrl-C from the commit on is too late
        expected = ("interrupted", "old") if k < commit else ("done", "new")
        assert (outcome, exports.state(out)) == expected, k
        if k < commit:
            assert exports.clean(out), k


KILLED = """
import os, shutil, signal, sys
from pathlib import Path
from voiceguide.export import publish as pub
k, when, out, new_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
names = sys.argv[5:]
staging = pub.make_staging(out)  # this process's, as an export's
for name in names:
    shutil.copy2(new_dir / name, staging / name)
counter = [0]
for name in ("_rename", "_write_journal", "_remove_journal", "_remove_folder"):
    original = getattr(pub, name)
    def step(*args, _f=original):
        counter[0] += 1
        if counter[0] - 1 == k and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        _f(*args)
        if counter[0] - 1 == k and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
    setattr(pub, name, step)
pub.publish(staging, out, names)
"""


def publish_killed(exports: Exports, out: Path, k: int, when: str) -> None:
    """Publish the staged export in a process of its own, SIGKILLed at step ``k``."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED,
            str(k),
            when,
            str(out),
            str(exports.new_dir),
            *exports.new_names,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before", "after"])
def test_sigkill_at_every_step_then_the_next_export_restores_one_whole_export(
    exports: Exports, steps: list[str], when: str
) -> None:
    commit = commit_step(steps)
    for k in range(len(steps)):
        out = exports.scenes / f"kill-{when}-{k}"
        shutil.copytree(exports.old_dir, out)
        publish_killed(exports, out, k, when)
        done = k > commit or (k == commit and when == "after")
        journal_written = k > 0 or when == "after"
        journal_removed = k > len(steps) - 2 or (k == len(steps) - 2 and when == "after")
        assert (out / pub.JOURNAL).exists() == (journal_written and not journal_removed), k
        next_export_starts(out)
        assert exports.state(out) == ("new" if done else "old"), (k, when)
        assert exports.clean(out), (k, when)


@pytest.mark.slow
def test_a_kill_in_the_middle_of_a_roll_back_is_finished_by_the_next_export(
    exports: Exports, steps: list[str]
) -> None:
    """The publish fails in the middle (a step raises); the roll-back is killed at each of
    its own steps; the next export finishes it: the old export, whole."""
    commit = commit_step(steps)
    failing = commit - 3  # a few new files are already in
    script = KILLED.replace(
        "        _f(*args)\n",
        f"        if counter[0] - 1 == {failing}:\n"
        "            raise OSError(5, 'injected')\n"
        "        _f(*args)\n",
        1,
    )
    rolled_back = 0
    for k in range(failing + 1, failing + 1 + commit):
        out = exports.scenes / f"roll-back-{k}"
        shutil.copytree(exports.old_dir, out)
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                str(k),
                "before",
                str(out),
                str(exports.new_dir),
                *exports.new_names,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != -signal.SIGKILL:  # the roll-back had fewer steps: it ended
            assert "injected" in result.stderr, result.stderr
            break
        rolled_back += 1
        assert (out / pub.JOURNAL).exists(), k
        next_export_starts(out)
        assert exports.state(out) == "old" and exports.clean(out), k
    assert rolled_back > 5


@pytest.fixture
def scene(exports: Exports, tmp_path: Path) -> tuple[Path, Path]:
    return exports.scene("out", tmp_path)


def test_an_immutable_old_track_fails_in_one_line_and_keeps_the_old_export(
    exports: Exports, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(exports.old_dir, out)
    victim = next(name for name in exports.manifest(out) if name.endswith(".mp3"))
    made = subprocess.run(["chattr", "+i", str(out / victim)], capture_output=True, text=True)
    require(
        "chattr +i (root, a file system with attributes)", made.returncode == 0, made.stderr.strip()
    )
    try:
        with pytest.raises(ExportError) as caught:
            exports.export(out, ("hold", "6"))
        assert exports.state(out) == "old" and exports.clean(out)
    finally:
        subprocess.run(["chattr", "-i", str(out / victim)], check=True)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 1
    assert f"{victim}: Operation not permitted" in message
    assert message.endswith("the previous export there is unchanged")
    exports.export(out, ("hold", "6"))  # with the attribute gone, it goes through
    assert exports.state(out) == "new" and exports.clean(out)


def test_a_folder_where_a_new_file_goes_is_refused_and_left_alone(
    exports: Exports, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(exports.old_dir, out)
    in_the_way = next(n for n in exports.new_names if n not in exports.manifest(out))
    (out / in_the_way).mkdir()
    (out / in_the_way / "kept.txt").write_text("kept", encoding="utf-8")
    before = snapshot(out)
    with pytest.raises(ExportError, match="is a folder, where the export puts a file; move it"):
        exports.export(out, ("hold", "6"))
    assert snapshot(out) == before and exports.clean(out)
    assert (out / in_the_way / "kept.txt").read_text(encoding="utf-8") == "kept"


def test_a_folder_appearing_in_the_middle_rolls_back(
    exports: Exports, steps: list[str], scene: tuple[Path, Path]
) -> None:
    out, staging = scene
    commit = commit_step(steps)
    last_new = exports.new_names[-1]  # its rename is the step before the commit
    with pytest.MonkeyPatch.context() as patch:
        at_step(patch, commit - 1, lambda: (out / last_new).mkdir())
        with pytest.raises(OSError):
            exports.publish(out, staging)
    (out / last_new).rmdir()
    assert exports.state(out) == "old" and exports.clean(out)


def test_a_planted_journal_moves_nothing_in_or_out(exports: Exports, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(exports.old_dir, out)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("precious", encoding="utf-8")
    link = out / (pub.STAGING_PREFIX + "999999999-planted")
    link.symlink_to(outside)
    before = snapshot(out)
    planted = [
        "not json",
        json.dumps({"id": "x", "staging": link.name, "old": [], "new": ["precious.txt"]}),
        json.dumps({"id": "x", "staging": "../outside", "old": ["a.mp3"], "new": []}),
        json.dumps({"id": "x", "staging": pub.STAGING_PREFIX + "1", "old": "ab", "new": []}),
    ]
    for text in planted:
        (out / pub.JOURNAL).write_text(text, encoding="utf-8")
        with pytest.raises(ExportError, match=r"killed while publishing.* remove"):
            exports.export(out, ("hold", "6"))
        assert snapshot(out) == before
        assert (outside / "precious.txt").read_text(encoding="utf-8") == "precious"
    (out / pub.JOURNAL).unlink()
    exports.export(out, ("hold", "6"))
    assert exports.state(out) == "new"
    assert (outside / "precious.txt").read_text(encoding="utf-8") == "precious"


@pytest.mark.espeak
def test_the_command_line_killed_while_publishing_then_run_again(
    exports: Exports, tmp_path: Path
) -> None:
    """The real command, killed in the middle of publishing: the folder has the journal;
    the next `voiceguide export` puts the old export back first, then publishes its own."""
    out = tmp_path / "out"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", str(exports.routine), "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    killer = (
        "import os, signal, sys\n"
        "from voiceguide.export import publish as pub\n"
        "calls = [0]\n"
        "original = pub._rename\n"
        "def rename(*args):\n"
        "    calls[0] += 1\n"
        "    if calls[0] == 4: os.kill(os.getpid(), signal.SIGKILL)\n"
        "    original(*args)\n"
        "pub._rename = rename\n"
        "from voiceguide.cli import main\n"
        "sys.argv = ['voiceguide', *sys.argv[1:]]\n"
        "main()\n"
    )
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            killer,
            "export",
            str(exports.routine),
            "--hold",
            "6",
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (out / pub.JOURNAL).exists() and snapshot(out) != before  # caught in the middle
    with pub.locked(out):
        pub.recover(out)  # what the next export does first
    assert snapshot(out) == before
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "voiceguide",
            "export",
            str(exports.routine),
            "--hold",
            "6",
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert exports.clean(out) and not (out / pub.JOURNAL).exists()
    assert set(exports.manifest(out)) == set(exports.new_names)


def test_publishing_is_quick(exports: Exports, tmp_path: Path) -> None:
    """Moving files is all it does: no copy, no flush."""
    import time

    took = []
    for k in range(3):
        out, staging = exports.scene(f"quick-{k}", tmp_path)
        started = time.perf_counter()
        exports.publish(out, staging)
        took.append(time.perf_counter() - started)
    assert min(took) < 0.5, took


@pytest.mark.espeak
@pytest.mark.slow
def test_ctrl_c_through_the_command_line_at_steps_of_publishing(
    exports: Exports, steps: list[str], tmp_path: Path
) -> None:
    """The real command and its Ctrl-C handler: SIGINT at a step before the commit exits 130
    with the old export in place; at a step after it, the export completes (exit 0)."""
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    command = ["export", str(exports.routine), "--hold", "6"]
    commit = commit_step(steps)
    interrupter = (
        "import os, signal, sys\n"
        "from voiceguide.export import publish as pub\n"
        "calls, at = [0], int(sys.argv[1])\n"
        "for name in ('_rename', '_write_journal', '_remove_journal', '_remove_folder'):\n"
        "    original = getattr(pub, name)\n"
        "    def step(*args, _f=original):\n"
        "        calls[0] += 1\n"
        "        if calls[0] - 1 == at: os.kill(os.getpid(), signal.SIGINT)\n"
        "        _f(*args)\n"
        "    setattr(pub, name, step)\n"
        "from voiceguide.cli import main\n"
        "sys.argv = ['voiceguide', *sys.argv[2:]]\n"
        "main()\n"
    )
    for k in (0, 3, commit - 1, commit + 1):
        out = tmp_path / f"out-{k}"
        first = subprocess.run(
            [sys.executable, "-m", "voiceguide", "export", str(exports.routine), "--out", str(out)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert first.returncode == 0, first.stderr
        before = snapshot(out)
        run = subprocess.run(
            [sys.executable, "-c", interrupter, str(k), *command, "--out", str(out)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if k < commit:
            assert run.returncode == 130, run.stderr
            assert run.stderr.strip().endswith("voiceguide: error: interrupted"), run.stderr
            assert snapshot(out) == before and exports.clean(out), k
        else:
            assert run.returncode == 0, run.stderr
            assert set(exports.manifest(out)) == set(exports.new_names)
            assert exports.clean(out), k
