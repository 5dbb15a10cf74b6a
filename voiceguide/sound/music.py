"""The listener's own music as a bed (``--bed FILE``): decoded once, read by position.

WAV, FLAC, Ogg Vorbis and MP3 are decoded in-process (miniaudio's decoders, in its wheel),
other formats by ffmpeg when it is installed, into the cache folder, keyed by the file's
content; the file itself is only ever read. The decoded sound is trimmed of its silent ends,
measured (BS.1770 loudness, :class:`~voiceguide.sound.loudness.LoudnessMeter`, a piece at a
time) and brought to the speech loudness, and looped with a crossfade when the routine is
longer. A file that cannot be a bed (missing, empty, not sound, no audio stream, silent, too
short to loop, longer than an hour) is a :class:`~voiceguide.errors.SettingsError` naming
it, before anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import DependencyMissing, SettingsError
from voiceguide.files import atomic_write, pid_alive
from voiceguide.sound.audio import FORMAT, AudioFormat
from voiceguide.sound.loudness import TARGET_LUFS, LoudnessMeter

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.float64]

__all__ = ["CROSSFADE_MS", "FORMATS", "MAX_MUSIC_S", "MIN_MUSIC_S", "Music", "decode"]

MIN_MUSIC_S = 5.0  # shorter music (its silent ends trimmed) is too short to loop
MAX_MUSIC_S = 3_600.0
CROSSFADE_MS = 3_000  # at each loop (at most a quarter of the music)
_SILENT_LUFS = -60.0  # music quieter than this is taken for silence
_TRIM_LEVEL = 0.002  # the silent ends of the music: samples under -54 dBFS
_KEEP = 3  # decoded files kept in the cache (the most recently used)
_VERSION = 2  # of the decoding and analysis: bumped when they change
_READ_FRAMES = 1 << 18


@dataclass(frozen=True)
class _Decoded:
    """What is kept beside the decoded PCM of a music file."""

    first: int  # the first frame after the silent start
    frames: int  # frames from ``first`` to the end of the sound
    gain: float  # brings it to TARGET_LUFS
    peak: float  # the largest sample after ``gain``


class Music:
    """The listener's music file as a bed, looped: frame n of the bed is frame n % loop of the
    music, and in the first ``crossfade`` frames of every loop but the first the music's end
    fades out under its start."""

    def __init__(self, path: Path, cache_dir: Path, fmt: AudioFormat = FORMAT) -> None:
        import numpy as np

        self.name = path.name
        self._fmt = fmt
        # held open while the bed plays: another run's sweep of the cache folder may remove
        # the decoded file (it keeps the newest few), and an open file stays readable
        for _attempt in range(3):
            self._pcm, info = _decoded(path, cache_dir, fmt)
            try:
                self._fd = os.open(self._pcm, os.O_RDONLY | os.O_CLOEXEC)
                break
            except FileNotFoundError:  # swept between its check and here: decoded again
                continue
        else:
            raise SettingsError(
                f"--bed {path}: its decoded copy keeps disappearing from {cache_dir}"
            )
        weakref.finalize(self, os.close, self._fd)
        self._first, self._frames, self._gain = info.first, info.frames, info.gain
        self.peak = info.peak
        self.crossfade = min(fmt.frames(CROSSFADE_MS), self._frames // 4)
        self.loop = self._frames - self.crossfade  # frames from one start of it to the next
        # the two gains always sum to one, so the crossfade never steps further from one
        # sample to the next than the music itself does (an equal-power one can, by up to
        # 41 %, where the two ends are alike; its level dip in unlike ones is 3 dB at most)
        x = (np.arange(self.crossfade) + 0.5) / self.crossfade
        self._fade_in = 0.5 - 0.5 * np.cos(np.pi * x)
        self._fade_out = 1.0 - self._fade_in

    def samples(self, start: int, count: int) -> Samples:
        import numpy as np

        out: Samples = np.empty(count)
        done = 0
        while done < count:
            k, r = divmod(start + done, self.loop)
            size = min(count - done, self.loop - r)
            piece = self.read(r, size)
            if k >= 1 and r < self.crossfade:
                n = min(size, self.crossfade - r)
                tail = self.read(self.loop + r, n)
                piece[:n] = piece[:n] * self._fade_in[r : r + n] + tail * self._fade_out[r : r + n]
            out[done : done + size] = piece
            done += size
        return out

    def read(self, frame: int, count: int) -> Samples:
        """The music as decoded (its silent ends trimmed, at the bed loudness), not looped."""
        import numpy as np

        width = self._fmt.frame_bytes
        raw = os.pread(self._fd, count * width, (self._first + frame) * width)
        data = np.frombuffer(raw, dtype="<i2").astype(np.float64)
        if len(data) < count:  # only if the cache file was cut short under us
            data = np.concatenate([data, np.zeros(count - len(data))])
        result: Samples = data * (self._gain / 32768.0)
        return result


FORMATS = "WAV, FLAC, Ogg Vorbis and MP3"  # what miniaudio decodes: no ffmpeg needed


def _program(name: str, path: Path) -> str:
    found = shutil.which(name)
    if found is None:
        raise DependencyMissing(
            f"--bed {path}: voiceguide reads {FORMATS} music itself and this file is none of "
            f"them; other formats need {name}, which is not installed (sudo apt-get install "
            "ffmpeg), or convert the music to one of those"
        )
    return found


def _decoded(path: Path, cache_dir: Path, fmt: AudioFormat) -> tuple[Path, _Decoded]:
    """The decoded PCM of ``path`` in ``cache_dir`` and what was found in it (made once per
    file content)."""
    what = f"--bed {path}"
    try:
        if not path.is_file():
            raise SettingsError(f"{what}: {'not a file' if path.exists() else 'no such file'}")
        if path.stat().st_size == 0:
            raise SettingsError(f"{what}: the file is empty (0 bytes)")
        in_process, duration_s = _inspect(path, what)
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
    except OSError as error:
        raise SettingsError(f"{what}: cannot read it: {error.strerror or error}") from None
    if duration_s is not None and duration_s > MAX_MUSIC_S + 1:
        raise SettingsError(f"{what}: {_too_long(duration_s)}")
    key = f"{digest.hexdigest()[:32]}-v{_VERSION}-{fmt.sample_rate}"
    pcm, meta = cache_dir / f"{key}.pcm", cache_dir / f"{key}.json"
    with contextlib.suppress(OSError, ValueError, TypeError):
        info = _Decoded(**json.loads(meta.read_text(encoding="utf-8")))
        if pcm.stat().st_size >= (info.first + info.frames) * fmt.frame_bytes:
            os.utime(pcm)  # recently used: kept
            return pcm, info
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _sweep(cache_dir)
        staged = cache_dir / f".{os.getpid()}-{key}.tmp"
        try:
            if in_process:
                decode(path, staged, what, fmt)
            else:
                _decode_with_ffmpeg(path, staged, what, fmt)
            info = _analyse(staged, what, fmt)
            os.replace(staged, pcm)
        finally:
            staged.unlink(missing_ok=True)
        atomic_write(meta, json.dumps(asdict(info)).encode())
    except OSError as error:
        raise SettingsError(
            f"{what}: cannot decode it into {cache_dir}: {error.strerror or error}"
        ) from None
    return pcm, info


def _too_long(duration_s: float) -> str:
    return (
        f"the music is {duration_s / 3600:.1f} hours long; give a file of at most "
        f"{MAX_MUSIC_S / 3600:.0f} hour (it is looped when the routine is longer)"
    )


def _inspect(path: Path, what: str) -> tuple[bool, float | None]:
    """(whether miniaudio decodes it, its duration in seconds if known); a file it does not
    decode is probed with ffprobe, which must be there."""
    import miniaudio

    try:
        info = miniaudio.get_file_info(str(path))
    except miniaudio.MiniaudioError:
        return False, _probe(path, what)
    return True, info.duration if info.sample_rate > 0 else None


def decode(path: Path, target: Path, what: str, fmt: AudioFormat = FORMAT) -> None:
    """Decode a WAV, FLAC, Ogg Vorbis or MP3 file into ``target`` as ``fmt`` PCM (at most
    a little more than :data:`MAX_MUSIC_S`), in-process. Floats are rounded to 16 bits
    as ffmpeg rounds them (to the nearest, no dither), so where the two decoders give the
    same floats the PCM is the same."""
    import miniaudio
    import numpy as np

    if fmt.sample_width != 2:
        raise ValueError("decode() writes 16-bit PCM")
    limit = int((MAX_MUSIC_S + 2) * fmt.sample_rate)
    done = 0
    try:
        stream = miniaudio.stream_file(
            str(path),
            output_format=miniaudio.SampleFormat.FLOAT32,
            nchannels=fmt.channels,
            sample_rate=fmt.sample_rate,
            frames_to_read=1 << 16,
        )
        with target.open("wb") as out:
            for block in stream:
                data = np.frombuffer(block, dtype=np.float32)[: (limit - done) * fmt.channels]
                pcm = np.clip(np.rint(data.astype(np.float64) * 32768), -32768, 32767)
                out.write(pcm.astype("<i2").tobytes())
                done += len(data) // fmt.channels
                if done >= limit:
                    break
    except miniaudio.MiniaudioError as error:
        raise SettingsError(f"{what}: cannot decode it ({error})") from None


def _run(args: list[str], path: Path, what: str, cannot: str) -> str:
    """Run ffprobe or ffmpeg on the music file at ``path``: its output, or a SettingsError
    saying it ``cannot`` and ffmpeg's last line of why."""
    result = subprocess.run(
        args, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        why = lines[-1].removeprefix(f"{path.absolute()}: ").strip()
        raise SettingsError(f"{what}: {cannot} ({why})")
    return result.stdout


def _probe(path: Path, what: str) -> float | None:
    """The duration ffprobe gives (None if it says none); no audio stream is an error."""
    output = _run(
        [
            _program("ffprobe", path),
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "stream=codec_type,duration:format=duration",
            "-of",
            "json",
            str(path.absolute()),
        ],
        path,
        what,
        "not a sound file ffmpeg can read",
    )
    try:
        data = json.loads(output)
    except ValueError:
        data = {}
    if not data.get("streams"):
        raise SettingsError(f"{what}: the file has no audio in it")
    for raw in (data["streams"][0].get("duration"), data.get("format", {}).get("duration")):
        with contextlib.suppress(TypeError, ValueError):
            return float(raw)
    return None


def _decode_with_ffmpeg(path: Path, target: Path, what: str, fmt: AudioFormat) -> None:
    bits, source = 8 * fmt.sample_width, str(path.absolute())
    _run(
        [
            _program("ffmpeg", path),
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            source,
            "-map",
            "0:a:0",
            "-vn",
            "-sn",
            "-dn",
            "-t",
            str(MAX_MUSIC_S + 2),
            "-ac",
            str(fmt.channels),
            "-ar",
            str(fmt.sample_rate),
            "-c:a",
            f"pcm_s{bits}le",
            "-f",
            f"s{bits}le",
            str(target),
        ],
        path,
        what,
        "ffmpeg cannot decode it",
    )


def _analyse(pcm: Path, what: str, fmt: AudioFormat) -> _Decoded:
    """Find the silent ends and measure the loudness, reading the PCM a piece at a time."""
    import numpy as np

    total = pcm.stat().st_size // fmt.frame_bytes
    if total > (MAX_MUSIC_S + 1) * fmt.sample_rate:
        raise SettingsError(f"{what}: {_too_long(total / fmt.sample_rate)}")
    first = last = -1
    peak, offset = 0, 0
    threshold = _TRIM_LEVEL * 32768
    meter = LoudnessMeter(fmt.sample_rate)
    with pcm.open("rb") as f:
        while raw := f.read(_READ_FRAMES * fmt.frame_bytes):
            data = np.frombuffer(raw, dtype="<i2").astype(np.int32)
            meter.feed(data / 32768.0)
            loud = np.flatnonzero(np.abs(data) > threshold)
            if len(loud):
                first = offset + int(loud[0]) if first < 0 else first
                last = offset + int(loud[-1])
                peak = max(peak, int(np.abs(data).max()))
            offset += len(data)
    if first < 0:
        raise SettingsError(f"{what}: the music is silent")
    frames = last + 1 - first
    if frames < MIN_MUSIC_S * fmt.sample_rate:  # said first: too short to measure is not silent
        raise SettingsError(
            f"{what}: the music is too short: {frames / fmt.sample_rate:.1f} s without its "
            f"silent ends; give at least {MIN_MUSIC_S:g} s (it is looped)"
        )
    lufs = meter.lufs()
    if not lufs > _SILENT_LUFS:
        raise SettingsError(f"{what}: the music is silent")
    gain = 10 ** ((TARGET_LUFS - lufs) / 20)
    return _Decoded(first=first, frames=frames, gain=gain, peak=peak / 32768 * gain)


def _sweep(cache_dir: Path) -> None:
    """Remove decodings left by killed runs, and all but the last few decoded files."""
    for entry in cache_dir.glob(".*.tmp"):
        pid = entry.name[1:].split("-", 1)[0]
        if not (pid.isdigit() and pid_alive(int(pid))):
            entry.unlink(missing_ok=True)
    decoded = sorted(cache_dir.glob("*.pcm"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in decoded[_KEEP - 1 :]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
