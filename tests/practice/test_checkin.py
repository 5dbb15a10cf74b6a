"""The pain check-in after a played session: the compiler puts its phrases on the timeline
(only when asked: an export's timeline has none), the terminal's keys make a score, and a
session played to the end on the virtual sound device gets the score in the practice log,
with the question and the reply heard on the device."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import FakeSynthesizer, fake_measure
from tests.helpers import sound
from tests.play.test_play_sound import Terminal
from tests.practice.test_play import micro  # noqa: F401 (a fixture)
from voiceguide import pipeline
from voiceguide.cli.terminal import ScoreKeys, ask_score
from voiceguide.errors import SettingsError
from voiceguide.pipeline.checkin import ANSWER_WAIT_S
from voiceguide.plan.checkin import QUESTION
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.preferences import command_line
from voiceguide.plan.settings import Settings
from voiceguide.play import Command, LivePlayback, PlayHandle, SimpleaudioPlayer, State
from voiceguide.practice import Store, log_path
from voiceguide.practice.pain import MAX_SCORE
from voiceguide.routine.model import Routine
from voiceguide.sound.audio import AudioFormat
from voiceguide.speech.cache import PhraseCache

# ---------------------------------------------------------------- the plan


def test_the_compiler_adds_the_check_in_phrases_only_when_asked(routine: Routine) -> None:
    plain = compile_routine(routine, Settings(), fake_measure)
    asked = compile_routine(routine, Settings(check_in=True), fake_measure)
    assert plain.check_in is None
    assert asked.check_in is not None
    assert asked.check_in.question == QUESTION
    assert asked.check_in.noted[3] == "Noted: 3." and len(asked.check_in.noted) == MAX_SCORE + 1
    # no event changes: what is played and exported is the same, the question comes after it
    assert asked.events == plain.events and asked.total_ms == plain.total_ms
    assert asked.described_settings() == plain.described_settings()
    phrases = pipeline.asked_phrases(routine, Settings(check_in=True))
    assert set(asked.check_in.phrases()) <= set(phrases)
    assert QUESTION not in pipeline.asked_phrases(routine, Settings())


# ---------------------------------------------------------------- the keys


@pytest.mark.parametrize(
    ("keys", "score"),
    [
        (b"3", 3),
        (b"0", 0),
        (b"10", 10),
        (b"9", 9),
        (b"12", 1),
        (b"x7", 7),
        (b"\n", None),
        (b"\r", None),
        (b"s", None),
        (b"q", None),
        (b"\x1b", None),
    ],
)
def test_score_keys(keys: bytes, score: int | None) -> None:
    reading = ScoreKeys()
    reading.feed(keys)
    assert (reading.done, reading.score) == (True, score)


def test_a_one_alone_is_one_once_nothing_follows_and_nothing_is_no_score() -> None:
    one = ScoreKeys()
    one.feed(b"1")
    assert not one.done
    one.timed_out()
    assert (one.done, one.score) == (True, 1)
    nothing = ScoreKeys()
    nothing.feed(b"abc")
    assert not nothing.done
    nothing.timed_out()
    assert (nothing.done, nothing.score) == (True, None)


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    main, other = os.openpty()
    try:
        yield main, other
    finally:
        os.close(main)
        os.close(other)


def _type_later(fd: int, keys: bytes, after_s: float, between_s: float = 0.0) -> threading.Thread:
    def typing() -> None:
        time.sleep(after_s)
        for key in keys:
            os.write(fd, bytes([key]))
            time.sleep(between_s)

    thread = threading.Thread(target=typing)
    thread.start()
    return thread


def test_a_score_typed_on_a_terminal(terminal: tuple[int, int]) -> None:
    main, other = terminal
    typing = _type_later(main, b"10", 1.0, between_s=0.2)  # (within TEN_WAIT_S)
    assert ask_score(30.0, fd=other) == 10
    typing.join()


def test_keys_pressed_before_the_question_are_no_answer(terminal: tuple[int, int]) -> None:
    main, other = terminal
    os.write(main, b"5")  # (during the session)
    typing = _type_later(main, b"7", 1.5)
    assert ask_score(30.0, fd=other) == 7
    typing.join()


def test_no_answer_ends_the_question_with_no_score(terminal: tuple[int, int]) -> None:
    _main, other = terminal
    started = time.monotonic()
    assert ask_score(0.3, fd=other) is None
    assert time.monotonic() - started >= 0.3


def test_with_no_terminal_nobody_is_asked_and_nothing_waits(tmp_path: Path) -> None:
    read, write = os.pipe()
    try:
        os.write(write, b"4")
        assert ask_score(600.0, fd=read) is None  # (a wait would hang the test)
        assert os.read(read, 1) == b"4"  # and nothing was read
    finally:
        os.close(read)
        os.close(write)


# ---------------------------------------------------------------- the setting


def _config(text: str) -> None:
    path = Path(os.environ["VOICEGUIDE_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_check_in_false_in_the_config_turns_it_off_and_config_shows_it() -> None:
    assert pipeline.prepare(None, command_line())[1].check_in is True
    _config("check_in = false\n")
    _routine, resolved = pipeline.prepare(None, command_line())
    assert resolved.check_in is False
    (row,) = [r for r in resolved.rows if r.setting == "check_in"]
    assert (row.value, row.source.kind) == ("off", "config")
    assert resolved.settings.check_in is False  # (only play sets it, when it asks)


def test_a_check_in_value_that_is_not_true_or_false_is_an_error() -> None:
    _config("check_in = 1\n")
    with pytest.raises(SettingsError, match=r"key 'check_in' = 1: must be true or false"):
        pipeline.prepare(None, command_line())


# ---------------------------------------------------------------- a played session


class _Heard:
    """The sound device, with what was given to it after the session kept."""

    def __init__(self) -> None:
        self.real = SimpleaudioPlayer()
        self.buffers: list[bytes] = []

    @property
    def read_ahead_ms(self) -> int:
        return self.real.read_ahead_ms

    def play(self, buffer: memoryview, fmt: AudioFormat) -> PlayHandle:
        self.buffers.append(bytes(buffer))
        return self.real.play(buffer, fmt)


def _play(
    routine: Path, ask: Callable[[float], int | None], stop: bool = False
) -> tuple[State, str | None, _Heard, PhraseCache]:
    loaded, prepared = pipeline.prepare(str(routine), command_line([("hold", "5")]))
    cache = pipeline.make_cache(prepared.settings, FakeSynthesizer())
    player = _Heard()

    @contextlib.contextmanager
    def controls(playback: LivePlayback) -> Iterator[None]:
        if stop:  # q pressed as soon as the keys are there
            playback.send(Command.STOP)
        yield

    status, problem = pipeline.play_logged(
        loaded, prepared.settings, cache, controls=controls, player=player, ask=ask
    )
    return status.state, problem, player, cache


@pytest.mark.sound
def test_a_session_played_to_the_end_keeps_its_score(micro: Path) -> None:  # noqa: F811
    waits: list[float] = []

    def answer(wait_s: float) -> int:
        waits.append(wait_s)
        return 4

    state, problem, player, cache = _play(micro, answer)
    assert (state, problem) == (State.DONE, None)
    assert waits == [ANSWER_WAIT_S]
    with Store.open(log_path()) as store:
        (session,) = store.sessions()
        (score,) = store.pain_scores()
    assert (score.score, score.session_id, score.source) == (4, session.id, "play")
    assert session.status == "done" and session.completed
    # after the session: the question, then "Noted: 4." (phrases synthesized when planning)
    assert player.buffers[-2:] == [cache.pcm(QUESTION), cache.pcm("Noted: 4.")]


@pytest.mark.sound
def test_no_answer_keeps_no_score(micro: Path) -> None:  # noqa: F811
    state, problem, player, cache = _play(micro, lambda _wait_s: None)
    assert (state, problem) == (State.DONE, None)
    with Store.open(log_path()) as store:
        assert store.pain_scores() == [] and len(store.sessions()) == 1
    assert player.buffers[-1] == cache.pcm("No score this time.")


@pytest.mark.sound
def test_a_stopped_session_is_not_asked(micro: Path) -> None:  # noqa: F811
    asked: list[float] = []

    def answer(wait_s: float) -> int:
        asked.append(wait_s)
        return 2

    state, problem, player, cache = _play(micro, answer, stop=True)
    assert (state, problem, asked) == (State.STOPPED, None, [])
    with Store.open(log_path()) as store:
        assert store.pain_scores() == []
    assert cache.pcm(QUESTION) not in player.buffers


@pytest.mark.sound
@pytest.mark.espeak
def test_voiceguide_play_asks_on_a_terminal_and_a_key_answers(
    sound_device: sound.SoundDevice,
    micro: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {
        **sound_device.process_env(),
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "24",
    }
    term = Terminal(["play", str(micro), "--hold", "5"], env)
    deadline = time.monotonic() + 240
    while "How does your back feel now" not in term.text() and time.monotonic() < deadline:
        assert term.process.poll() is None, term.text()[-2000:]
        time.sleep(0.1)
    time.sleep(0.5)
    term.press(b"7")
    code = term.finish(timeout_s=60)
    screen = term.text()
    assert code == 0 and "Noted: 7." in screen and "Traceback" not in screen, screen[-2000:]
    assert "Played to the end" in screen
    assert term.mode_after == term.mode  # the terminal as it was
    with Store.open(log_path()) as store:
        (session,) = store.sessions()
        (score,) = store.pain_scores()
    assert (score.score, score.session_id, score.source) == (7, session.id, "play")
