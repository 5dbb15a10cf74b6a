"""Every way of stopping is clean: SIGTERM (a plain ``kill``) and SIGHUP (the terminal
closed) end ``play`` as Ctrl-C does (the terminal restored, one line, the session recorded
as stopped; exit 143 and 129); Ctrl-C at any moment of a cold ``plan`` prints no worker's
traceback; the semaphores a killed run left are swept."""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.helpers.fake_device import write_tiny_routine
from tests.play.test_play_sound import Terminal
from voiceguide import pipeline
from voiceguide.errors import Interrupted, Terminated
from voiceguide.files import sweep_semaphores


def test_terminated_is_an_interrupt_with_the_signals_exit_code() -> None:
    assert issubclass(Terminated, Interrupted)
    assert Terminated(signal.SIGTERM).exit_code == 143
    assert Terminated(signal.SIGHUP).exit_code == 129
    assert str(Terminated(signal.SIGHUP)) == "stopped: the terminal was closed (SIGHUP)"


@pytest.mark.sound
@pytest.mark.espeak
@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_play_stopped_by_a_signal_restores_the_terminal_and_logs_the_session_stopped(
    sound_device: Any, tmp_path: Path, stop: int, code: int
) -> None:
    path = write_tiny_routine(tmp_path / "routine")
    env = {
        **sound_device.process_env(),
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "24",
    }
    with sound_device.record() as recorder:
        term = Terminal(["play", str(path)], env)
        recorder.wait_for_sound()
        time.sleep(1.0)
        os.kill(term.process.pid, stop)
        exit_code = term.finish()
    screen = term.text()
    assert exit_code == code, screen[-2000:]
    assert "Traceback" not in screen and "internal error" not in screen
    assert term.mode_after == term.mode  # echo and line editing back
    assert screen.rindex("\x1b[?25h") > screen.rindex("\x1b[?25l")  # the cursor shown again
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.strip().splitlines()[-1]).strip()
    assert last == f"voiceguide: error: {Terminated(stop)}", screen[-500:]
    (session,) = pipeline.history().sessions
    assert session.status == "stopped" and session.heard_ms > 0


def _plan_interrupted(delay_s: float, cache: Path) -> tuple[int, str]:
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache), "TMPDIR": str(cache.parent)}
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "plan"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
        start_new_session=True,  # a group of its own: the "terminal's" Ctrl-C reaches all
    )
    time.sleep(delay_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to every process
    _out, err = process.communicate(timeout=120)
    return process.returncode, err.decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.espeak
def test_ctrl_c_at_random_moments_of_a_cold_plan_never_prints_a_traceback() -> None:
    """20 runs, each with an empty cache (the workers start, speak, are stopped), Ctrl-C at
    a random moment from the interpreter's start to synthesis. The moments are drawn within
    what an uninterrupted cold plan takes on this machine, so a fast, idle machine does not
    finish the plan before the signal comes."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(Path(folder) / "cache")}
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "voiceguide", "plan"],
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            check=True,
        )
        latest_s = min(1.5, 0.7 * (time.monotonic() - started))
    chance = random.Random(27)
    outcomes = []
    for _ in range(20):
        with tempfile.TemporaryDirectory() as folder:
            code, err = _plan_interrupted(chance.uniform(0.05, latest_s), Path(folder) / "cache")
        outcomes.append((code, err))
        time.sleep(0.2)  # the run's workers are gone
    tracebacks = [err for _code, err in outcomes if "Traceback" in err or "Error" in err]
    assert tracebacks == [], tracebacks[0][-3000:]
    # -2: stopped by the signal before Python could take it (what a shell shows as 130)
    assert {code for code, _err in outcomes} <= {130, -signal.SIGINT}, outcomes


def _dead_pid() -> int:
    """The pid of a process that has ended (and was waited for)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_only_voiceguides_semaphores_whose_maker_is_gone_and_unmapped_are_swept(
    tmp_path: Path,
) -> None:
    shm, proc = tmp_path / "shm", tmp_path / "proc"
    shm.mkdir()
    (proc / "123").mkdir(parents=True)
    dead, alive = _dead_pid(), os.getpid()
    names = {
        f"sem.mp-voiceguide-{dead}-abcd1234": False,  # a killed run's: swept
        f"sem.mp-voiceguide-{alive}-abcd1234": True,  # a live pool's
        f"sem.mp-voiceguide-{dead}-mapped00": True,  # mapped (another pid namespace's)
        "sem.mp-abcd1234": True,  # another program's (multiprocessing's own prefix)
        f"sem.mp-voiceguidex{dead}-abcd1234": True,
        "sem.mp-voiceguide--abcd1234": True,
    }
    for name in names:
        (shm / name).write_bytes(b"\0" * 32)
    (proc / "123" / "maps").write_text(
        f"7f00-7f01 rw-s 00000000 00:1a 42 /dev/shm/sem.mp-voiceguide-{dead}-mapped00\n",
        encoding="utf-8",
    )
    assert sweep_semaphores(shm, proc) == 1
    assert sorted(p.name for p in shm.iterdir()) == sorted(n for n, kept in names.items() if kept)


_POOL = """
import multiprocessing, sys
from voiceguide.files import own_semaphores
if __name__ == "__main__":
    own_semaphores()
    pool = multiprocessing.get_context("spawn").Pool(1)
    print("ready", flush=True)
    sys.stdin.readline()
    assert pool.map(abs, [-1, -2]) == [1, 2]
    pool.close()
    pool.join()
    print("done", flush=True)
"""


def test_a_live_pools_semaphores_are_kept_and_a_killed_ones_swept(tmp_path: Path) -> None:
    """Two runs with pools in other processes: one killed with its whole group (its
    semaphores stay in /dev/shm), one alive, which goes on using its pool after the sweep
    and removes its own semaphores at exit (a FileNotFoundError there if swept)."""
    script = tmp_path / "pool.py"
    script.write_text(_POOL, encoding="utf-8")

    def start() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            start_new_session=True,
        )
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        return process

    def names_of(process: subprocess.Popen[str]) -> set[str]:
        return {p.name for p in Path("/dev/shm").glob(f"sem.mp-voiceguide-{process.pid}-*")}

    live, killed = start(), start()
    try:
        kept, left = names_of(live), names_of(killed)
        assert kept and left
        os.killpg(killed.pid, signal.SIGKILL)  # its worker and resource tracker too
        killed.communicate(timeout=60)
        time.sleep(0.5)  # the group is gone
        assert names_of(killed) == left  # what the sweep is for
        sweep_semaphores()
        assert names_of(killed) == set()
        assert names_of(live) == kept
        out, err = live.communicate("go\n", timeout=60)
        assert live.returncode == 0 and out == "done\n", err
        assert "Error" not in err and "leaked" not in err, err
        assert names_of(live) == set()  # unlinked by their owner, as ever
    finally:
        for process in (live, killed):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=60)


@pytest.mark.espeak
def test_the_sweep_removes_what_a_sigkilled_plan_left_in_dev_shm(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "plan"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )

    def its_own() -> set[str]:
        return {p.name for p in Path("/dev/shm").glob(f"sem.mp-voiceguide-{process.pid}-*")}

    deadline = time.monotonic() + 60
    while not its_own():
        assert time.monotonic() < deadline and process.poll() is None, "no pool was started"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # its workers and resource tracker too
    process.wait()
    time.sleep(0.5)
    assert its_own()  # what the sweep is for
    sweep_semaphores()  # as the next run's pool start does
    assert not its_own()


def test_a_ctrl_c_swallowed_while_espeak_loads_is_still_a_ctrl_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyttsx3 tries each library path under ``except Exception`` and then says "you
    probably do not have eSpeak": a Ctrl-C there ended a cold plan with exit 1 and that."""
    import pyttsx3

    from voiceguide.speech import espeak

    def swallowing_init(_name: str) -> object:
        try:
            raise Interrupted()  # as the SIGINT handler raises it
        except Exception:
            pass
        raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")

    monkeypatch.setattr(pyttsx3, "init", swallowing_init)
    with pytest.raises(Interrupted):
        espeak.espeak_engine()


@pytest.mark.sound
@pytest.mark.espeak
def test_closing_the_terminal_window_stops_play_and_logs_the_session(
    sound_device: Any, tmp_path: Path
) -> None:
    """The terminal really goes away (its master side closed): SIGHUP, and every write to
    the terminal fails from then on; the session is still recorded as stopped."""
    path = write_tiny_routine(tmp_path / "routine")
    env = {
        **sound_device.process_env(),
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
    }
    with sound_device.record() as recorder:
        term = Terminal(["play", str(path)], env)
        recorder.wait_for_sound()
        time.sleep(1.0)
        os.close(term.slave)
        os.close(term.master)
        code = term.process.wait(timeout=30)
    assert code == 129
    (session,) = pipeline.history().sessions
    assert session.status == "stopped" and session.heard_ms > 0


def test_a_ctrl_c_while_phrases_are_spoken_in_the_background_stops_that_work_first(
    tmp_path: Path,
) -> None:
    """The phrases with no cache entry are spoken from a thread of the cache's; a Ctrl-C in
    the main thread left it running, starting workers while the interpreter ended (a worker
    then printed a traceback reading what to run from a parent that was gone)."""
    import threading

    from tests.conftest import FakeSynthesizer
    from voiceguide.speech.cache import PhraseCache

    started = threading.Event()

    class Starting(FakeSynthesizer):
        def synthesize(
            self, jobs: Any, finish: Any = None, done: Any = None, spoken: Any = None
        ) -> None:
            started.set()
            while not self.cancelled:  # as workers starting, until stopped
                time.sleep(0.01)
            raise Interrupted()

    cache = PhraseCache(Starting(), tmp_path)

    def pressed(_texts: list[str]) -> None:
        started.wait(5)
        raise Interrupted()  # as the handler raises it in the main thread

    cache.maker._wait_spoken = pressed  # type: ignore[method-assign]
    with pytest.raises(Interrupted):
        cache.ensure(["One phrase.", "Another one."], lengths_only=True)
    # stopped and joined before the interrupt went on (on the old code: still running)
    assert cache.maker._batch is None and cache.synthesizer.cancelled  # type: ignore[attr-defined]
