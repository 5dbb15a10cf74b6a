"""Encoding with LAME: the rendered timeline streamed into one MP3 of the whole routine (in
pieces on every core, one encoder worker each, joined: see :mod:`.parallel`), with the
chapter tracks cut out of it between frames, with no re-encoding."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from voiceguide.errors import DependencyMissing, ExportError
from voiceguide.export.frames import DELAY_SAMPLES, info_frame, join_pieces, silent_side
from voiceguide.export.names import PlannedTrack
from voiceguide.export.parallel import encode_at_once
from voiceguide.export.pieces import SAMPLES_PER_FRAME, Piece, has_gaps, plan_encoders
from voiceguide.export.reservoir import Repacker
from voiceguide.export.tracks import TrackWriter
from voiceguide.plan.timeline import Silence, Timeline
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.bed import BedMix
from voiceguide.sound.render import CueSource, PhraseSource, render_events, render_frames

__all__ = [
    "LameWorker",
    "Progress",
    "TrackCut",
    "cores",
    "encode_all",
    "encode_pieces",
    "find_program",
    "rendered",
]

_CUT_LEAD_MS = 70  # chapter tracks are cut this much before their chapter, in its quiet lead-in:
# 2-3 frames of quiet refill the bit reservoir that the cut frame may not borrow from
# the encoder worker's command line, before its arguments (tests put a stand-in here)
WORKER = (sys.executable, "-m", "voiceguide.export.lame")
_FULL_DISK_BYTES = 256 * 1024  # an encoder failure with less free than this: the disk is full


class TrackCut(NamedTuple):
    """Where a chapter track starts in the full track, and how long it is."""

    start_ms: int
    duration_s: float


Progress = Callable[[int, int], None]
"""Called with (ms rendered so far, total ms)."""


def find_program(name: str, hint: str = "sudo apt-get install ffmpeg") -> str:
    """The path of an external program on PATH, or a clear error saying what to install."""
    found = shutil.which(name)
    if found is None:
        raise DependencyMissing(f"{name} is not installed or not on PATH; install it: {hint}")
    return found


def kbps(bitrate: str) -> int:
    """ "96k" -> 96."""
    return int(bitrate.removesuffix("k"))


class LameWorker:
    """One encoder worker (:mod:`.lame`) turning streamed PCM into an MP3 file of bare
    frames."""

    def __init__(
        self, path: Path, bitrate: str, fmt: AudioFormat, shown: str | None = None
    ) -> None:
        self.path = path
        self.shown = shown or path.name  # the file the user will see (``path`` is a staging one)
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        args = [
            *WORKER,
            str(path),
            str(kbps(bitrate)),
            str(fmt.sample_rate),
            str(fmt.channels),
        ]
        try:
            self._process = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
            )
        except BaseException:
            self._stderr.close()
            raise
        assert self._process.stdin is not None
        self._stdin = self._process.stdin

    def write(self, data: bytes) -> None:
        try:
            self._stdin.write(data)
        except OSError:  # a broken pipe too: the worker is gone
            self._fail()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        if self._process.wait() != 0:
            self._fail()
        self._stderr.close()

    def kill(self) -> None:
        self.kill_only()
        with contextlib.suppress(OSError):
            self._stdin.close()
        self._stderr.close()

    def _fail(self) -> None:
        self.kill_only()
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit code {self._process.returncode}"
        raise _encoder_failure(f"writing {self.shown}", detail, self.path.parent)

    def kill_only(self) -> None:
        """Stop the worker (its files stay open for reading what it said)."""
        if self._process.returncode is None:
            with contextlib.suppress(OSError):
                self._process.kill()
        self._process.wait()


def _encoder_failure(what: str, detail: str, folder: Path) -> Exception:
    """An encoder's failure as an error; a full disk as an OSError saying so."""
    try:
        full = shutil.disk_usage(folder).free < _FULL_DISK_BYTES
    except OSError:
        full = False
    if full or "No space left" in detail:
        return OSError(28, "No space left on device")
    return ExportError(f"the MP3 encoder failed {what}: {detail}")


def encode_all(
    timeline: Timeline,
    phrases: PhraseSource,
    cues: CueSource | None,
    planned: list[PlannedTrack],
    staging: Path,
    bitrate: str,
    progress: Progress | None,
    fmt: AudioFormat,
    bed: BedMix | None = None,
) -> list[TrackCut]:
    """Encode the whole routine once, on every core, into the full track and the chapter
    tracks cut out of it; where each chapter track starts in the full track, and its length
    (the full track's last: at 0, all the frames).

    The first frame of each chapter track decodes on its own (:mod:`.reservoir`), so a cut
    between frames is clean; each cut is made a little before its chapter, in the quiet
    that ends the chapter before, and lands on the next frame boundary (frames are 26 ms).
    """
    # under a music bed nothing is silent; else the silences need no encoding
    quiet = (
        []
        if bed is not None
        else [
            (fmt.frames(e.start_ms), fmt.frames(e.end_ms))
            for e in timeline.events
            if isinstance(e, Silence)
        ]
    )
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
        jobs,
        staging / planned[-1].name,
        bitrate,
        fmt,
        report,
        [staging / track.name for track in planned[:-1]],
        cuts,
    )
    # the full track's length is its samples (its LAME header leaves out the encoder's delay
    # and padding, as readers do); a chapter track has no such header: all its frames
    return [
        *(
            TrackCut(round(first * per_frame_ms), count * per_frame_ms / 1000)
            for first, count in zip([0, *cuts], frames, strict=True)
        ),
        TrackCut(0, fmt.frames(timeline.total_ms) / fmt.sample_rate),
    ]


def encode_pieces(
    pcm: Callable[[int, int], Iterable[bytes]],
    jobs: list[list[Piece]],
    path: Path,
    bitrate: str,
    fmt: AudioFormat = FORMAT,
    progress: Callable[[int, int], None] | None = None,
    chapters: Sequence[Path] = (),
    cuts: Sequence[int] = (),
) -> list[int]:
    """Encode a stream as ``jobs`` share it out (:func:`.pieces.plan_encoders`; one encoder
    per job, all at once, fed ``pcm(start, end)``: the PCM of samples ``[start, end)``, for
    each of its pieces) and join the frames into one MP3 at ``path`` (its LAME header set
    for the whole), cutting the ``chapters`` out of it at frames ``cuts``; the frames of
    each chapter. ``progress`` gets (samples fed so far, samples to feed)."""
    total = next(job[-1].end_sample for job in jobs if job[-1].end_frame is None)
    feeds: list[Callable[[], Iterable[bytes]]] = [
        functools.partial(_fed, pcm, job, total, fmt) for job in jobs
    ]
    work = sum(p.end_sample - p.start_sample for job in jobs for p in job)

    def report(samples: int) -> None:
        if progress is not None:
            progress(min(samples, work), work)

    files = encode_at_once(
        feeds,
        lambda i: LameWorker(path.with_name(f".{path.name}.{i}"), bitrate, fmt, path.name),
        fmt.frame_bytes,
        report,
    )
    try:
        silence = silent_side(fmt, kbps(bitrate))
        tracks = TrackWriter(path, info_frame(kbps(bitrate), fmt), chapters, cuts)
        try:
            packer = Repacker(tracks.add, cuts, silence)
            frames = join_pieces(jobs, files, silence if has_gaps(jobs) else None, packer.add)
            packer.finish()
            padding = frames * SAMPLES_PER_FRAME - DELAY_SAMPLES - total
            if not 0 <= padding < 1 << 12:
                raise ExportError(f"the MP3 encoder wrote {frames} frames for {total} samples")
            tracks.finish((DELAY_SAMPLES << 12 | padding).to_bytes(3, "big"))
        except BaseException:
            tracks.abandon()
            raise
        return tracks.chapter_frames or [frames]
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
    timeline: Timeline,
    phrases: PhraseSource,
    cues: CueSource | None,
    progress: Progress | None,
    fmt: AudioFormat,
    bed: BedMix | None = None,
) -> Iterator[bytes]:
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
