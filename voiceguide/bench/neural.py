"""Figure 6 of the benchmark: the neural voice (Piper), ``--only 6``.

A cold export of the default routine with ``--voice piper:en_US-joe-medium`` (an empty
cache) against its floor: the ``piper`` program of piper-tts (the model loaded once) given
every phrase, one a line, writing a WAV per line into a folder, at the same length scale,
plus the same ``ffmpeg`` encode as figure 1 [goal <= 1.0]; the real-time factor of both
(seconds taken per second of speech); the peak memory of the export with all its worker
processes, sampled every 0.1 s [goal <= 1 GB]; and a warm re-export after changing only
``--hold``, which starts no engine at all, against ``ffmpeg`` alone [goal <= 1.2]. One run
each: a cold neural export takes a minute or two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from voiceguide.bench import floor

__all__ = ["neural_figure", "peak_while", "tree_rss_mb"]

VOICE = "piper:en_US-joe-medium"


def tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def peak_while(args: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; (wall seconds, peak MB of it and its descendants)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(process.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {err.decode(errors='replace').strip()[-500:]}")
    return time.perf_counter() - started, peak


def neural_figure(work: Path, row: Callable[..., str]) -> None:
    """Print figure 6 (``row`` formats a line as the other figures do)."""
    from voiceguide import pipeline
    from voiceguide.plan.settings import Settings
    from voiceguide.speech.piper import length_scale_for, packaged_voices

    installed = packaged_voices()
    if not installed or VOICE not in installed:
        print("6. neural voice: not measured: the neural extra is not installed")
        return
    cache, out = work / "neural-cache", work / "neural-audio"
    env = {**os.environ, "VOICEGUIDE_CACHE_DIR": str(cache)}
    vg = [sys.executable, "-m", "voiceguide"]
    shutil.rmtree(cache, ignore_errors=True)
    cold_s, peak_mb = peak_while([*vg, "export", "--voice", VOICE, "--out", str(out)], env)
    exported = json.loads(
        subprocess.run(
            [*vg, "export", "--voice", VOICE, "--out", str(out), "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    audio_s = exported["full"]["duration_s"]

    settings = Settings(voice=VOICE)
    timeline = pipeline.plan(
        pipeline.load(None), settings, pipeline.make_cache(settings, cache_dir=cache)
    )
    phrases = timeline.phrases()
    speech_s = sum(pipeline.make_cache(settings, cache_dir=cache).measure(p) for p in phrases)
    lines = work / "phrases.txt"
    lines.write_text("".join(" ".join(p.split()) + "\n" for p in phrases), encoding="utf-8")
    files = installed[VOICE]
    wavs = work / "piper-wavs"
    floor_cmd = [
        sys.executable,
        "-m",
        "piper",
        "-m",
        str(files.model),
        "-c",
        str(files.config),
        "-i",
        str(lines),
        "-d",
        str(wavs),
        "--length-scale",
        str(length_scale_for(settings.rate_wpm)),
    ]
    floor_speech_s, floor_peak_mb = peak_while(floor_cmd, dict(os.environ))
    wav = work / "neural-full.wav"
    subprocess.run(floor.to_wav(exported["full"]["path"], wav), check=True)
    started = time.perf_counter()
    subprocess.run(floor.to_mp3(wav, work / "neural-floor.mp3"), check=True)
    encode_s = time.perf_counter() - started
    warm_started = time.perf_counter()
    subprocess.run(
        [*vg, "export", "--voice", VOICE, "--out", str(out), "--hold", "41"],
        env=env,
        check=True,
        capture_output=True,
    )
    warm_s = time.perf_counter() - warm_started

    print(
        f"neural voice: {audio_s / 60:.1f} min of audio, {len(phrases)} phrases, "
        f"{speech_s / 1000:.0f} s of speech"
    )
    print(
        row(
            "6. neural cold export vs piper CLI+ffmpeg",
            cold_s,
            floor_speech_s + encode_s,
            None,
            1.0,
        )
    )
    speech = speech_s / 1000
    print(
        f"   real-time factor (s per s of speech): voiceguide {cold_s / speech:.3f}, "
        f"piper CLI {floor_speech_s / speech:.3f}"
    )
    print(row("   peak memory, all processes vs 1 GB", peak_mb, 1024, None, 1.0, "MB"))
    print(f"   (the piper CLI alone: {floor_peak_mb:.0f} MB)")
    print(row("   warm neural re-export (new holds) vs ffmpeg", warm_s, encode_s, None, 1.2))
