"""Sessions played for real on the virtual sound device land in a real practice log: with
their settings and how far they got, stopped, killed (SIGKILL) mid-routine, two players at
once, and with a log that cannot be written (the session plays all the same)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.test_faults import Mounts
from tests.conftest import REPO, FakeSynthesizer
from tests.helpers import sound
from voiceguide import pipeline
from voiceguide.plan.parsing import DEFAULT_VOICE
from voiceguide.plan.preferences import command_line
from voiceguide.play import Command, LivePlayback, SimpleaudioPlayer, State
from voiceguide.practice import ExerciseState, Store, log_path

E = ExerciseState
MICRO = {
    "micro.routine.yaml": "title: Micro\nintro: Two short ones.\n"
    "exercises:\n  - lean\n  - squeeze\nclosing: Done.\n"
    "chapter_gap_s: 0.5\n",
    "lean.yaml": "title: Lean\nkind: hold\nhold_s: 5\nrounds: 1\nsettle_s: 0.5\n"
    "setup: Lean forward.\n",
    "squeeze.yaml": "title: Squeeze\nkind: reps\nreps: 2\nsets: 1\nwork_s: 2\nrelease_s: 1\n"
    "settle_s: 0.5\nper_day: [1, 2]\nsetup: A ball between the knees.\n",
}


@pytest.fixture
def micro(tmp_path: Path) -> Path:
    folder = tmp_path / "micro"
    folder.mkdir()
    for name, text in MICRO.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder / "micro.routine.yaml"


def play_here(
    routine: Path, stop_when: Callable[[LivePlayback], bool] | None = None, hold: str = "6"
) -> tuple[State, str | None]:
    """Play the routine in this process with fast stand-in speech; ``stop_when``: press
    stop (q) once it is true."""
    loaded, prepared = pipeline.prepare(str(routine), command_line([("hold", hold)]))
    cache = pipeline.make_cache(prepared.settings, FakeSynthesizer())

    @contextlib.contextmanager
    def controls(playback: LivePlayback) -> Iterator[None]:
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):
                if stop_when is not None and stop_when(playback):
                    playback.send(Command.STOP)
                    return

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    status, problem = pipeline.play_logged(
        loaded, prepared.settings, cache, controls=controls, player=SimpleaudioPlayer()
    )
    return status.state, problem


def sessions() -> list[dict[str, object]]:
    result = subprocess.run(
        [sys.executable, "-m", "voiceguide", "history", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return list(reversed(json.loads(result.stdout)["sessions"]))


def integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


@pytest.mark.sound
def test_a_played_routine_is_logged_with_its_settings_and_completion(
    sound_device: sound.SoundDevice, micro: Path
) -> None:
    state, problem = play_here(micro)
    assert (state, problem) == (State.DONE, None)
    loaded, prepared = pipeline.prepare(str(micro), command_line([("hold", "6")]))
    cache = pipeline.make_cache(prepared.settings, FakeSynthesizer())
    timeline = pipeline.plan(loaded, prepared.settings, cache)
    with Store.open(log_path()) as store:
        (session,) = store.sessions()
    assert (session.routine, session.status, session.completed) == ("micro", "done", True)
    assert [e.state for e in session.exercises] == [E.COMPLETED, E.COMPLETED]
    assert session.settings == timeline.described_settings()
    assert session.settings["overrides"] == ["--hold 6"]
    assert session.planned_ms == timeline.total_ms
    assert abs(session.heard_ms - timeline.total_ms) < 1_000
    assert timeline.total_ms / 1000 - 1 < session.length_s < timeline.total_ms / 1000 + 5
    assert session.routine_path == str(micro)
    assert integrity(log_path()) == "ok"


@pytest.mark.sound
def test_stopping_in_an_exercise_is_logged_where_it_stopped(
    sound_device: sound.SoundDevice, micro: Path
) -> None:
    def in_the_hold(playback: LivePlayback) -> bool:
        status = playback.status()
        return (
            status.hold is not None
            and status.hold_left_ms is not None
            and (status.hold_left_ms < 3_000)
        )

    state, problem = play_here(micro, in_the_hold)
    assert (state, problem) == (State.STOPPED, None)
    (session,) = sessions()
    assert session["status"] == "stopped" and session["completed"] is False
    assert [e["state"] for e in session["exercises"]] == ["stopped", "not_played"]  # type: ignore[index]


@pytest.mark.sound
@pytest.mark.parametrize("bad", ["damaged", "foreign", "read-only", "locked"])
def test_a_log_that_cannot_be_written_never_stops_the_session(
    sound_device: sound.SoundDevice, micro: Path, bad: str, mounts: Mounts
) -> None:
    path = log_path()
    path.parent.mkdir(parents=True)
    holder = None
    if bad == "damaged":
        path.write_bytes(b"\x00garbage" * 1000)
    elif bad == "foreign":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE photos (name TEXT)")
        db.commit()
        db.close()
    elif bad == "read-only":
        Store.open(path).close()
        mounts.read_only(path.parent)
    else:
        Store.open(path).close()
        holder = subprocess.Popen(
            [sys.executable, "-c", LOCK, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    before = path.read_bytes()
    try:
        started = time.monotonic()
        state, problem = play_here(micro)
        took = time.monotonic() - started
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
            assert holder.stdout is not None
            holder.stdout.close()
    assert state is State.DONE
    assert problem is not None and "not recorded" in problem and "\n" not in problem
    said = {
        "damaged": "not a SQLite database",
        "foreign": "another program's SQLite database",
        "read-only": "its disk is mounted read-only",
        "locked": "locked by another",
    }[bad]
    assert problem.startswith(f"practice log {path}: ") and said in problem
    assert path.read_bytes() == before
    assert took < 60


LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode = EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("CREATE TABLE IF NOT EXISTS lock (x)")
print("locked", flush=True)
time.sleep(120)
"""


# ---------------------------------------------------------------- voiceguide play, for real


def player(routine: Path, *args: str) -> subprocess.Popen[str]:
    """``voiceguide play ROUTINE`` (espeak-ng speaking) in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "play", str(routine), *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ),
    )


def exercise_states() -> list[str]:
    """The last session's exercises' states, read while a player writes them."""
    path = log_path()
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT state FROM session_exercises WHERE session_id = "
            "(SELECT max(id) FROM sessions) ORDER BY position"
        ).fetchall()
    except sqlite3.Error:
        return []
    finally:
        db.close()
    return [r[0] for r in rows]


@pytest.mark.sound
@pytest.mark.espeak
@pytest.mark.slow
def test_a_player_killed_mid_routine_leaves_a_stopped_entry_and_a_healthy_log(
    sound_device: sound.SoundDevice, micro: Path
) -> None:
    process = player(micro)
    deadline = time.monotonic() + 90
    while exercise_states() != ["playing", "pending"]:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the session never reached its first exercise"
        time.sleep(0.1)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert integrity(log_path()) == "ok"
    (session,) = sessions()
    assert session["status"] == "stopped" and session["completed"] is False
    assert [e["state"] for e in session["exercises"]] == ["stopped", "not_played"]  # type: ignore[index]
    assert session["settings"]["voice"] == DEFAULT_VOICE  # type: ignore[index]
    # and the next player records beside it
    again = player(micro, "--from", "squeeze", "--reps", "1")
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    first, second = sessions()
    assert first["status"] == "stopped" and second["status"] == "done"
    assert [e["state"] for e in second["exercises"]] == ["not_played", "completed"]  # type: ignore[index]
    assert second["settings"]["overrides"] == ["--reps 1"]  # type: ignore[index]
    assert integrity(log_path()) == "ok"


@pytest.mark.sound
@pytest.mark.espeak
@pytest.mark.slow
def test_two_players_at_once_both_record(sound_device: sound.SoundDevice, micro: Path) -> None:
    first = player(micro)
    second = player(micro, "--hold", "7")
    results = [p.communicate(timeout=180) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    logged = sessions()
    assert len(logged) == 2
    assert all(s["status"] == "done" and s["completed"] for s in logged)
    assert sorted(str(s["settings"]["overrides"]) for s in logged) == [  # type: ignore[index]
        "['--hold 7']",
        "[]",
    ]
    assert integrity(log_path()) == "ok"


@pytest.mark.sound
@pytest.mark.espeak
@pytest.mark.slow
def test_log_false_in_the_config_records_nothing(
    sound_device: sound.SoundDevice, micro: Path
) -> None:
    config = Path(os.environ["VOICEGUIDE_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("log = false\n", encoding="utf-8")
    process = player(micro, "--from", "squeeze", "--reps", "1")
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert not log_path().exists()
    process = player(micro, "--from", "squeeze", "--reps", "1", "--log")  # asked for: logged
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert len(sessions()) == 1


@pytest.fixture
def mounts() -> Iterator[Mounts]:
    done = Mounts()
    try:
        yield done
    finally:
        done.undo()
