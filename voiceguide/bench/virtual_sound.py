"""A virtual sound device for the tests and the benchmark: a private PulseAudio daemon
with a null sink, and a recorder of what is played on it. (A development tool: voiceguide
itself plays on whatever device ALSA gives it.)

The daemon runs from a folder of the test session (its socket, runtime and state folders,
its configuration: a native-protocol socket and a null sink, the default sink), as the user
running the tests (root too: PulseAudio only warns). ALSA, which simpleaudio plays through,
is routed to it by an ALSA configuration of our own (``ALSA_CONFIG_PATH``: the system's
configuration, then ``pcm.!default { type pulse }``, the pulse plugin of
libasound2-plugins), so nothing outside that folder is touched.

What is played is recorded from the sink's monitor with ``parec``. Known behaviour of the
null sink: it renders in 2 s blocks unless a low-latency reader is attached, so one runs from
the start (``parec --latency-msec=20 > /dev/null``) and playback waits until it has run for
2.5 s; a recording starts well before playback.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO

import numpy as np

__all__ = ["RATE", "SinkRecorder", "SoundDevice", "missing"]

RATE = 44_100
SINK = "voiceguide_virtual"
_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
_READER_HEAD_START_S = 2.5
_RECORD_LEAD_S = 0.5


def missing() -> str | None:
    """What is missing for the virtual sound device, with the install hint; None if nothing."""
    programs = [p for p in ("pulseaudio", "pactl", "parec") if shutil.which(p) is None]
    if programs:
        return f"{', '.join(programs)} not found: apt-get install pulseaudio pulseaudio-utils"
    if not glob.glob("/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so") and not glob.glob(
        "/usr/lib/alsa-lib/libasound_module_pcm_pulse.so"
    ):
        return "ALSA's pulse plugin not found: apt-get install libasound2-plugins"
    if not _ALSA_CONF.exists():
        return f"{_ALSA_CONF} not found: apt-get install libasound2-data"
    try:
        import simpleaudio  # noqa: F401
    except ImportError as error:
        return f"simpleaudio cannot be imported ({error}): ./dev.sh setup"
    return None


class SoundDevice:
    """A running PulseAudio null sink, ALSA's default device for processes given ``env``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "runtime" / "native"
        self.env = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_CLIENTCONFIG": str(folder / "client.conf"),
            "ALSA_CONFIG_PATH": str(folder / "asound.conf"),
        }
        self._daemon: subprocess.Popen[bytes] | None = None
        self._reader: subprocess.Popen[bytes] | None = None
        self._ready_at = 0.0
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        f = self.folder
        for sub in ("runtime", "state", "home", "config"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        (f / "default.pa").write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
            f"load-module module-null-sink sink_name={SINK} rate={RATE} channels=1 "
            f"format=s16le sink_properties=device.description={SINK}\n"
            f"set-default-sink {SINK}\n",
            encoding="utf-8",
        )
        (f / "client.conf").write_text("autospawn = no\n", encoding="utf-8")
        (f / "asound.conf").write_text(
            f"<{_ALSA_CONF}>\npcm.!default {{ type pulse }}\nctl.!default {{ type pulse }}\n",
            encoding="utf-8",
        )
        daemon_env = {
            **os.environ,
            "HOME": str(f / "home"),
            "XDG_RUNTIME_DIR": str(f / "runtime"),
            "XDG_CONFIG_HOME": str(f / "config"),
            "PULSE_RUNTIME_PATH": str(f / "runtime"),
            "PULSE_STATE_PATH": str(f / "state"),
        }
        self._log = (f / "pulseaudio.log").open("wb")
        self._daemon = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "--system=false",
                "-n",
                "-F",
                str(f / "default.pa"),
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "--log-target=stderr",
            ],
            env=daemon_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + 15
        while True:
            if self._daemon.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: see {f / 'pulseaudio.log'}")
            info = subprocess.run(
                ["pactl", "info"], env=self.process_env(), capture_output=True, text=True
            )
            if info.returncode == 0 and f"Default Sink: {SINK}" in info.stdout:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"pulseaudio did not start: {info.stderr.strip()}")
            time.sleep(0.1)
        self._reader = subprocess.Popen(
            ["parec", "-d", f"{SINK}.monitor", "--latency-msec=20", "--raw"],
            env=self.process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ready_at = time.monotonic() + _READER_HEAD_START_S

    def process_env(self) -> dict[str, str]:
        """The environment of a process that plays on this device."""
        return {**os.environ, **self.env}

    def wait_ready(self) -> None:
        """Until the low-latency reader has run long enough for the sink to work in small
        blocks."""
        time.sleep(max(0.0, self._ready_at - time.monotonic()))

    def record(self) -> SinkRecorder:
        self.wait_ready()
        return SinkRecorder(self.process_env())

    def close(self) -> None:
        for process in (self._reader, self._daemon):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._log is not None:
            self._log.close()


class SinkRecorder:
    """Records the sink's monitor (mono, 16-bit, 44.1 kHz) from entering the ``with`` block
    until leaving it, noting when each piece arrived (to tell when a sound was played)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None
        self._pieces: list[tuple[float, int, bytes]] = []  # (arrival, frames so far, data)
        self._frames = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SinkRecorder:
        self._process = subprocess.Popen(
            [
                "parec",
                "-d",
                f"{SINK}.monitor",
                f"--rate={RATE}",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=20",
                "--raw",
            ],
            env=self._env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while self._frames == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(_RECORD_LEAD_S)  # recording runs well before anything plays
        return self

    def __exit__(self, *_exc: object) -> None:  # an error goes on up after the clean-up
        time.sleep(0.3)  # the last frames played reach the monitor
        if self._process is not None:
            self._process.terminate()
            self._process.wait()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        odd = b""
        while True:
            data = stdout.read1(65536)  # type: ignore[attr-defined]
            if not data:
                return
            data, odd = odd + data, b""
            if len(data) % 2:
                data, odd = data[:-1], data[-1:]
            with self._lock:
                self._frames += len(data) // 2
                self._pieces.append((time.monotonic(), self._frames, data))

    def samples(self) -> np.ndarray:
        """Everything recorded so far (int32, for arithmetic without overflow)."""
        with self._lock:
            data = b"".join(piece for _, _, piece in self._pieces)
        return np.frombuffer(data, dtype="<i2").astype(np.int32)

    def time_at(self, frame: int) -> float:
        """When (time.monotonic) ``frame`` was played: its piece's arrival, less what came
        after it in the piece (an upper bound, late by the monitor's ~20 ms at most)."""
        with self._lock:
            pieces = list(self._pieces)
        return min(at - (total - frame) / RATE for at, total, _ in pieces if total >= frame)

    def wait_for_sound(self, since: int = 0, timeout_s: float = 30.0) -> int:
        """The first frame from ``since`` on that is not silent, once it was recorded."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            loud = np.nonzero(self.samples()[since:])[0]
            if len(loud):
                return since + int(loud[0])
            time.sleep(0.02)
        raise AssertionError(f"no sound within {timeout_s} s")
