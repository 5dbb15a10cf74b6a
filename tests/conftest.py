"""Shared fixtures.

Tests that need a real backend are marked (``espeak``, ``ffmpeg``, ``sound``). Outside CI a
missing backend skips them; in CI (``CI=true``) it fails them, so a broken install step can
never pass silently.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voiceguide.errors import Interrupted
from voiceguide.routine.library import resolve_routine
from voiceguide.routine.loader import load_routine
from voiceguide.routine.model import Routine
from voiceguide.speech.cache import PhraseCache

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parent.parent


def require(what: str, available: bool, hint: str) -> None:
    """Skip (locally) or fail (in CI) when a real dependency is missing."""
    if available:
        return
    message = f"{what} is not available: {hint}"
    if IN_CI:
        pytest.fail(message + " (CI must install it: ./dev.sh setup)")
    pytest.skip(message)


def _espeak_available() -> bool:
    try:
        import pyttsx3

        pyttsx3.init("espeak")
    except Exception:
        return False
    return True


def _neural_available() -> bool:
    from voiceguide.speech.piper import packaged_voices

    return bool(packaged_voices())


@pytest.fixture(autouse=True)
def _espeak_data_path_follows_the_environment() -> Iterator[None]:
    """After each test (and after its monkeypatch is undone: autouse fixtures are torn down
    last), libespeak-ng in this process looks for its data where the environment says again.
    A test that points ``ESPEAK_DATA_PATH`` at a broken folder makes voiceguide's up-front
    check set the library's global data path there; the next engine started in this process
    (pyttsx3's, for the backend check) would otherwise read from that folder."""
    yield
    import contextlib

    from voiceguide.speech import libespeak

    if libespeak.load.cache_info().currsize:  # loaded in this process (by a test, or a check)
        with contextlib.suppress(AttributeError):  # the old espeak has no data path to reset
            libespeak.load().reset_data_path()


@pytest.fixture(autouse=True)
def _real_backends(request: pytest.FixtureRequest) -> None:
    """Marked tests need their real backend: skip locally, fail in CI when it is missing."""
    node = request.node
    if node.get_closest_marker("ffmpeg"):
        require(
            "ffmpeg",
            bool(shutil.which("ffmpeg") and shutil.which("ffprobe")),
            "apt-get install ffmpeg",
        )
    if node.get_closest_marker("espeak"):
        require("espeak-ng (through pyttsx3)", _espeak_available(), "apt-get install espeak-ng")
    if node.get_closest_marker("neural"):
        require(
            "the neural voice (Piper)",
            _neural_available(),
            "pip install 'voiceguide[neural]' (./dev.sh setup)",
        )
    if node.get_closest_marker("sound"):
        request.getfixturevalue("sound_device")


@pytest.fixture(scope="session")
def sound_device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The virtual sound device (tests/helpers/sound.py), for the whole session; ALSA in this process
    and in the processes it starts plays on it while it runs."""
    from tests.helpers import sound

    problem = sound.missing()
    require("the virtual sound device", problem is None, problem or "")
    device = sound.SoundDevice(tmp_path_factory.mktemp("sound"))
    saved = {name: os.environ.get(name) for name in device.env}
    try:
        device.start()
        os.environ.update(device.env)
        yield device
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        device.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.helpers.sound import MEASUREMENTS

    if MEASUREMENTS:
        terminalreporter.section("sound measurements")
        for name, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets a cache folder of its own session: never the user's real cache."""
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _private_preferences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets an empty config folder and routines folder of its own: never the
    user's saved preferences or routines (a test that wants some writes them there)."""
    monkeypatch.setenv("VOICEGUIDE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path / "data"))


class FakeSynthesizer:
    """A fast stand-in for espeak-ng: 40 ms of a text-specific tone per character, at
    22.05 kHz like espeak-ng, so the cache's format conversion is exercised too."""

    identity = "fake|1"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.cancelled = False

    def synthesize(
        self, jobs: list[tuple[str, Path]], finish: Any = None, done: Any = None, spoken: Any = None
    ) -> None:
        for text, wav_path in jobs:
            if self.cancelled:
                raise Interrupted()
            self._one(text, wav_path)
            if spoken is not None:
                spoken(text, wav_path)
            if finish is not None:
                finish(text, wav_path)
            if done is not None:
                done(text, wav_path)

    def cancel(self) -> None:
        self.cancelled = True

    def _one(self, text: str, wav_path: Path) -> None:
        self.calls.append(text)
        rate = 22_050
        frames = max(1, len(text)) * rate * 40 // 1000
        freq = 200 + int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 600
        samples = (int(12_000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(frames))
        with wave.open(str(wav_path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def fake_measure(text: str) -> int:
    """A deterministic stand-in for phrase lengths: 40 ms per character."""
    return 40 * max(1, len(text))


@pytest.fixture
def routine() -> Routine:
    return load_routine(resolve_routine(None))


@pytest.fixture
def fake_cache(tmp_path: Path) -> Iterator[PhraseCache]:
    yield PhraseCache(FakeSynthesizer(), tmp_path / "fake-cache")
