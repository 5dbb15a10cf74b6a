"""Every cache entry (phrases and cue sounds) is checked against the checksum of its key and
its audio: damage of any kind, another entry copied over it, or a folder, FIFO or device in
its place is noticed and the entry made again, and an export is the same as from a good
cache. The damage is done for real, on the files."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FakeSynthesizer
from tests.helpers.routines import write_one_hold_routine
from voiceguide import pipeline
from voiceguide.plan.cues import Cue
from voiceguide.sound import tones
from voiceguide.sound.audio import FORMAT
from voiceguide.sound.tones import CueCache
from voiceguide.speech.cache import PhraseCache


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def zero_2000_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - 1000 : middle + 1000] = bytes(2000)
    path.write_bytes(bytes(data))


def cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def a_folder(path: Path) -> None:
    path.unlink()
    (path / "inside").mkdir(parents=True)
    (path / "inside" / "file").write_bytes(b"x")


def a_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def a_link_to_dev_zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "one flipped byte": flip_a_byte,
    "2,000 zeroed bytes": zero_2000_bytes,
    "cut in half": cut_in_half,
    "a folder": a_folder,
    "a FIFO": a_fifo,
    "a link to /dev/zero": a_link_to_dev_zero,
}


class CountingCues:
    """How many cue sounds are made (not read from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[Cue] = []
        real = tones.cue_audio

        def counted(cue: Cue, fmt: object) -> object:
            self.made.append(cue)
            return real(cue, fmt)  # type: ignore[arg-type]

        monkeypatch.setattr(tones, "cue_audio", counted)


def cue_entries(folder: Path) -> dict[Cue, Path]:
    """Each cue's entry file, found by making the cues one at a time."""
    found: dict[Cue, Path] = {}
    for cue in Cue:
        before = set((folder / "cues").glob("*.pcm")) if (folder / "cues").exists() else set()
        CueCache(folder, FORMAT)(cue)
        (entry,) = set((folder / "cues").glob("*.pcm")) - before
        found[cue] = entry
    return found


def with_timeout(call: Callable[[], bytes], seconds: float = 10) -> bytes:
    """A read that hangs (a FIFO waited on) fails the test instead of hanging it."""
    result: list[bytes] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"still reading after {seconds} s"
    return result[0]


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_cue_entry_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    entries = cue_entries(tmp_path)
    good = {cue: CueCache(tmp_path, FORMAT)(cue) for cue in Cue}
    DAMAGE[damage](entries[Cue.START])
    counting = CountingCues(monkeypatch)
    again = with_timeout(lambda: CueCache(tmp_path, FORMAT)(Cue.START))
    assert again == good[Cue.START]
    assert counting.made == [Cue.START]
    assert entries[Cue.START].is_file()  # written again, whole: the next read uses it
    assert CueCache(tmp_path, FORMAT)(Cue.START) == good[Cue.START]
    assert counting.made == [Cue.START]


def test_a_cue_entry_copied_over_another_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = cue_entries(tmp_path)
    good = CueCache(tmp_path, FORMAT)(Cue.END)
    # START and END last exactly as long: the copy has the right length and a valid
    # checksum of its own audio, but it is START's sound
    assert entries[Cue.START].stat().st_size == entries[Cue.END].stat().st_size
    shutil.copyfile(entries[Cue.START], entries[Cue.END])
    counting = CountingCues(monkeypatch)
    assert CueCache(tmp_path, FORMAT)(Cue.END) == good
    assert counting.made == [Cue.END]


def test_a_file_where_the_cue_folder_goes_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = CueCache(tmp_path, FORMAT)(Cue.TICK)
    shutil.rmtree(tmp_path / "cues")
    (tmp_path / "cues").write_bytes(b"not a folder")
    assert CueCache(tmp_path, FORMAT)(Cue.TICK) == good
    counting = CountingCues(monkeypatch)
    assert CueCache(tmp_path, FORMAT)(Cue.TICK) == good
    assert counting.made == []  # the folder and the entry were made again


PHRASES = ["Lie on your back.", "Breathe out slowly.", "Release your left leg."]


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_phrase_entry_is_synthesized_again(tmp_path: Path, damage: str) -> None:
    first = PhraseCache(FakeSynthesizer(), tmp_path)
    first.ensure(PHRASES)
    good = {text: first.pcm(text) for text in PHRASES}
    DAMAGE[damage](first.path_for(PHRASES[1]))
    again = PhraseCache(FakeSynthesizer(), tmp_path)
    with_timeout(lambda: again.ensure(PHRASES) or b"")
    assert again.synthesized == 1
    assert all(again.pcm(text) == good[text] for text in PHRASES)
    third = PhraseCache(FakeSynthesizer(), tmp_path)
    third.ensure(PHRASES)
    assert third.synthesized == 0  # the entry was written again, whole


def test_a_phrase_entry_copied_over_another_is_synthesized_again(tmp_path: Path) -> None:
    # two phrases of the same length: the copy is a whole, valid WAV of the right length
    a, b = "Lift your left knee.", "Turn your head left."
    assert len(a) == len(b)
    first = PhraseCache(FakeSynthesizer(), tmp_path)
    first.ensure([a, b])
    good_b = first.pcm(b)
    assert good_b != first.pcm(a)
    shutil.copyfile(first.path_for(a), first.path_for(b))
    again = PhraseCache(FakeSynthesizer(), tmp_path)
    again.ensure([a, b])
    assert again.synthesized == 1 and again.pcm(b) == good_b


def test_a_phrase_entry_of_another_voice_is_not_taken(tmp_path: Path) -> None:
    class OtherVoice(FakeSynthesizer):
        identity = "fake|other-voice"

    text = "Sit down."
    mine = PhraseCache(FakeSynthesizer(), tmp_path)
    other = PhraseCache(OtherVoice(), tmp_path)
    mine.ensure([text])
    other.ensure([text])
    shutil.copyfile(other.path_for(text), mine.path_for(text))  # same text, other voice
    again = PhraseCache(FakeSynthesizer(), tmp_path)
    again.ensure([text])
    assert again.synthesized == 1


def decoded(path: Path) -> bytes:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.mark.ffmpeg
def test_an_export_from_damaged_cue_entries_is_the_same_as_from_good_ones(tmp_path: Path) -> None:
    """Same-length damage to every cue entry used to land in every exported track."""
    routine = pipeline.load(
        str(
            write_one_hold_routine(
                tmp_path / "routine", title="Tiny cache routine", hold_s=12, rest_s=None
            )
        )
    )
    cache = PhraseCache(FakeSynthesizer(), tmp_path / "cache")
    _, good = pipeline.export(routine, pipeline.parse_settings([]), cache, tmp_path / "good")
    entries = sorted((tmp_path / "cache" / "cues").glob("*.pcm"))
    assert len(entries) >= 4  # start, halfway, ticks, end, switch, finish
    for index, entry in enumerate(entries):
        (flip_a_byte if index % 2 else zero_2000_bytes)(entry)
    cache = PhraseCache(FakeSynthesizer(), tmp_path / "cache")
    _, again = pipeline.export(routine, pipeline.parse_settings([]), cache, tmp_path / "again")
    assert decoded(again.full.path) == decoded(good.full.path)


def test_planning_with_entries_absent_and_damaged_speaks_both_and_plans_right(
    tmp_path: Path,
) -> None:
    """Planning (lengths only) speaks the absent phrases while it reads the others; a
    damaged one found by the reading is spoken after them, and every length is right."""
    texts = [*PHRASES, "Hold it there."]
    first = PhraseCache(FakeSynthesizer(), tmp_path)
    first.ensure(texts)
    good = {text: first.pcm(text) for text in texts}
    first.path_for(texts[0]).unlink()
    flip_a_byte(first.path_for(texts[2]))
    again = PhraseCache(FakeSynthesizer(), tmp_path)
    with_timeout(lambda: again.ensure(texts, lengths_only=True) or b"")
    assert [again.measure(t) for t in texts] == [first.measure(t) for t in texts]
    assert all(again.pcm(text) == good[text] for text in texts)
    again.close()
    synthesizer = again.synthesizer
    assert isinstance(synthesizer, FakeSynthesizer)
    assert sorted(synthesizer.calls) == sorted([texts[0], texts[2]])
    assert again.synthesized == 2


def test_a_phrase_is_read_again_when_spoken_and_a_change_since_planning_is_caught(
    tmp_path: Path,
) -> None:
    """Planning checks every entry and holds no audio; rendering reads the entry again. An
    entry damaged after planning (another version of the file) is checked again, found
    damaged and spoken again: the audio is still right."""
    first = PhraseCache(FakeSynthesizer(), tmp_path)
    first.ensure(PHRASES)
    good = {text: first.pcm(text) for text in PHRASES}
    cache = PhraseCache(FakeSynthesizer(), tmp_path)
    cache.ensure(PHRASES)
    assert cache.store.held == {} and cache.synthesized == 0  # nothing held
    assert [cache.measure(t) for t in PHRASES] == [first.measure(t) for t in PHRASES]
    flip_a_byte(cache.path_for(PHRASES[1]))  # after planning
    assert all(cache.pcm(text) == good[text] for text in PHRASES)
    assert cache.synthesized == 1


def test_a_phrase_whose_entry_cannot_be_written_is_held(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.write_text("a file where the cache folder goes", "utf-8")  # (root may write anywhere)
    cache = PhraseCache(FakeSynthesizer(), folder)
    cache.ensure(PHRASES)
    assert set(cache.store.held) == set(PHRASES)  # held: there is no entry to read
    good = PhraseCache(FakeSynthesizer(), tmp_path / "other")
    good.ensure(PHRASES)
    assert all(cache.pcm(text) == good.pcm(text) for text in PHRASES)
