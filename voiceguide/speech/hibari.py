"""hibari: the default voice, Kokoro's ``heart`` distilled to a 7.9 MB model (hibari-tts,
Apache-2.0), run with onnxruntime in one worker process that speaks a phrase per core in
threads (its model and lexicons are loaded once, not once per core).

Only the voices inside the wheel are used (``hibari:heart``): hibari fetches its other voices
from the network on first use, so they are refused here, and the engine is always given the
bundled model's path (the library's own voice lookup, which can download, is never called).
Each worker loads the model and the text-to-phoneme front end once; every phrase is seeded
from its key (voice, pace, text), so it is the same samples in any worker, after any other
phrase. hibari and onnxruntime are imported only in this module, inside functions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import sys
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from voiceguide.errors import DependencyMissing, SettingsError, SynthesisError
from voiceguide.routine.text import did_you_mean, speakable
from voiceguide.speech.base import log_interpolate, short
from voiceguide.speech.workers import WorkerEngine, WorkerSynthesizer

__all__ = [
    "PREFIX",
    "HibariSynthesizer",
    "HibariVoice",
    "bundled_voices",
    "is_hibari_voice",
    "speed_for",
]

PREFIX = "hibari:"
INSTALL_HINT = "pip install 'hibari-tts>=0.2.1' (in a clone: ./dev.sh setup)"
SEED_VERSION = 1  # bumped when the seeding or the processing of the samples changes

# hibari's speed -> the words a minute a listener counts at it (the words of the bundled
# scripts divided by the seconds from each phrase's first sound to its last), measured with
# heart on the 88 phrases (1,061 words) of the default routine. Not proportional: the model
# rounds each phoneme to whole frames, and its pauses shrink faster than its words.
_WPM_AT_SPEED = (
    (0.45, 96.5),
    (0.55, 108.0),
    (0.6, 124.6),
    (0.65, 128.8),
    (0.7, 144.7),
    (0.75, 149.4),
    (0.8, 165.7),
    (0.85, 185.5),
    (0.9, 197.1),
    (1.0, 206.4),
    (1.1, 213.8),
    (1.2, 226.6),
    (1.3, 239.8),
    (1.5, 331.0),
    (1.7, 346.2),
    (2.0, 375.6),
    (2.5, 414.7),
)


def speed_for(rate_wpm: int) -> float:
    """hibari's speed at which ``rate_wpm`` words a minute reach the listener."""
    return log_interpolate(_WPM_AT_SPEED, rate_wpm)


@dataclass(frozen=True)
class HibariVoice:
    """A voice inside the hibari wheel."""

    id: str  # hibari:NAME
    name: str
    language: str  # en-us
    accent: str
    gender: str
    model: Path
    size_bytes: int
    sha256: str


def is_hibari_voice(voice: str) -> bool:
    return voice.startswith(PREFIX)


@functools.cache
def bundled_voices() -> dict[str, HibariVoice] | None:
    """The voices inside the installed hibari wheel, by id; None when it is not installed.
    Read from its voice table without importing it (the import takes half a second)."""
    try:
        spec = importlib.util.find_spec("hibari")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
    try:
        table = json.loads((assets / "voices.json").read_text("utf-8"))
        found = {}
        for name, entry in table.items():
            model = assets / str(entry["file"])
            if entry.get("bundled") and model.is_file():
                found[PREFIX + name] = HibariVoice(
                    id=PREFIX + name,
                    name=name,
                    language=str(entry["language"]).lower(),
                    accent=str(entry["accent"]),
                    gender=str(entry["gender"]),
                    model=model,
                    size_bytes=int(entry["bytes"]),
                    sha256=str(entry["sha256"]),
                )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return found


def resolve_voice(voice: str) -> HibariVoice:
    """A bundled voice, or one line saying why not: a voice hibari would download is refused."""
    installed = bundled_voices()
    if installed is None:
        raise DependencyMissing(f"--voice {voice}: hibari is not installed; {INSTALL_HINT}")
    if voice not in installed:
        known = sorted(installed)
        raise SettingsError(
            f"--voice {voice!r}: not a voice inside hibari's package{did_you_mean(voice, known)}"
            f" (voiceguide downloads nothing; the bundled one: {', '.join(known)})"
        )
    return installed[voice]


class HibariSynthesizer(WorkerSynthesizer):
    """A bundled hibari voice in worker processes, each with the model loaded once."""

    engine_name: ClassVar[str] = "hibari"
    cost_s_per_word: ClassVar[float] = 0.005  # synthesis time per word on one core, measured
    cost_s_per_phrase: ClassVar[float] = 0.03  # finishing a phrase (loudness, rate), measured
    worker_start_s: ClassVar[float] = 1.5  # importing and loading model and lexicons, measured
    start_allowance_s: ClassVar[float] = 30.0  # the first phrase waits for that, on a busy machine
    # the lexicon's respellings are for espeak-ng's rules: hibari's dictionary and its learned
    # fallback say the routines' words right (heard by the listening test), their respellings
    # wrong ("pirri-formiss" was heard as "periformis", "peary formus")
    takes_respellings: ClassVar[bool] = False
    # the lexicons and the model are most of a worker's memory; onnxruntime and numpy leave
    # the GIL while they compute, and each phrase is seeded alike in any thread
    one_process: ClassVar[bool] = True

    def resolve(self) -> None:
        self.files = resolve_voice(self.voice)
        self.speed = speed_for(self.rate_wpm)
        try:
            version = importlib.metadata.version("hibari-tts")
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        # the package's version: its text-to-phoneme rules change the speech too
        self._identity = (
            f"hibari|{self.files.sha256[:32]}|{version}|{self.speed:.4f}|seed{SEED_VERSION}"
        )

    def worker_engine(self) -> WorkerEngine:
        args = (self.files.name, str(self.files.model), self.speed, self._identity)
        return _worker_setup, args, _worker_synthesize

    @property
    def identity(self) -> str:
        return self._identity


# ---- inside a worker process

_worker_args: tuple[str, str, float, str] = ("", "", 1.0, "")
_worker_engine: Any = None  # hibari.Hibari, loaded once
_worker_lock = threading.Lock()


def _engine(name: str, model: str) -> Any:
    global _worker_engine
    with _worker_lock:
        if _worker_engine is None or _worker_engine.model_path != model:
            _give_back_freed_arrays()
            try:
                from hibari import Hibari  # type: ignore[import-untyped]
            except ImportError as error:
                raise DependencyMissing(
                    f"hibari is not installed ({error}); {INSTALL_HINT}"
                ) from None
            try:
                engine = Hibari(
                    voice=name, model=model, threads=1
                )  # one thread: the same sums every time
                engine.sess = _session_without_arena(model)
                engine.g2p("Ready.")  # loads the lexicons now
            except Exception as error:
                raise SynthesisError(f"hibari could not load {model}: {error}") from None
            _worker_engine = engine
        return _worker_engine


def _session_without_arena(model: str) -> Any:
    """hibari's session (one thread), but with onnxruntime's memory arena off: the arena
    keeps the largest phrase's buffers for every thread that ran one (phrases are spoken in
    threads side by side), and a cold export's memory is counted at its peak."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_MMAP_THRESHOLD_BYTES = 4 << 20


def _give_back_freed_arrays() -> None:
    """Have glibc map every allocation of 4 MiB or more on its own, so that a phrase's arrays
    go back to the system when freed. By default the threshold rises to 32 MiB as blocks are
    freed, and the arrays of the phrases spoken and finished side by side in this process's
    threads would stay in its heap."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):  # not glibc: left as it is
        name = ctypes.util.find_library("c")
        if name and sys.platform.startswith("linux"):
            ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


def _worker_setup(name: str = "", model: str = "", speed: float = 1.0, identity: str = "") -> None:
    global _worker_args
    _worker_args = (name, model, speed, identity)


def _worker_synthesize(text: str, wav_path: str) -> None:
    spoken = speakable(text)
    if not spoken:
        raise SynthesisError(f"nothing to speak in the phrase {short(text)}")
    name, model, speed, identity = _worker_args
    engine = _engine(name, model)
    digest = hashlib.sha256(f"{identity}\0{text}".encode()).digest()
    seed = int.from_bytes(digest[:16], "big")
    try:
        audio = engine(spoken, speed=speed, seed=seed)
    except Exception as error:
        raise SynthesisError(f"hibari failed on the phrase {short(text)}: {error}") from None
    pcm = _trimmed_pcm(audio, int(engine.sample_rate))
    if not pcm:
        raise SynthesisError(f"hibari produced no audio for the phrase {short(text)}")
    with wave.open(wav_path, "wb") as w:
        w.setframerate(int(engine.sample_rate))
        w.setnchannels(1)
        w.setsampwidth(2)
        w.writeframes(pcm)


def _trimmed_pcm(audio: Any, sample_rate: int) -> bytes:
    """16-bit PCM of the phrase at full range, from 10 ms before its first sound to 100 ms
    after its last: the model leaves 0.2-0.7 s of quiet at each end (the lyrics and the plan
    take a phrase to start with its sound, as espeak-ng's do)."""
    import numpy as np

    samples = np.asarray(audio, dtype=np.float64)
    frame = sample_rate // 200  # 5 ms
    count = len(samples) // frame
    if count == 0:
        return b""
    level = np.sqrt((samples[: count * frame].reshape(count, frame) ** 2).mean(axis=1))
    loud = np.nonzero(level > 0.01)[0]  # -40 dBFS
    if not loud.size:
        return b""
    start = max(0, int(loud[0]) * frame - sample_rate // 100)
    end = min(len(samples), (int(loud[-1]) + 1) * frame + sample_rate // 10)
    samples = samples[start:end]
    peak = float(np.max(np.abs(samples)))
    samples = samples / peak if peak > 1e-8 else samples  # one gain: loudness comes later
    return bytes(np.clip(np.round(samples * 32767.0), -32767, 32767).astype("<i2").tobytes())
