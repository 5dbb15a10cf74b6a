"""hibari, the default voice: only the voices inside its wheel, never the network, and the
same bytes from two cold exports."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require
from tests.helpers.routines import write_one_hold_routine
from voiceguide.errors import SettingsError
from voiceguide.export.publish import MANIFEST
from voiceguide.plan.parsing import DEFAULT_VOICE
from voiceguide.speech.hibari import bundled_voices, resolve_voice

# Loaded by every Python process started with this folder on PYTHONPATH (speech workers are
# spawned, so they load it too): any attempt to resolve a name, connect or open a URL is
# written down and refused.
GUARD = """\
import os, sys

def _guard(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                 "urllib.Request"):
        with open(os.environ["NETWORK_TRIED"], "a") as log:
            log.write(f"{os.getpid()} {event} {args!r}\\n")
        raise RuntimeError(f"network refused in a test: {event}")

sys.addaudithook(_guard)
"""


def _run(
    args: list[str], env: dict[str, str], cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_one_hold_routine(
        tmp_path / "tiny",
        title="Tiny hibari routine",
        closing="Done, piriformis.",
        setup="Sit down, and hold 10-15 seconds.",
    )


def test_the_default_voice_is_the_bundled_hibari_voice() -> None:
    voices = bundled_voices()
    require("hibari", voices is not None, "pip install hibari-tts (./dev.sh setup)")
    assert voices is not None
    assert DEFAULT_VOICE == "hibari:heart"
    assert list(voices) == [DEFAULT_VOICE]
    assert voices[DEFAULT_VOICE].model.is_file()


@pytest.mark.parametrize("voice", ["hibari:bella", "hibari:emma"])
def test_a_hibari_voice_outside_the_wheel_is_refused_naming_the_bundled_one(
    voice: str, tiny: Path, tmp_path: Path
) -> None:
    # emma is in hibari's voice table (it would be downloaded), bella is not in it at all
    with pytest.raises(SettingsError, match="hibari:heart"):
        resolve_voice(voice)
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache")}
    result = _run([sys.executable, "-m", "voiceguide", "plan", str(tiny), "--voice", voice], env)
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert voice in line and "hibari:heart" in line and "downloads nothing" in line
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.wav"))


def _guarded_env(tmp_path: Path) -> dict[str, str]:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(guard), str(REPO)]),
        "NETWORK_TRIED": str(tmp_path / "network-tried.log"),
        "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"),
    }


def test_the_network_guard_catches_a_download(tmp_path: Path) -> None:
    """The guard of the next test would see hibari reach for the network."""
    env = _guarded_env(tmp_path)
    script = "import urllib.request; urllib.request.urlopen('https://huggingface.co', timeout=5)"
    result = _run([sys.executable, "-c", script], env)
    assert result.returncode != 0
    assert "urllib.Request" in (tmp_path / "network-tried.log").read_text()


@pytest.mark.slow
def test_hibari_speaks_with_the_network_unreachable(tiny: Path, tmp_path: Path) -> None:
    """A cold export with the default voice in a network namespace of its own (no interface
    up) and every Python process refusing to connect: it speaks, and nothing tried."""
    require("hibari", bundled_voices() is not None, "pip install hibari-tts (./dev.sh setup)")
    allowed = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    require(
        "unshare -n (a private network namespace)",
        allowed.returncode == 0,
        allowed.stderr.decode().strip(),
    )
    env = _guarded_env(tmp_path)
    out = tmp_path / "audio"
    export = [sys.executable, "-m", "voiceguide", "export", str(tiny), "--out", str(out), "--json"]
    result = _run(["unshare", "-n", *export], env)
    assert result.returncode == 0, result.stderr
    tried = tmp_path / "network-tried.log"
    assert not tried.exists(), tried.read_text()
    wavs = list((tmp_path / "cache").rglob("*.wav"))
    assert len(wavs) >= 5, wavs  # every phrase spoken by hibari, into the cache
    assert any(out.rglob("*.mp3"))


def _digests(folder: Path) -> dict[str, str]:
    """Every file's SHA-256; the export's manifest without its id (drawn at random for each
    export: publishing tells exports apart by it)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == MANIFEST:
                manifest = json.loads(data)
                assert manifest.pop("id")
                data = json.dumps(manifest, sort_keys=True).encode()
            found[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return found


@pytest.mark.slow
def test_two_cold_exports_of_the_default_routine_are_byte_identical(tmp_path: Path) -> None:
    """The default routine with the default voice, exported twice, each into a cache of its
    own (every phrase spoken anew, in whichever worker, in whichever order): the same bytes,
    every file."""
    require("hibari", bundled_voices() is not None, "pip install hibari-tts (./dev.sh setup)")
    results = []
    for run in ("first", "second"):
        env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / f"cache-{run}")}
        out = tmp_path / f"audio-{run}"
        result = _run([sys.executable, "-m", "voiceguide", "export", "--out", str(out)], env)
        assert result.returncode == 0, result.stderr
        results.append(_digests(out))
    first, second = results
    assert sum(name.endswith(".mp3") for name in first) >= 6 and MANIFEST in first
    different = sorted(name for name in first if first[name] != second.get(name))
    assert not different and first.keys() == second.keys(), different


def test_hibari_reads_the_words_and_the_other_engines_get_the_respellings(
    tmp_path: Path,
) -> None:
    """The lexicon's respellings are written for espeak-ng's rules; hibari says the words
    itself (the listening test hears each of the default routine's lexicon words right)."""
    from tests.conftest import FakeSynthesizer
    from voiceguide.speech.cache import PhraseCache
    from voiceguide.speech.hibari import HibariSynthesizer

    require("hibari", bundled_voices() is not None, "pip install hibari-tts (./dev.sh setup)")
    lexicon = (("piriformis", "pirri-formiss"),)
    text = "Stretch the piriformis."
    hibari = PhraseCache(HibariSynthesizer(DEFAULT_VOICE, 145), tmp_path / "h", lexicon=lexicon)
    other = PhraseCache(FakeSynthesizer(), tmp_path / "o", lexicon=lexicon)
    try:
        assert hibari.key(text).endswith(b"Stretch the piriformis.")
        assert other.key(text).endswith(b"Stretch the pirri-formiss.")
    finally:
        hibari.close()
        other.close()


def test_one_process_speaks_in_threads_the_same_bytes_as_one_phrase_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hibari's model and lexicons are most of a worker's memory: one worker process speaks
    and finishes the phrases in a thread per core. Each phrase is the same bytes as spoken
    alone, one after another in the other order, and the lengths known before the audio
    (as an export plans) are the audio's."""
    from voiceguide.speech import workers
    from voiceguide.speech.cache import PhraseCache
    from voiceguide.speech.hibari import HibariSynthesizer

    require("hibari", bundled_voices() is not None, "pip install hibari-tts (./dev.sh setup)")
    texts = [
        f"Hold the stretch for {n} breaths, then let your {part} relax."
        for n, part in zip(range(2, 10), ["hip", "knee", "neck", "back"] * 2, strict=True)
    ]
    pools: list[int] = []
    start_pool = workers._start_pool

    def counted(count: int, *preload: tuple[str, ...]) -> object:
        pools.append(count)
        return start_pool(count, *preload)

    monkeypatch.setattr(workers, "_start_pool", counted)
    threaded = HibariSynthesizer(DEFAULT_VOICE, 145, workers=2)
    jobs = [(text, tmp_path) for text in texts]
    assert (threaded.workers_for(jobs), threaded.threads_for(jobs)) == (1, 2)
    together = PhraseCache(threaded, tmp_path / "together")
    together.ensure(texts, lengths_only=True)
    lengths = {text: together.measure(text) for text in texts}
    assert [together.measure(text) for text in texts] == [lengths[t] for t in texts]
    alone = PhraseCache(HibariSynthesizer(DEFAULT_VOICE, 145, workers=1), tmp_path / "alone")
    try:
        for text in reversed(texts):
            alone.ensure([text])
        for text in texts:
            assert together.pcm(text) == alone.pcm(text), text
            assert alone.measure(text) == lengths[text]
    finally:
        together.close()
        alone.close()
    assert pools == [1] + [1] * len(texts)
