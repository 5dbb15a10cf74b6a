"""The benchmark: ``python -m voiceguide.bench.figures``.

Measures voiceguide side by side with the floor it is compared with, in one run on this
machine, and prints each figure as a ratio to its floor (goal in brackets):

1. cold export (empty cache) of the default routine, default voice, vs the naive floor:
   ``espeak-ng`` per phrase, plus ``ffmpeg`` encoding a WAV of the same length [<= 1.0]
   and its peak memory, all processes (speech workers, encoders)              [<= 450 MB]
2. warm re-export after changing only hold lengths, vs ``ffmpeg`` alone encoding the same
   audio from a WAV                                                           [<= 0.65]
   and the parallel encoder alone (one piece per core, joined) on that WAV, vs that ffmpeg;
   the same warm re-export with the music bed ``--bed pad``, vs ffmpeg alone  [<= 1.3]
3. scaling: the routine at 1x, 4x and 16x its rounds and sets: seconds per audio minute at
   16x vs 1x [<= 17/16], and the peak memory (RSS) of a 2-hour export [<= 250 MB], and
   of the same export with a 3-minute music file as its bed, vs without       [<= 1.2]
4. ``voiceguide --help`` wall time                                            [<= 0.3 s]
5. live play, on a virtual sound device (a PulseAudio null sink, recorded): time to the
   first sound heard, warm [<= 0.5 s] and cold [<= 1.5 s], CPU share holding [<= 5 %]
6. the neural voice (Piper): cold export vs the ``piper`` program + ``ffmpeg``, real-time
   factor, peak memory of all processes, warm re-export (see :mod:`.neural`)

Timings are the median of ``--repeat`` runs (default 3); figures 1 and 2 run voiceguide and
its floor in turn and take the median of the pairs' ratios. The package is byte-compiled
first, as an installed copy is. Nothing here asserts: the numbers are printed, and the
README quotes them with this command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from voiceguide.bench import floor

__all__ = ["cpu_s", "main"]


def _run(
    args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), check=True, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def _vg(*args: str) -> list[str]:
    """The voiceguide command line, as a user runs it."""
    return [sys.executable, "-m", "voiceguide", *args]


def _timed(
    action: Callable[[], object], repeat: int, before: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _row(
    name: str, ours_s: float, floor_s: float, ratio: float | None, goal: float, unit: str = "s"
) -> str:
    """A figure's line; ``ratio`` None: ours over the floor."""
    if ratio is None:
        ratio = ours_s / floor_s if floor_s > 0 else float("inf")
    verdict = "ok" if ratio <= goal else "MISSED"
    return (
        f"{name:<46} {ours_s:8.2f} {unit} vs {floor_s:8.2f} {unit}  "
        f"ratio {ratio:5.2f} (goal <= {goal:g})  {verdict}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m voiceguide.bench.figures", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the 2-hour export")
    parser.add_argument("--only", type=_items, help="only these figures, e.g. 4,5")
    parser.add_argument(
        "--live-routine", metavar="ROUTINE", help="what figure 5 plays (default: the default)"
    )
    parser.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory-bed", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.memory_child is not None:
        _memory_child(options.memory_child, options.memory_bed)
        return 0
    repeat = max(1, options.repeat)
    for program in ("espeak-ng", "ffmpeg"):
        if shutil.which(program) is None:
            print(
                f"bench: {program} is not installed (./dev.sh setup installs it)", file=sys.stderr
            )
            return 1

    _byte_compile()
    work = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    try:
        print(
            f"voiceguide benchmark: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
            f"median of {repeat}\n"
        )
        only = options.only or {1, 2, 3, 4, 5, 6}
        if only & {1, 2}:
            _cold_and_warm(work, repeat)
        if 3 in only:
            _scaling(work, skip_memory=options.skip_memory)
        if 4 in only:
            _help(repeat)
        if 5 in only:
            _live(work, repeat, options.live_routine)
        if 6 in only:
            from voiceguide.bench.neural import neural_figure

            neural_figure(work, _row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _byte_compile() -> None:
    """Byte-compile voiceguide as an installed copy is (pip compiles what it installs): a
    source checkout run with PYTHONDONTWRITEBYTECODE set would compile its 100 modules
    again in every process, which is not what a user's runs do."""
    import compileall

    import voiceguide

    with contextlib.suppress(OSError):  # a read-only installed copy is compiled already
        compileall.compile_dir(Path(voiceguide.__file__).parent, quiet=1)


def _items(text: str) -> set[int]:
    try:
        items = {int(part) for part in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: numbers from 1 to 6, e.g. 4,5") from None
    if not items <= {1, 2, 3, 4, 5, 6}:
        raise argparse.ArgumentTypeError(f"{text!r}: numbers from 1 to 6, e.g. 4,5")
    return items


def _cold_and_warm(work: Path, repeat: int) -> None:
    """Figures 1 and 2. Each is timed in pairs, voiceguide then its floor, ``repeat``
    times: the ratio is the median of the pairs' ratios, so that a machine whose speed
    drifts (a shared virtual machine does, by a quarter within minutes) moves both sides
    of a ratio alike."""
    cache = work / "cache"
    env = {"VOICEGUIDE_CACHE_DIR": str(cache)}
    out = work / "audio"

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    _run(_vg("export", "--out", str(out)), env)  # not timed: the WAV and phrases of the floor
    plan = json.loads(_run(_vg("plan", "--json"), env).stdout)
    exported = json.loads(_run(_vg("export", "--out", str(out), "--json"), env).stdout)
    wav = work / "full.wav"
    _run(floor.to_wav(exported["full"]["path"], wav))

    # the naive floor: espeak-ng, one process per phrase, then one ffmpeg encode
    from voiceguide import pipeline
    from voiceguide.plan.parsing import DEFAULT_VOICE
    from voiceguide.plan.settings import Settings

    routine = pipeline.load(None)
    timeline = pipeline.plan(routine, Settings(), pipeline.make_cache(Settings(), cache_dir=cache))
    phrases = timeline.phrases()
    speak_dir = work / "espeak"
    speak_dir.mkdir()

    def naive_speech() -> None:
        for i, text in enumerate(phrases):
            _run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(speak_dir / f"{i}.wav"), text])

    def encode() -> None:
        _run(floor.to_mp3(wav, work / "floor.mp3"))

    def floor_cold() -> None:
        naive_speech()
        encode()

    print(f"default routine: {plan['total_s'] / 60:.1f} min of audio, {len(phrases)} phrases")
    cold = _paired(
        lambda: _run(_vg("export", "--out", str(out)), env), floor_cold, repeat, clear_cache
    )
    print(_row(f"1. cold export ({DEFAULT_VOICE}) vs espeak-ng+ffmpeg", *cold, 1.0))
    from voiceguide.bench.neural import peak_while

    peaks = []
    for _ in range(repeat):
        clear_cache()
        peaks.append(peak_while(_vg("export", "--out", str(out)), {**os.environ, **env})[1])
    print(_row("   its peak memory, all processes", statistics.median(peaks), 450, None, 1.0, "MB"))
    holds = iter(range(31, 31 + 2 * repeat + 1))
    warm = _paired(
        lambda: _run(_vg("export", "--out", str(out), "--hold", str(next(holds))), env),
        encode,
        repeat,
    )
    print(_row("2. warm re-export (new holds) vs ffmpeg alone", *warm, 0.65))
    bed = ["--bed", "pad"]
    _run(_vg("export", "--out", str(out), *bed), env)  # the pad is made once, then cached
    holds = iter(range(41, 41 + 2 * repeat + 1))
    warm_bed = _paired(
        lambda: _run(_vg("export", "--out", str(out), *bed, "--hold", str(next(holds))), env),
        encode,
        repeat,
    )
    print(_row("   the same with --bed pad vs ffmpeg alone", *warm_bed, 1.3))
    pieces, parallel = _parallel_encoder(wav, work)
    name = f"   parallel encoder alone ({pieces} pieces) vs ffmpeg"
    print(_row(name, *_paired(parallel, encode, repeat), 1.0))


def _paired(
    ours: Callable[[], object],
    floor: Callable[[], object],
    repeat: int,
    before: Callable[[], object] | None = None,
) -> tuple[float, float, float]:
    """``ours`` and ``floor`` timed in turn, ``repeat`` times (``before`` each of ours, not
    timed): their median times and the median of the pairs' ratios."""
    pairs = []
    for _ in range(repeat):
        ours_s = _timed(ours, 1, before)
        pairs.append((ours_s, _timed(floor, 1)))
    return (
        statistics.median(o for o, _ in pairs),
        statistics.median(f for _, f in pairs),
        statistics.median(o / f for o, f in pairs),
    )


def _parallel_encoder(wav: Path, work: Path) -> tuple[int, Callable[[], object]]:
    """The export's encoder alone on the floor's WAV: one piece per core, encoded at once and
    joined (as ``export`` does before cutting the chapters); (pieces, the encode)."""
    import wave

    from voiceguide.export.encoder import cores, encode_pieces
    from voiceguide.export.pieces import plan_pieces

    with wave.open(str(wav), "rb") as w:
        total = w.getnframes()
    pieces = plan_pieces(total, cores())

    def pcm(start: int, end: int) -> Iterator[bytes]:
        with wave.open(str(wav), "rb") as w:
            w.setpos(start)
            left = end - start
            while left > 0:
                chunk = w.readframes(min(left, 65_536))
                if not chunk:
                    return
                left -= len(chunk) // 2
                yield chunk

    out = work / "parallel.mp3"
    return len(pieces), lambda: encode_pieces(pcm, [[p] for p in pieces], out, "96k")


def _scaling(work: Path, skip_memory: bool) -> None:
    cache = work / "cache"
    env = {"VOICEGUIDE_CACHE_DIR": str(cache)}
    results = []
    for factor in (1, 4, 16):
        args = ["--rounds", str(factor), "--sets", str(min(factor, 20))]
        plan = json.loads(_run(_vg("plan", *args, "--json"), env).stdout)
        started = time.perf_counter()
        _run(_vg("export", *args, "--out", str(work / "scale")), env)
        seconds = time.perf_counter() - started
        results.append((factor, plan["total_s"] / 60, seconds))
    for factor, minutes, seconds in results:
        print(
            f"   {factor:>2}x: {minutes:6.1f} min of audio exported in {seconds:6.2f} s "
            f"({seconds / minutes:.3f} s per audio minute)"
        )
    per_minute_1 = results[0][2] / results[0][1]
    per_minute_16 = results[2][2] / results[2][1]
    print(
        _row(
            "3. scaling: s per audio minute, 16x vs 1x",
            per_minute_16,
            per_minute_1,
            None,
            17 / 16,
            "s/min",
        )
    )
    if skip_memory:
        return
    child = [sys.executable, "-m", "voiceguide.bench", "--memory-child", str(work / "long")]
    hours, rss_mb = json.loads(_run(child, env).stdout)
    print(_row(f"   peak RSS of a {hours:.1f}-hour export vs 250 MB", rss_mb, 250, None, 1.0, "MB"))
    song = work / "music.mp3"  # 3 minutes of slow chords
    _run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc='0.2*sin(2*PI*110*t)+0.1*sin(2*PI*164.8*t)*(1+0.5*sin(0.7*t))"
            "+0.05*sin(2*PI*277.2*t)':s=44100:d=180",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            str(song),
        ]
    )
    _, bed_mb = json.loads(_run([*child, "--memory-bed", str(song)], env).stdout)
    print(_row("   the same with a 3-minute music bed vs without", bed_mb, rss_mb, None, 1.2, "MB"))


def _memory_child(out: Path, bed: str | None) -> None:
    """Export about 2 hours (10 rounds of 3-minute holds), with ``bed`` as its music bed,
    and print (hours, peak RSS in MB)."""
    import dataclasses
    import resource

    from voiceguide import pipeline

    settings = pipeline.parse_settings([("hold", "180"), ("rounds", "10"), ("sets", "3")])
    settings = dataclasses.replace(settings, bed=bed)
    routine = pipeline.load(None)
    timeline, _ = pipeline.export(routine, settings, pipeline.make_cache(settings), out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps([timeline.total_ms / 3_600_000, peak_mb]))


def _help(repeat: int) -> None:
    seconds = _timed(lambda: _run(_vg("--help")), max(5, repeat))
    print(_row("4. voiceguide --help vs 0.3 s", seconds, 0.3, None, 1.0))


def _live(work: Path, repeat: int, routine: str | None) -> None:
    """``voiceguide play`` as a user runs it (stdin not a terminal: no keys), on a virtual
    sound device whose output is recorded: when its first sound is heard, cold and warm,
    and its CPU share (all threads) during the first hold."""
    from voiceguide import pipeline
    from voiceguide.bench import virtual_sound
    from voiceguide.plan.settings import Settings

    problem = virtual_sound.missing()
    if problem is not None:
        print(f"5. live play: not measured: no virtual sound device ({problem})")
        return
    cache = work / "live-cache"
    timeline = pipeline.plan(
        pipeline.load(routine), Settings(), pipeline.make_cache(Settings(), cache_dir=cache)
    )
    hold = timeline.holds[0]
    # from the chapter of the first hold, which it reaches sooner
    chapter = next(c for c in timeline.chapters if c.exercise == hold.exercise)
    hold_from_s, hold_to_s = (
        (hold.start_ms - chapter.start_ms) / 1000,
        (hold.end_ms - chapter.start_ms) / 1000,
    )
    args = ["play", *([routine] if routine else []), "--from", hold.exercise]
    device = virtual_sound.SoundDevice(work / "sound")
    device.start()
    try:
        env = {**device.process_env(), "VOICEGUIDE_CACHE_DIR": str(cache)}

        def first_sound(cold: bool, cpu: list[float] | None = None) -> float:
            if cold:
                shutil.rmtree(cache, ignore_errors=True)
            with device.record() as recorder:
                started = time.monotonic()
                process = subprocess.Popen(
                    _vg(*args),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                try:
                    heard = recorder.time_at(recorder.wait_for_sound(timeout_s=60))
                    if cpu is not None:  # the first hold, less a second at either end
                        time.sleep(max(0.0, heard + hold_from_s + 1 - time.monotonic()))
                        used, since = cpu_s(process.pid), time.monotonic()
                        time.sleep(max(0.5, hold_to_s - hold_from_s - 2))
                        cpu.append((cpu_s(process.pid) - used) / (time.monotonic() - since))
                finally:
                    process.send_signal(signal.SIGINT)
                    _, err = process.communicate(timeout=30)
                if process.returncode != 130:
                    raise RuntimeError(f"voiceguide play failed: {err.decode().strip()}")
            return heard - started

        cold = statistics.median(first_sound(cold=True) for _ in range(repeat))
        warm = statistics.median(first_sound(cold=False) for _ in range(repeat))
        cpu: list[float] = []
        first_sound(cold=False, cpu=cpu)
    finally:
        device.close()
    print(_row("5. live play: first sound, warm vs 0.5 s", warm, 0.5, None, 1.0))
    print(_row("   first sound, cold (empty cache) vs 1.5 s", cold, 1.5, None, 1.0))
    print(_row("   CPU while holding vs 5 % of one core", 100 * cpu[0], 5.0, None, 1.0, "%"))


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    raise SystemExit(main())
