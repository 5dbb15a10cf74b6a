"""Encoding with ffmpeg (LAME): the rendered timeline streamed into one MP3 of the whole
routine (in pieces on every core, joined: see :mod:`.parallel`), then cut into the chapter
tracks between frames, with no re-encoding."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from voiceguide.errors import DependencyMissing, ExportError
from voiceguide.export.frames import info_frame, join_pieces, silent_frame
from voiceguide.export.names import PlannedTrack
from voiceguide.export.parallel import encode_at_once
from voiceguide.export.pieces import SAMPLES_PER_FRAME, Piece, has_gaps, plan_encoders
from voiceguide.export.tracks import TrackWriter
from voiceguide.plan.timeline import Silence, Timeline
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.bed import BedMix
from voiceguide.sound.render import CueSource, PhraseSource, render_events, render_frames

__all__ = [
    "Encoder",
    "Progress",
    "TrackCut",
    "cores",
    "encode",
    "encode_all",
    "encode_pieces",
    "find_program",
    "mp3_length_s",
    "rendered",
]

# LAME's own command-line default (q5, "good quality") rather than ffmpeg's q3: faster, and
# no difference heard in speech and cue tones.
_LAME_QUALITY = "5"
_SILENCE_SAMPLE_FRAMES = 16  # encoded to get LAME's frame for digital silence
_CUT_LEAD_MS = 40  # chapter tracks are cut this much before their chapter, in its quiet lead-in
_FULL_DISK_BYTES = 256 * 1024  # an ffmpeg failure with less free than this: the disk is full
# ffmpeg may keep voiceguide waiting (blocked writing to it, or waiting for it to finish) this
# long in all: 10 s, and 1 s per 10 s of the audio given to it (far more than encoding takes
# even on a busy machine); then it is killed with everything it started
_FFMPEG_BASE_S = 10.0
_FFMPEG_S_PER_AUDIO_S = 0.1
_STALLED_S = 5.0  # past its limit, a program that used no CPU for this long is hung
_SLOW_FACTOR = 4  # a program still working is given this many times its limit


class TrackCut(NamedTuple):
    """Where a chapter track starts in the full track, and how long it is."""

    start_ms: int
    duration_s: float


Progress = Callable[[int, int], None]
"""Called with (ms rendered so far, total ms)."""


def find_program(name: str) -> str:
    """The path of an external program on PATH, or a clear error saying what to install."""
    found = shutil.which(name)
    if found is None:
        raise DependencyMissing(
            f"{name} is not installed or not on PATH; install it: sudo apt-get install ffmpeg"
        )
    return found


def encode(encoder: Encoder, chunks: Iterable[bytes]) -> None:
    """Feed the chunks to the encoder and finish the file; on any failure the encoder is
    killed (its half-written file is the caller's to remove)."""
    try:
        for chunk in chunks:
            encoder.write(chunk)
        encoder.close()
    except BaseException:
        encoder.kill()
        raise


class Encoder:
    """One ffmpeg process turning streamed PCM into an MP3 file."""

    def __init__(
        self,
        ffmpeg: str,
        path: Path,
        bitrate: str,
        fmt: AudioFormat,
        id3: bool = True,
        shown: str | None = None,  # the file the user will see (``path`` is a staging one)
    ) -> None:
        self.path = path
        self.shown = shown or path.name
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        args = [
            ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
            *fmt.ffmpeg_input, "-i", "pipe:0",
            "-c:a", "libmp3lame", "-b:a", bitrate, "-ar", str(fmt.sample_rate),
            "-reservoir", "0", "-compression_level", _LAME_QUALITY,
            "-write_xing", "1", "-id3v2_version", "3" if id3 else "0", "-f", "mp3", str(path),
        ]  # fmt: skip
        # Its own process group: Ctrl-C reaches voiceguide alone, which stops the encoders
        # (an encoder stopping first would turn the interruption into an ffmpeg error).
        self._process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
            process_group=0,
        )  # fmt: skip
        assert self._process.stdin is not None
        self._stdin = self._process.stdin
        self._byte_s = 1 / (fmt.frame_bytes * fmt.sample_rate)
        self._watchdog = _Watchdog(self._process, "encoding")

    def write(self, data: bytes) -> None:
        self._watchdog.audio_s += len(data) * self._byte_s
        try:
            with self._watchdog.waiting():
                self._stdin.write(data)
        except BrokenPipeError:
            self._fail()

    def close(self) -> None:
        with self._watchdog.waiting():
            with contextlib.suppress(BrokenPipeError):
                self._stdin.close()
            code = self._process.wait()
        self._watchdog.stop()
        if code != 0:
            self._fail()
        self._stderr.close()

    def kill(self) -> None:
        self._watchdog.stop()
        _kill_group(self._process)
        with contextlib.suppress(BrokenPipeError, OSError):
            self._stdin.close()
        self._stderr.close()

    def _fail(self) -> None:
        self._watchdog.stop()
        _kill_group(self._process)
        self._watchdog.check()
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit code {self._process.returncode}"
        raise _ffmpeg_failure(f"writing {self.shown}", detail, self.path.parent)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill a program and everything it started (it runs in a process group of its own),
    only while it is not reaped: until then its pid, the group's id, is not reused."""
    if process.returncode is None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class _Watchdog:
    """Kills a program's process group once voiceguide has waited on it (:meth:`waiting`)
    longer in all than its limit, 10 s and 1 s per 10 s of audio (``audio_s``, given as it
    goes), while the program makes no progress: it has used no CPU time for the last
    ``_STALLED_S`` seconds. A working encoder on a busy machine is slow, not hung: it is
    given up to ``_SLOW_FACTOR`` times its limit. Time spent rendering or waiting for speech
    does not count."""

    def __init__(self, process: subprocess.Popen[bytes], what: str, audio_s: float = 0) -> None:
        self.audio_s = audio_s
        self.fired = False
        self._process = process
        self._what = what
        self._waited_s = 0.0
        self._since: float | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="voiceguide-watchdog").start()

    def limit_s(self) -> float:
        return _FFMPEG_BASE_S + _FFMPEG_S_PER_AUDIO_S * self.audio_s

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        started = time.monotonic()
        with self._lock:
            self._since = started
        try:
            yield
        finally:
            with self._lock:
                self._waited_s += time.monotonic() - started
                self._since = None

    def stop(self) -> None:
        self._stopped.set()

    def check(self) -> None:
        """Raises the one-line error if the limit was reached (the program was killed)."""
        if self.fired:
            raise ExportError(
                f"ffmpeg stopped responding while {self._what} (it kept voiceguide waiting "
                f"{self.limit_s():.0f} s, the limit for {self.audio_s:.0f} s of audio); it was "
                "stopped"
            )

    def _watch(self) -> None:
        cpu_ticks, progressed = _cpu_ticks(self._process.pid), time.monotonic()
        while not self._stopped.wait(0.1):
            with self._lock:
                waited = self._waited_s
                if self._since is not None:
                    waited += time.monotonic() - self._since
            now_ticks = _cpu_ticks(self._process.pid)
            if now_ticks is not None and now_ticks != cpu_ticks:
                cpu_ticks, progressed = now_ticks, time.monotonic()
            stalled = time.monotonic() - progressed > _STALLED_S
            over = waited > self.limit_s() and (stalled or waited > _SLOW_FACTOR * self.limit_s())
            if over and self._process.returncode is None:
                self.fired = True
                with contextlib.suppress(OSError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                return


def _cpu_ticks(pid: int) -> int | None:
    """The CPU time a process has used so far, in clock ticks (None when it cannot be read:
    then only the limit counts)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def _ffmpeg_failure(what: str, detail: str, folder: Path) -> Exception:
    """ffmpeg's failure as an error; a full disk as an OSError saying so, whatever ffmpeg
    said about it (the segment muxer says "Invalid argument" when its write fails)."""
    try:
        stat = os.statvfs(folder)
        full = stat.f_bavail * stat.f_frsize < _FULL_DISK_BYTES
    except OSError:
        full = False
    if full or "No space left" in detail:
        return OSError(28, "No space left on device")
    return ExportError(f"ffmpeg failed {what}: {detail}")


def encode_all(
    timeline: Timeline, phrases: PhraseSource, cues: CueSource | None,
    planned: list[PlannedTrack], staging: Path, ffmpeg: str, bitrate: str,
    progress: Progress | None, fmt: AudioFormat, bed: BedMix | None = None,
) -> list[TrackCut]:  # fmt: skip
    """Encode the whole routine once, on every core, into the full track and the chapter
    tracks cut out of it; where each chapter track starts in the full track, and its length
    (the full track's last: at 0, all the frames).

    The encoder keeps no bit reservoir, so every MP3 frame decodes on its own and a cut
    between frames is clean; each cut is made a little before its chapter, in the quiet
    that ends the chapter before, and lands on the next frame boundary (frames are 26 ms).
    """
    # under a music bed nothing is silent; else the silences need no encoding
    quiet = [] if bed is not None else [
        (fmt.frames(e.start_ms), fmt.frames(e.end_ms))
        for e in timeline.events if isinstance(e, Silence)
    ]  # fmt: skip
    jobs = plan_encoders(fmt.frames(timeline.total_ms), cores(), quiet)
    per_frame_ms = 1000 * SAMPLES_PER_FRAME / fmt.sample_rate
    cuts = [  # the first frame at or after each cut's time, as ffmpeg's segmenter cut them
        -(-max(0, c.start_ms - _CUT_LEAD_MS) * fmt.sample_rate // (1000 * SAMPLES_PER_FRAME))
        for c in timeline.chapters[1:]
    ]

    def report(samples: int, of: int) -> None:
        if progress is not None:
            progress(timeline.total_ms * samples // max(1, of), timeline.total_ms)

    frames = encode_pieces(
        lambda start, end: with_bed(
            render_frames(timeline.events, start, end, phrases, fmt, cues), start, bed, fmt
        ),
        jobs, staging / planned[-1].name, ffmpeg, bitrate, fmt, report,
        [staging / track.name for track in planned[:-1]], cuts,
    )  # fmt: skip
    return [
        TrackCut(round(first * per_frame_ms), count * per_frame_ms / 1000)
        for first, count in zip([0, *cuts, 0], [*frames, sum(frames)], strict=True)
    ]


def encode_pieces(
    pcm: Callable[[int, int], Iterable[bytes]], jobs: list[list[Piece]], path: Path,
    ffmpeg: str, bitrate: str, fmt: AudioFormat = FORMAT,
    progress: Callable[[int, int], None] | None = None,
    chapters: Sequence[Path] = (), cuts: Sequence[int] = (),
) -> list[int]:  # fmt: skip
    """Encode a stream as ``jobs`` share it out (:func:`.pieces.plan_encoders`; one encoder
    per job, all at once, fed ``pcm(start, end)``: the PCM of samples ``[start, end)``, for
    each of its pieces) and join the frames into one MP3 at ``path`` (its LAME header set
    for the whole), cutting the ``chapters`` out of it at frames ``cuts``; the frames of
    each chapter. ``progress`` gets (samples fed so far, samples to feed)."""
    total = next(job[-1].end_sample for job in jobs if job[-1].end_frame is None)
    feeds: list[Callable[[], Iterable[bytes]]] = [
        functools.partial(_fed, pcm, job, total, fmt) for job in jobs
    ]
    gaps = has_gaps(jobs)
    if gaps:  # one more encoder, of a little digital silence: LAME's frame for it
        zeros = bytes(_SILENCE_SAMPLE_FRAMES * SAMPLES_PER_FRAME * fmt.frame_bytes)
        feeds.append(lambda: (zeros,))
    work = sum(p.end_sample - p.start_sample for job in jobs for p in job)

    def report(samples: int) -> None:
        if progress is not None:
            progress(min(samples, work), work)

    files = encode_at_once(
        feeds,
        lambda i: Encoder(
            ffmpeg, path.with_name(f".{path.name}.{i}"), bitrate, fmt, id3=False, shown=path.name
        ),
        fmt.frame_bytes,
        report,
    )
    try:
        silence = silent_frame(files[-1]) if gaps else None
        info, _ = info_frame(files[0])
        tracks = TrackWriter(path, info, chapters, cuts)
        try:
            tracks.finish(join_pieces(jobs, files[: len(jobs)], silence, tracks.add))
        except BaseException:
            tracks.abandon()
            raise
        return tracks.chapter_frames
    finally:
        for piece_file in files:
            piece_file.unlink(missing_ok=True)


def _fed(
    pcm: Callable[[int, int], Iterable[bytes]], job: list[Piece], total: int, fmt: AudioFormat
) -> Iterator[bytes]:
    """An encoder's feed: its pieces one after another (past the stream's end: zeros)."""
    for piece in job:
        end = min(piece.end_sample, total)
        yield from pcm(piece.start_sample, end)
        if piece.end_sample > end:
            yield bytes((piece.end_sample - end) * fmt.frame_bytes)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def rendered(
    timeline: Timeline, phrases: PhraseSource, cues: CueSource | None,
    progress: Progress | None, fmt: AudioFormat, bed: BedMix | None = None,
) -> Iterator[bytes]:  # fmt: skip
    """The timeline rendered event by event (with the music ``bed`` mixed in), reporting
    ``progress`` as it goes."""
    frame = 0
    for event in timeline.events:
        for chunk in render_events((event,), phrases, fmt, cues):
            yield chunk if bed is None else bed.mix(chunk, frame)
            frame += len(chunk) // fmt.frame_bytes
        if progress is not None:
            progress(event.end_ms, timeline.total_ms)


def with_bed(
    chunks: Iterable[bytes], frame: int, bed: BedMix | None, fmt: AudioFormat
) -> Iterator[bytes]:
    """``chunks`` (the timeline's frames from ``frame`` on) with the music ``bed`` mixed in."""
    for chunk in chunks:
        yield chunk if bed is None else bed.mix(chunk, frame)
        frame += len(chunk) // fmt.frame_bytes


def mp3_length_s(path: Path) -> float:
    from mutagen.mp3 import MP3

    info = MP3(str(path)).info
    if info is None:
        raise ExportError(f"ffmpeg wrote an unreadable MP3: {path.name}")
    return float(info.length)
